// The template sandbox: known ways out of nunjucks into JavaScript are refused (and have no
// effect), template files stay in their tree, and hostile templates are stopped by limits, fast and
// in bounded memory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RenderError, Scope, TemplateEngine } from '../../../agent/playbook/template.js';
import { fixture } from './fake-registry.js';

const engine = new TemplateEngine([fixture('templates'), fixture('')]);
const dir = mkdtempSync(join(tmpdir(), 'lanes-sandbox-'));
const marker = join(dir, 'pwned');
after(() => rmSync(dir, { recursive: true, force: true }));

/** JavaScript that would create the marker file, as a template string literal. */
const P = JSON.stringify(`return process.getBuiltinModule("fs").writeFileSync(${JSON.stringify(marker)}, "x")`);

const vars = { d: { a: 1 }, l: [{ n: 'x' }], s: 'text', evil: `{{ range.constructor(${P})() }}` };

function refusal(fn: () => unknown): RenderError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RenderError, `expected a RenderError, got ${e instanceof Error ? e.stack : String(e)}`);
    return e;
  }
  assert.fail('rendered without error');
}

describe('template sandbox: ways out to JavaScript', () => {
  const escapes: [string, RegExp][] = [
    [`{{ range.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ cycler.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ joiner.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ lipsum.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ "".constructor.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ [].map.constructor(${P})() }}`, /templates cannot access "map"/],
    [`{{ range(3).map.constructor(${P})() }}`, /templates cannot access "map"/],
    [`{{ {}["constructor"]["constructor"](${P})() }}`, /templates cannot access "constructor"/],
    [`{{ {}.x.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ constructor.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ toString.constructor(${P})() }}`, /templates cannot access "toString"/],
    [`{{ "a".toString.constructor(${P})() }}`, /templates cannot access "toString"/],
    [`{{ "a".replace.constructor(${P})() }}`, /templates cannot access "constructor" of a function|templates cannot access "constructor"/],
    [`{{ s.upper.call.constructor(${P})() }}`, /templates cannot access "call"/],
    [`{{ d.items.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ d["__proto__"]["constructor"]["constructor"](${P})() }}`, /templates cannot access "__proto__"/],
    [`{{ d.__defineGetter__("a", range) }}`, /templates cannot access "__defineGetter__"/],
    [`{% set f = range.constructor %}{{ f(${P})() }}`, /templates cannot access "constructor"/],
    [`{% macro m() %}{% endmacro %}{{ m.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{% macro m() %}{{ caller.constructor(${P})() }}{% endmacro %}{% call m() %}x{% endcall %}`, /templates cannot access "constructor"/],
    [`{% for i in [1] %}{{ loop.constructor.constructor(${P})() }}{% endfor %}`, /templates cannot access "constructor"/],
    [`{% set o = {"__proto__": range} %}{{ o.constructor(${P})() }}`, /templates cannot access "constructor"/],
    [`{{ (l | map(attribute="constructor") | first).constructor(${P})() }}`, /templates cannot access "constructor"|undefined/],
    [`{{ (l | sort(attribute="constructor") | first).constructor }}`, /templates cannot access "constructor"/],
    [`{{ "x" | constructor }}`, /filter not found: constructor/],
    [`{{ "x" is constructor }}`, /test not found: constructor/],
    [`{{ s.toUpperCase() }}`, /templates cannot access "toUpperCase"/],
    [`{{ range.call(null, 3) }}`, /templates cannot access "call"/],
    [`{{ ''.__class__.__mro__[1].__subclasses__() }}`, /templates cannot access "__class__"/],
    [`{{ evil }}`, /templates cannot access "constructor" \(in variable "evil"\)/],
    [`{{ d.items }}`, /a method or macro is not a value/],
    [`x{{ s.upper }}`, /a method or macro is not a value/],
  ];
  for (const [tpl, expected] of escapes) {
    it(`refuses ${tpl.replace(P, 'P')}`, () => {
      const err = refusal(() => new Scope(engine, vars).render(tpl));
      assert.match(err.describe(), expected);
      assert.equal(existsSync(marker), false, 'the payload ran');
    });
  }

  it('names the line and column of a refusal in a template file', () => {
    const err = refusal(() => engine.renderFile('hostile/import-escape.j2', new Scope(engine, {})));
    assert.equal(err.describe(), 'templates cannot access "constructor"');
    assert.deepEqual([err.file, err.line], [fixture('templates/hostile/import-escape.j2'), 1]);
    assert.equal(typeof err.column, 'number');
  });

  it('keeps what templates written for Ansible use', () => {
    const r = (t: string, v: Record<string, unknown> = vars): unknown => new Scope(engine, v).render(t);
    assert.equal(r('{{ s.upper() }}|{{ " a b ".strip() }}|{{ "a,b".split(",") | join("-") }}|{{ "aXbX".replace("X", "-") }}'), 'TEXT|a b|a-b|a-b-');
    assert.equal(r('{{ s.startswith("te") }} {{ s.endswith(("x", "t")) }} {{ "-".join(["a", "b"]) }} {{ s[0] }} {{ s | length }}'), 'True True a-b t 4');
    assert.deepEqual(r('{{ d.items() }}'), [['a', 1]]);
    assert.equal(r('{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %} {{ d.get("z", 0) }} {{ d["a"] }}'), 'a=1 0 1');
    assert.equal(r('{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{% for i in range(3) %}{{ loop.index }}{% endfor %}'), '<1>123');
    assert.equal(r('{{ l[0].n }} {{ l | map(attribute="n") | join }} {{ range(2, 8, 3) | join(",") }}'), 'x x 2,5');
    assert.equal(r('{% set x = "a" ~ 1 %}{{ x }}{{ 1 + 2 }}{{ "b" + "c" }}'), 'a13bc');
    // Keys of mappings are data, whatever their names.
    assert.equal(r('{{ m.call }} {{ m["constructor"] }} {{ m.toString }} {{ "call" in m }} {{ "valueOf" in m }}', { m: { call: 'c', constructor: 'k', toString: 't' } }), 'c k t True False');
    assert.equal(engine.renderFile('hostile/macros.j2', new Scope(engine, {})), '');
  });
});

