// Confinement of the files a playbook reads: inside the tree as written and as resolved, extra
// roots from LANES_TEMPLATE_ROOTS; -e @file inside the working directory's tree.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { Confinement, ROOTS_ENV } from '../../../agent/playbook/confine.js';
import { parseExtraVars } from '../../../agent/playbook/vars.js';
import { at, compileText, errorLines, fixture } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lanes-confine-'));
const root = join(tmp, 'pb');
const other = join(tmp, 'shared');
mkdirSync(join(root, 'templates'), { recursive: true });
mkdirSync(other);
writeFileSync(join(root, 'templates', 'a.j2'), 'a');
writeFileSync(join(root, 'vars.yml'), 'x: 1\n');
writeFileSync(join(other, 'b.j2'), 'b');
writeFileSync(join(other, 'vars.yml'), 'y: 2\n');
symlinkSync(join(other, 'b.j2'), join(root, 'templates', 'out.j2'));
symlinkSync('a.j2', join(root, 'templates', 'in.j2'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('Confinement', () => {
  const c = new Confinement([root], 'the playbook directory', 'templates, includes and vars_files');

  it('allows paths inside the tree, as written and as resolved', () => {
    assert.equal(c.outside('template', 'a.j2', join(root, 'templates', 'a.j2')), undefined);
    assert.equal(c.outside('template', 'in.j2', join(root, 'templates', 'in.j2')), undefined);
    assert.equal(c.outside('template', '../templates/a.j2', join(root, 'templates', '..', 'templates', 'a.j2')), undefined);
    assert.equal(c.outside('template', 'missing.j2', join(root, 'missing.j2')), undefined, 'not found is reported elsewhere');
  });

  it('refuses absolute paths elsewhere, .. out of the tree and links out of it', () => {
    assert.equal(
      c.outside('template', '/etc/passwd', '/etc/passwd'),
      `template "/etc/passwd" is outside the playbook directory ${root} (templates, includes and vars_files are confined to it)`,
    );
    assert.match(c.outside('template', '../shared/b.j2', join(root, '..', 'shared', 'b.j2')) ?? '', /^template "\.\.\/shared\/b\.j2" is outside the playbook directory/);
    assert.match(c.outside('template', 'out.j2', join(root, 'templates', 'out.j2')) ?? '', /^template "out\.j2" leads through a symbolic link out of the playbook directory/);
    assert.match(c.outside('template', '../pb-evil/x', join(root, '..', 'pb-evil', 'x')) ?? '', /is outside/, 'a sibling with the same prefix is outside');
  });

  it('allows the roots listed in LANES_TEMPLATE_ROOTS', () => {
    process.env[ROOTS_ENV] = `${other}:${join(tmp, 'nowhere')}`;
    try {
      const extra = new Confinement([root], 'the playbook directory', 'templates');
      assert.equal(extra.outside('template', 'out.j2', join(root, 'templates', 'out.j2')), undefined);
      assert.equal(extra.outside('template', join(other, 'b.j2'), join(other, 'b.j2')), undefined);
      assert.match(extra.outside('template', '/etc/passwd', '/etc/passwd') ?? '', /confined to it and to LANES_TEMPLATE_ROOTS\)$/);
    } finally {
      delete process.env[ROOTS_ENV];
    }
  });
});

describe('-e @file', () => {
  it('reads files inside the working directory tree', async () => {
    assert.deepEqual(await parseExtraVars(['@vars.yml'], root), { x: 1 });
  });

  it('refuses files outside it, naming the option and the tree', async () => {
    for (const name of ['/etc/passwd', '../shared/vars.yml']) {
      await assert.rejects(
        () => parseExtraVars([`@${name}`], root),
        (e: unknown) => e instanceof LanesError && e.message === `--extra-vars file "${name}" is outside the working directory ${root} (-e @file names are confined to it)`,
      );
    }
  });
});

describe('compiling a playbook with hostile templates', () => {
  const dir = fixture('').replace(/\/$/, '');
  const confined = `is outside the playbook directory ${dir} (templates, includes and vars_files are confined to it)`;
  const payload = '{{ range.constructor("return process.exit(7)")() }}';

  it('refuses template files, includes and vars_files outside the playbook tree, at their place', async () => {
    const text = [
      '- hosts: app',
      '  vars_files:',
      '    - /etc/passwd',
      '  templates:',
      '    - { src: ../../../../../../../../etc/passwd, dest: /etc/a }',
      '    - { src: /etc/hostname, dest: /etc/b }',
      '    - { src: hostile/abs-include.j2, dest: /etc/c }',
    ].join('\n');
    assert.deepEqual(await errorLines(() => compileText(text)), [at(3, 7, `vars file "/etc/passwd" ${confined} (hosts lab1, lab2)`)]);
    const lines = await errorLines(() => compileText(text.replace('    - /etc/passwd', '    - vars/common.yml')));
    assert.deepEqual(lines, [
      at(5, 9, `templates[0].src: template "../../../../../../../../etc/passwd" ${confined} (hosts lab1, lab2)`),
      at(6, 9, `templates[1].src: template "/etc/hostname" ${confined} (hosts lab1, lab2)`),
      `${fixture('templates/hostile/abs-include.j2')}:1:4: template "/etc/hostname" ${confined} (hosts lab1, lab2)`,
    ]);
  });

  it('refuses JavaScript from play vars and extra vars, at the value that uses them', async () => {
    const text = ['- hosts: app', '  vars:', `    evil: '${payload}'`, '  files:', '    - { path: /etc/a, content: "{{ evil }}" }', '    - { path: /etc/b, content: "{{ tag }}" }'].join('\n');
    assert.deepEqual(await errorLines(() => compileText(text, { extraVars: { tag: payload } })), [
      at(5, 32, 'files[0].content: templates cannot access "constructor" (in variable "evil") (hosts lab1, lab2)'),
      at(6, 32, 'files[1].content: templates cannot access "constructor" (in variable "tag") (hosts lab1, lab2)'),
    ]);
  });
});
