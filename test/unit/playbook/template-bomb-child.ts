// Child process of template-sandbox.test.ts: render one template (argv) in a small heap, print
// the refusal and exit 0 — or exit 1 if it rendered.
import { join } from 'node:path';
import { RenderError, Scope, TemplateEngine } from '../../../agent/playbook/template.js';

const [dir, tpl] = process.argv.slice(2) as [string, string];
const engine = new TemplateEngine([join(dir, 'templates'), dir]);
try {
  new Scope(engine, {}).render(tpl);
  console.log('rendered');
  process.exitCode = 1;
} catch (e) {
  console.log(e instanceof RenderError ? e.describe() : `not a RenderError: ${String(e)}`);
  process.exitCode = e instanceof RenderError ? 0 : 1;
}
