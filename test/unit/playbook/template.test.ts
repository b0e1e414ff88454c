// The template engine: typed single expressions, lazy variables, Ansible's strict undefined,
// Ansible filters, and nunjucks errors turned into file:line:column.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OMIT, RenderError, Scope, TemplateEngine } from '../../../agent/playbook/template.js';
import { fixture } from './fake-registry.js';

const engine = new TemplateEngine([fixture('templates'), fixture('')]);

function scope(vars: Record<string, unknown>): Scope {
  return new Scope(engine, vars);
}

function render(text: string, vars: Record<string, unknown> = {}): unknown {
  return scope(vars).render(text);
}

function renderError(text: string, vars: Record<string, unknown> = {}): RenderError {
  try {
    render(text, vars);
  } catch (e) {
    assert.ok(e instanceof RenderError, `expected a RenderError, got ${String(e)}`);
    return e;
  }
  assert.fail(`${text} rendered without error`);
}

describe('template strings', () => {
  it('keeps the type of a single expression, and renders anything else to a string', () => {
    const vars = { n: 8, l: ['a', 'b'], d: { k: 1 }, b: false };
    assert.equal(render('{{ n }}', vars), 8);
    assert.deepEqual(render('{{ l }}', vars), ['a', 'b']);
    assert.deepEqual(render('{{ d }}', vars), { k: 1 });
    assert.equal(render('{{ b }}', vars), false);
    assert.equal(render('{{- n -}}', vars), 8);
    assert.equal(render('{{ n * 2 }}', vars), 16);
    assert.equal(render('{{ n }}/{{ n }}', vars), '8/8');
    assert.equal(render(' {{ n }}', vars), ' 8');
    assert.equal(render('plain', vars), 'plain');
  });

  it('templates variables lazily, with the variables of the scope', () => {
    const vars = { app: 'shop', root: '/srv/{{ app }}', dirs: ['{{ root }}/a', '{{ root }}/b'], conf: { path: '{{ root }}/conf' } };
    assert.equal(render('{{ root }}/current', vars), '/srv/shop/current');
    assert.deepEqual(render('{{ dirs }}', vars), ['/srv/shop/a', '/srv/shop/b']);
    assert.equal(render('{{ conf.path }}', vars), '/srv/shop/conf');
    assert.deepEqual(render('{{ conf }}', vars), { path: '/srv/shop/conf' });
    // A variable that is never used may refer to nothing.
    assert.equal(render('{{ app }}', { ...vars, unused: '{{ nowhere }}' }), 'shop');
  });

  it('reports a variable that refers to itself', () => {
    const err = renderError('{{ a }}', { a: '{{ b }}', b: '{{ a }}' });
    assert.equal(err.describe(), 'variable "a" refers to itself (in variable "a" → "b")');
  });

  it('treats any use of an undefined value as an error, naming it', () => {
    assert.equal(renderError('{{ x }}').describe(), 'undefined variable "x"');
    assert.equal(renderError('a{{ x }}b').describe(), 'undefined variable "x"');
    assert.equal(renderError('{% if x %}y{% endif %}').describe(), 'undefined variable "x"');
    assert.equal(renderError('{{ "a" ~ x }}').describe(), 'undefined variable "x"');
    assert.equal(renderError('{{ x | upper }}').describe(), 'undefined variable "x"');
    assert.equal(renderError('{{ d.missing }}', { d: {} }).describe(), 'undefined variable "d.missing"');
    assert.equal(renderError('{{ l[3] }}', { l: [1] }).describe(), 'undefined variable "l[3]"');
    assert.equal(renderError('{{ d.a.b }}', { d: { a: {} } }).describe(), 'undefined variable "d.a.b"');
    assert.equal(renderError('{{ x | mandatory }}').describe(), 'undefined variable "x"');
  });

  it('lets default and "is defined" look at undefined values', () => {
    assert.equal(render('{{ x | default("d") }}'), 'd');
    assert.equal(render('{{ x | d(3) }}'), 3);
    assert.equal(render('{{ d.k | default(1) }}', { d: {} }), 1);
    assert.equal(render('{{ "" | default("e", true) }}'), 'e');
    assert.equal(render('{% if x is defined %}y{% else %}n{% endif %}'), 'n');
    assert.equal(render('{% if x is undefined %}u{% endif %}'), 'u');
    assert.equal(render('{{ x if x is defined else "z" }}'), 'z');
    assert.equal(render('{{ x | default(omit) }}', { omit: OMIT }), OMIT);
  });

  it('has Ansible filters and Python dict methods', () => {
    const vars = { d: { b: 2, a: 1 }, s: 'web-01', l: [{ n: 'x' }, { n: 'y' }] };
    assert.equal(render('{{ "yes" | bool }}'), true);
    assert.equal(render('{{ "off" | bool }}'), false);
    assert.equal(render('{{ "12" | int + 1 }}'), 13);
    assert.equal(render('{{ d | to_json }}', vars), '{"b": 2, "a": 1}');
    assert.equal(render('{{ "lanes" | b64encode }}'), 'bGFuZXM=');
    assert.equal(render('{{ "bGFuZXM=" | b64decode }}'), 'lanes');
    assert.equal(render('{{ s | regex_replace("-(\\\\d+)$", "_\\\\1") }}', vars), 'web_01');
    assert.equal(render('{{ s | regex_search("\\\\d+") }}', vars), '01');
    assert.equal(render('{{ "/a/b.conf" | basename }}'), 'b.conf');
    assert.equal(render('{{ l | map(attribute="n") | join(",") }}', vars), 'x,y');
    assert.deepEqual(render('{{ d | combine({"c": 3}) }}', vars), { b: 2, a: 1, c: 3 });
    assert.deepEqual(render('{{ d | dict2items }}', vars), [
      { key: 'b', value: 2 },
      { key: 'a', value: 1 },
    ]);
    assert.equal(render('{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}', vars), 'b=2;a=1;');
    assert.equal(render('{{ d.get("z", "none") }}', vars), 'none');
    assert.equal(render('{{ True }}'), true);
  });

  it('has no quote filter: lanes quotes shell words itself', () => {
    assert.match(renderError('{{ "a b" | quote }}').describe(), /filter not found: quote/);
  });

  it('reports syntax errors', () => {
    assert.equal(renderError('{{ foo( }}').describe(), 'template error: unexpected token: }}');
  });
});

