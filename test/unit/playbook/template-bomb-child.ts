// Child process of template-sandbox.test.ts: render one template (argv) in a small heap, print
// the refusal and exit 0 — or exit 1 if it rendered.
import { join } from 'node:path';
import { RenderError, Scope, TemplateEngine } from '../../../agent/playbook/template.js';

const [dir, tpl, mode] = process.argv.slice(2) as [string, string, string | undefined];
const engine = new TemplateEngine([join(dir, 'templates'), dir]);
try {
  const out = new Scope(engine, {}).render(tpl);
  // "render": the template is expected to render (a bomb that is defused rather than refused).
  console.log(mode === 'render' ? `rendered: ${JSON.stringify(out)}` : 'rendered');
  process.exitCode = mode === 'render' ? 0 : 1;
} catch (e) {
  console.log(e instanceof RenderError ? e.describe() : `not a RenderError: ${String(e)}`);
  process.exitCode = e instanceof RenderError ? 0 : 1;
}
