// One owner per path, unit, program or pool on a host: two declarations that disagree are refused
// before any connection, naming both places; the same declaration twice is harmless; the release
// block never creates (with its own mode) a directory the play declares.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePlaybook } from '../../../agent/playbook/compile.js';
import { planHost } from '../../../agent/plan/plan-host.js';
import { actualState } from '../../support/actual.js';
import { at, errorLines, parse, testInventory } from './helpers.js';

const HINT = '(declare it once (merge the two), or make both declarations identical)';

/** Compile with the real resource types. */
async function compileReal(text: string) {
  return compilePlaybook(parse(text), await testInventory(), {});
}

describe('declarations claiming the same thing', () => {
  it('refuses one path declared by two sections, naming both places', async () => {
    const text = [
      '- hosts: lab1',
      '  files:',
      '    - { path: /etc/app.conf, content: one }',
      '  symlinks:',
      '    - { path: /etc//app.conf/, target: /srv/app.conf }',
    ].join('\n');
    const lines = await errorLines(() => compileReal(text));
    assert.deepEqual(lines, [at(5, 7, `path /etc/app.conf (symlink here, file there) is declared twice, differently: first at ${at(3, 7, '').slice(0, -2)} (host lab1) ${HINT}`)]);
  });

  it('refuses a unit written by systemd.services and declared again as a file, or as a service', async () => {
    const unit = ['- hosts: lab1', '  systemd:', '    services:', '      scheduler: { ExecStart: /usr/bin/php /srv/s.php }'];
    const asFile = await errorLines(() => compileReal([...unit, '  files:', '    - { path: /etc/systemd/system/scheduler.service, content: "[Service]" }'].join('\n')));
    // Sections compile in a fixed order (files before systemd): the second one named is the unit.
    assert.deepEqual(asFile, [
      at(4, 7, `path /etc/systemd/system/scheduler.service (systemd_service here, file there) is declared twice, differently: first at ${at(6, 7, '').slice(0, -2)} (host lab1) ${HINT}`),
    ]);
    const asService = await errorLines(() => compileReal([...unit, '  services:', '    scheduler: { state: stopped }'].join('\n')));
    assert.equal(asService.length, 1);
    assert.match(asService[0]!, /unit scheduler\.service \((service|systemd_service) here, (systemd_service|service) there\) is declared twice, differently: first at .*inline\.yml:\d+:\d+ \(host lab1\)/);
  });

  it('refuses two plays disagreeing about a directory, accepts two that agree exactly', async () => {
    const agree = [
      '- hosts: app',
      '  directories: [{ path: /srv/app, mode: "0755" }]',
      '- hosts: lab1',
      '  directories: [{ path: /srv/app, mode: "0755" }]',
    ].join('\n');
    const plan = await compileReal(agree);
    assert.deepEqual(plan.hosts.get('lab1')?.map((r) => `${r.type}[${r.id}]`), ['directory[/srv/app]']);
    const disagree = agree.replace(/0755" }]$/, '0775" }]');
    const lines = await errorLines(() => compileReal(disagree));
    assert.deepEqual(lines, [at(4, 17, `directory "/srv/app" is declared twice, differently: first at ${at(2, 17, '').slice(0, -2)} (host lab1) ${HINT}`)]);
  });

  it('leaves a directory the play declares to the play: the release block does not create it', async () => {
    const text = [
      '- hosts: lab1',
      '  directories:',
      '    - { path: /srv/app/shared, owner: root, group: root, mode: "0775" }',
      '  release:',
      '    path: /srv/app',
      '    shared: [storage, cache/data]',
    ].join('\n');
    const plan = await compileReal(text);
    const desired = plan.hosts.get('lab1')!;
    const changes = planHost('lab1', desired, actualState());
    const made = changes.flatMap((c) => c.operations).filter((o) => o.op === 'mkdir').map((o) => `${o.path} ${'mode' in o ? o.mode : ''}`);
    // shared/ once, with the play's mode; releases/ and shared/cache by the release block.
    assert.deepEqual(made.sort(), ['/srv/app/releases 0755', '/srv/app/shared 0775', '/srv/app/shared/cache 0755']);
  });

  it('refuses a release directory the play declares as something else', async () => {
    const text = ['- hosts: lab1', '  symlinks:', '    - { path: /srv/app/shared, target: /data/shared }', '  release:', '    path: /srv/app'].join('\n');
    const plan = await compileReal(text);
    assert.throws(() => planHost('lab1', plan.hosts.get('lab1')!, actualState()), /release needs \/srv\/app\/shared as a directory, but the play declares it as a symlink at .*:3:7/);
  });
});
