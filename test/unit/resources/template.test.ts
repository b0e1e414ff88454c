// template: the file resource with content rendered from `src` by the playbook layer; same plan,
// labelled template[PATH] and naming the template in the summary.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileResource } from '../../../agent/resources/file.js';
import { templateResource, type TemplateSpec } from '../../../agent/resources/template.js';
import type { Change, FileState, PlanContext } from '../../../agent/resources/types.js';
import { actualState, fileState, files } from '../../support/actual.js';

const ctx: PlanContext = { host: 'web1', all: [] };
const parse = (value: unknown): TemplateSpec => templateResource.schema.parse(value);

function issues(value: unknown): { path: PropertyKey[]; message: string }[] {
  const result = templateResource.schema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

function plan(spec: unknown, ...states: FileState[]): Change[] {
  return JSON.parse(JSON.stringify(templateResource.plan(parse(spec), actualState(undefined, { files: files(...states) }), ctx))) as Change[];
}

const CONF = '/etc/nginx/nginx.conf';
const NGINX = { src: 'templates/nginx.conf.j2', path: CONF, content: 'worker_processes 4;\n', validate: 'nginx -t', reload: 'nginx' };

describe('template schema', () => {
  it('is the file schema plus src', () => {
    assert.deepEqual(parse(NGINX), { ...NGINX, state: 'present' });
    assert.equal(templateResource.type, 'template');
    assert.equal(templateResource.id(parse(NGINX)), CONF);
    assert.deepEqual(templateResource.probes(parse(NGINX)), [{ kind: 'file', path: CONF }]);
  });

  it('refuses a missing or multi-line src, file-level mistakes, and unknown keys', () => {
    const { src: _src, ...noSrc } = NGINX;
    assert.deepEqual(issues(noSrc), [{ path: ['src'], message: 'Invalid input: expected string, received undefined' }]);
    assert.deepEqual(issues({ ...NGINX, src: 'a.j2\nb.j2' }), [{ path: ['src'], message: 'src must be on one line (no newline or NUL characters)' }]);
    assert.deepEqual(issues({ ...NGINX, path: 'nginx.conf' }), [{ path: ['path'], message: 'must be an absolute path (starting with "/", without newlines)' }]);
    assert.deepEqual(issues({ ...NGINX, mode: '888' }), [{ path: ['mode'], message: 'must be an octal mode in quotes, e.g. "0644"' }]);
    assert.deepEqual(issues({ ...NGINX, content: undefined }), [{ path: ['content'], message: 'is required (unless state is absent)' }]);
    assert.deepEqual(issues({ ...NGINX, vars: {} }), [{ path: [], message: 'Unrecognized key: "vars"' }]);
  });
});

describe('template plan', () => {
  it('is converged when the rendered content is in place', () => {
    assert.deepEqual(plan(NGINX, fileState(CONF, 'worker_processes 4;\n')), []);
  });

  it('creates with the template named in the summary', () => {
    const [change] = plan(NGINX);
    assert.equal(change!.resource, `template[${CONF}]`);
    assert.equal(change!.action, 'create');
    assert.equal(change!.summary, `create ${CONF} (template templates/nginx.conf.j2)`);
    assert.deepEqual(change!.validators, [{ kind: 'command', command: 'nginx -t', path: CONF }]);
    assert.deepEqual(change!.handlers, [{ kind: 'unit', unit: 'nginx', action: 'reload' }]);
  });

  it('plans exactly what file plans, apart from the label and summary', () => {
    const have = fileState(CONF, 'worker_processes 2;\n', { mode: '0600' });
    const [tpl] = plan({ ...NGINX, owner: 'root' }, have);
    const { src: _src, ...asFile } = parse({ ...NGINX, owner: 'root' });
    const [file] = JSON.parse(JSON.stringify(fileResource.plan(asFile, actualState(undefined, { files: files(have) }), ctx))) as Change[];
    assert.equal(tpl!.summary, `update ${CONF} (template templates/nginx.conf.j2)`);
    assert.deepEqual({ ...tpl, resource: file!.resource, summary: file!.summary }, file);
    assert.deepEqual(tpl!.fields, [{ name: 'mode', before: '0600', after: '0644' }]);
  });

  it('removes a template declared absent', () => {
    const [change] = plan({ ...NGINX, content: undefined, state: 'absent' }, fileState(CONF, 'x\n'));
    assert.equal(change!.resource, `template[${CONF}]`);
    assert.equal(change!.summary, `remove ${CONF} (template templates/nginx.conf.j2)`);
    assert.deepEqual(change!.operations, [{ op: 'remove', path: CONF }]);
  });
});
