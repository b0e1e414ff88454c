// Loading playbooks: YAML errors and structure errors at their exact line and column.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPlaybook } from '../../../agent/playbook/load.js';
import { PlaybookErrors } from '../../../agent/playbook/errors.js';
import { INLINE, at, errorLines, expectLanesError, fixture, parse } from './helpers.js';

describe('loadPlaybook', () => {
  it('reads plays, their vars, vars_files and sections', async () => {
    const pb = await loadPlaybook(fixture('site.yml'));
    assert.equal(pb.plays.length, 2);
    const [app, db] = pb.plays;
    assert.equal(app?.name, 'app servers');
    assert.equal(app?.hosts, 'app');
    assert.deepEqual(app?.vars, { level: 'play', pool: '{{ app_name }}_web' });
    assert.deepEqual(
      app?.varsFiles.map((v) => v.names),
      [['vars/common.yml']],
    );
    assert.deepEqual(
      app?.sections.map((s) => s.section.path.join('.')),
      ['packages', 'directories', 'templates', 'fpm.pools', 'fpm.remove_pools', 'services'],
    );
    assert.deepEqual(
      app?.params.map((p) => p.param.path.join('.')),
      ['fpm.version'],
    );
    assert.equal(db?.name, 'db', 'a play without a name is named after its hosts');
  });

  it('reports a missing playbook file', async () => {
    await expectLanesError(() => loadPlaybook(fixture('no-such.yml')), { message: /^playbook not found: .*no-such\.yml$/ });
  });

  it('reports a YAML syntax error at its line and column', async () => {
    await expectLanesError(() => parse('- hosts: app\n  packages: [a, b\n  files: []\n'), {
      message: /^invalid YAML: /,
      file: INLINE,
      line: 3,
      column: 3,
    });
  });

  it('reports a tab indentation error where it is', async () => {
    await expectLanesError(() => parse('- hosts: app\n  vars:\n\t  x: 1\n'), { message: /^invalid YAML/, line: 3, column: 1 });
  });

  it('refuses an unknown play key at the key, listing the allowed keys', async () => {
    const err = await expectLanesError(() => parse('- hosts: app\n  vars: {}\n  pakages: [curl]\n'), {
      message: /^unknown key "pakages" in play 1$/,
      file: INLINE,
      line: 3,
      column: 3,
      hint: /^a play takes: name, hosts, vars, vars_files, sensitive_vars, packages, groups, users, directories, files, templates, symlinks, fpm, systemd, supervisor, services, release; did you mean "packages"\?$/,
    });
    assert.ok(err instanceof PlaybookErrors);
    assert.equal(err.format(), at(3, 3, `unknown key "pakages" in play 1 (${err.hint})`));
  });

  it('explains Ansible keys lanes does not take', async () => {
    await expectLanesError(() => parse('- name: web\n  hosts: app\n  tasks:\n    - apt: name=curl\n'), {
      message: /^unknown key "tasks" in play "web"$/,
      line: 3,
      column: 3,
      hint: /^lanes has no tasks: declare the desired state in sections/,
    });
  });

  it('refuses an unknown key inside a section group, with that group\'s keys', async () => {
    await expectLanesError(() => parse('- hosts: app\n  fpm:\n    version: "8.2"\n    pool:\n      web: {}\n'), {
      message: /^fpm: unknown key "pool"$/,
      line: 4,
      column: 5,
      hint: /^fpm takes: version, global, pools, remove_pools; did you mean "pools"\?$/,
    });
  });

  it('requires hosts', async () => {
    await expectLanesError(() => parse('- name: nothing\n  packages: [curl]\n'), {
      message: /^missing required key "hosts" in play "nothing"$/,
      line: 1,
      column: 3,
    });
  });

  it('reports a section of the wrong shape at the section', async () => {
    await expectLanesError(() => parse('- hosts: app\n  packages:\n    curl: present\n'), {
      message: /^packages: must be a list, got a mapping$/,
      line: 2,
      column: 3,
    });
    await expectLanesError(() => parse('- hosts: app\n  fpm:\n    pools: [web]\n'), {
      message: /^fpm\.pools: must be a mapping of names to settings, got a list$/,
      line: 3,
      column: 5,
    });
  });

  it('reports a list item of the wrong type at the item', async () => {
    await expectLanesError(() => parse('- hosts: app\n  packages:\n    - curl\n    - 5\n'), {
      message: /^packages\[1\]: must be a mapping or a name, got the number 5$/,
      line: 4,
      column: 7,
    });
  });

  it('accepts a "{{ … }}" string in place of a section', () => {
    const pb = parse('- hosts: app\n  fpm:\n    pools: "{{ my_pools }}"\n  packages: "{{ pkgs }}"\n');
    assert.equal(pb.plays[0]?.sections.length, 2);
  });

  it('refuses a playbook that is not a list of plays', async () => {
    await expectLanesError(() => parse('hosts: app\npackages: [curl]\n'), {
      message: /^a playbook must be a list of plays, got a mapping$/,
      line: 1,
      column: 1,
      hint: /start the play with "- "/,
    });
    await expectLanesError(() => parse('# nothing\n'), { message: /^the playbook is empty$/ });
  });

  it('collects the errors of every play, in file order', async () => {
    const lines = await errorLines(() => parse('- hosts: app\n  fpm: { pool: {} }\n  pakages: []\n- hosts: db\n  services: [nginx]\n- [1]\n'));
    assert.deepEqual(lines, [
      at(2, 10, 'fpm: unknown key "pool" (fpm takes: version, global, pools, remove_pools; did you mean "pools"?)'),
      at(3, 3, 'unknown key "pakages" in play 1 (a play takes: name, hosts, vars, vars_files, sensitive_vars, packages, groups, users, directories, files, templates, symlinks, fpm, systemd, supervisor, services, release; did you mean "packages"?)'),
      at(5, 3, 'services: must be a mapping of names to settings, got a list'),
      at(6, 3, 'play 3 must be a mapping, got a list (e.g. "- hosts: web")'),
    ]);
  });
});