describe('template files', () => {
  it('renders with the scope, following includes', () => {
    const out = engine.renderFile('partials/upstream.j2', scope({ app_name: 'shop', fpm_children: 3 }));
    assert.equal(out, '    fastcgi_pass unix:/run/php/SHOP-3.sock;\n');
  });

  it('reports an undefined variable at its file, line and column', () => {
    let err: unknown;
    try {
      engine.renderFile('broken.j2', scope({ app_name: 'x' }));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RenderError);
    assert.deepEqual([err.describe(), err.file, err.line, err.column], ['undefined variable "not_defined_anywhere"', fixture('templates/broken.j2'), 3, 12]);
  });

  it('reports an undefined variable printed in an included template at the included file', () => {
    let err: unknown;
    try {
      engine.renderFile('with-include.j2', scope({}));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RenderError);
    assert.deepEqual([err.describe(), err.file, err.line, err.column], ['undefined variable "printed_missing"', fixture('templates/partials/printed.j2'), 2, 8]);
  });

  it('names an undefined variable used in a filter, at the filter', () => {
    let err: unknown;
    try {
      engine.renderFile('partials/upstream.j2', scope({ fpm_children: 1 }));
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RenderError);
    assert.deepEqual([err.describe(), err.variable, err.line, err.column], ['undefined variable "app_name"', 'app_name', 1, 46]);
  });
});