describe('template sandbox: files stay in the tree', () => {
  const cases: [string, RegExp][] = [
    ['hostile/abs-include.j2', /^template "\/etc\/hostname" is outside the template directory .*templates/],
    ['hostile/dotdot-include.j2', /^template "\.\.\/\.\.\/.*etc\/hostname" is outside/],
    ['hostile/abs-import.j2', /^template "\/etc\/hostname" is outside/],
    ['hostile/dotdot-extends.j2', /^template "\.\.\/.*etc\/passwd" is outside/],
    ['hostile/via-link.j2', /^template "hostile\/link-out.j2" leads through a symbolic link out of/],
    ['../../../../../../../../../etc/passwd', /^template "\.\.\/.*etc\/passwd" is outside/],
    ['/etc/passwd', /^template "\/etc\/passwd" is outside/],
  ];
  for (const [name, expected] of cases) {
    it(`refuses ${name}`, () => {
      const err = refusal(() => engine.renderFile(name, new Scope(engine, {})));
      assert.match(err.describe(), expected);
      assert.doesNotMatch(err.describe(), /root:/);
    });
  }

  it('names the line of the include that leaves the tree', () => {
    const err = refusal(() => engine.renderFile('hostile/via-link.j2', new Scope(engine, {})));
    assert.deepEqual([err.file, err.line], [fixture('templates/hostile/via-link.j2'), 2]);
  });
});

describe('template sandbox: limits', () => {
  const bombs: [string, RegExp][] = [
    ['{{ range(10**9) | length }}', /range\(\) would make 1,000,000,000 numbers; the limit is 1,000,000/],
    ['{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}', /more than 1,000,000 loop iterations/],
    ['{% set s = "xxxxxxxx" %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}', /builds a string of/],
    ['{% set s = range(100000) | join %}{% for i in range(100) %}{{ s }}{% endfor %}', /writes more than 16,777,216 characters/],
    ['{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}', /macros call each other more than 100 deep/],
    ['{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}', /loop iterations and macro calls/],
    ['{% set l = range(1000000) %}{% set a = [l,l,l,l,l,l,l,l,l,l] %}{% set b = [a,a,a,a,a,a,a,a,a,a] %}{{ b }}', /characters/],
    ['{% set l = range(1000000) %}{% set a = [l,l,l,l,l,l,l,l,l,l] %}{{ [a,a,a,a,a,a,a,a,a,a] | to_json }}', /characters/],
    ['{% set l = range(1000000) %}{% set a = [l,l,l,l,l,l,l,l,l,l] %}{{ [a,a,a,a,a,a,a,a,a,a] ~ "" }}', /characters/],
    ['{% set l = range(1000000) %}{% set a = [l,l,l,l,l,l,l,l,l,l] %}{{ [a,a,a,a,a,a,a,a,a,a] }}', /characters/],
    ['{{ (range(1000000) | join) | replace("1", range(100000) | join) }}', /builds a string of/],
    ['{{ "x" | center(1000000000) }}', /builds a string of/],
    ['{{ [1] | batch(1000000000, "x") }}', /batch: 1000000000 is not a usable line count/],
    ['{% include "hostile/self.j2" %}', /includes (are nested more than 32 deep|more than 10,000 templates)/],
  ];
  const script = fileURLToPath(new URL('./template-bomb-child.js', import.meta.url));
  for (const [tpl, expected] of bombs) {
    it(`refuses ${tpl} in a process of 300 MB`, () => {
      const child = spawnSync(process.execPath, ['--max-old-space-size=300', script, fixture(''), tpl], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.status, 0, `child failed: ${child.stderr}${child.stdout}`);
      assert.match(child.stdout, expected);
    });
  }

  it('runs a catastrophically backtracking regular expression in linear time', () => {
    const tpl = `{{ ("${'a'.repeat(40)}!" | regex_search("(a+)+$")) is none }}|{{ "web-01" | regex_replace("-(\\\\d+)$", "_\\\\1") }}`;
    const child = spawnSync(process.execPath, [script, fixture(''), tpl, 'render'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.status, 0, `child failed or timed out: ${child.stderr}${child.stdout}`);
    assert.equal(child.stdout.trim(), 'rendered: "True|web_01"');
  });
});
