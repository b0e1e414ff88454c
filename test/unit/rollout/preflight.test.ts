// Preflight: which files a worker runs from the release (pure), what is missing from a release, the
// preflight frames read into sentences, and the script itself run by a real sh against stubbed
// systemctl / supervisorctl: a missing program or unit is named, what an existing one runs is reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { missingReleaseFiles, parsePreflight, preflightScript, releaseFilesOf } from '../../../agent/rollout/preflight.js';
import { pruneKeep } from '../../../agent/rollout/release.js';

const APP = '/var/www/app';
const cleanups: string[] = [];
after(() => cleanups.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('releaseFilesOf', () => {
  it('finds absolute paths under current, and relative ones when the working directory is under current', () => {
    assert.deepEqual(releaseFilesOf(APP, { command: '/usr/bin/php /var/www/app/current/worker.php --queue=default', directory: '/var/www/app/current' }), ['worker.php']);
    assert.deepEqual(releaseFilesOf(APP, { command: 'php artisan queue:work --tries=3', directory: '/var/www/app/current' }), ['artisan']);
    assert.deepEqual(releaseFilesOf(APP, { command: 'php bin/console messenger:consume async', directory: '/var/www/app/current/' }), ['bin/console']);
    assert.deepEqual(releaseFilesOf(APP, { command: '/var/www/app/current/bin/worker -v', directory: '' }), ['bin/worker']);
    assert.deepEqual(releaseFilesOf(APP, { command: 'php worker.php', directory: '/srv/elsewhere' }), [], 'relative to a directory outside current: not the release');
    assert.deepEqual(releaseFilesOf(APP, { command: '/usr/bin/php /var/www/other/current/worker.php', directory: '' }), []);
    assert.deepEqual(releaseFilesOf(APP, { command: '"/var/www/app/current/my worker.php"', directory: '' }), ['my worker.php']);
    assert.deepEqual(releaseFilesOf(APP, { command: '/usr/bin/php /var/www/app/current/../current/x.php', directory: '' }), ['x.php']);
  });
});

describe('missingReleaseFiles', () => {
  it('names the worker and the file the release lacks, and trusts shared paths', () => {
    const workers = [
      { name: 'app-queue', command: '/usr/bin/php /var/www/app/current/worker.php', directory: '/var/www/app/current' },
      { name: 'app-scheduler.service', command: '/usr/bin/php /var/www/app/current/scheduler.php', directory: '/var/www/app/current' },
      { name: 'exporter', command: '/var/www/app/current/storage/bin/export', directory: '' },
    ];
    const has = (rel: string) => rel === 'scheduler.php';
    assert.deepEqual(missingReleaseFiles(APP, ['storage'], workers, has, 'r123'), ['worker app-queue runs /var/www/app/current/worker.php, which release r123 does not contain']);
  });
});

describe('parsePreflight', () => {
  const N = 'feedc0ffee00';
  const b = (s: string) => Buffer.from(s).toString('base64');
  it('turns failed checks into sentences and collects what the workers run', () => {
    const out = [
      `@@${N} fpm ok ${b('master 12')}`,
      `@@${N} pool api fail ${b('no FPM pool socket at /run/php/api.sock')}`,
      `@@${N} worker app-queue ok ${b('/usr/bin/php /var/www/app/current/worker.php')} ${b('/var/www/app/current')}`,
      `@@${N} worker nope fail ${b('Supervisor has no program or group named nope')}`,
      `@@0000 worker forged ok - -`,
      `@@${N} preflight done`,
    ].join('\n');
    assert.deepEqual(parsePreflight(out, N), {
      problems: ['pool api: no FPM pool socket at /run/php/api.sock', 'Supervisor has no program or group named nope'],
      workers: [{ name: 'app-queue', command: '/usr/bin/php /var/www/app/current/worker.php', directory: '/var/www/app/current' }],
    });
  });
  it('is a problem when the script stopped early', () => {
    assert.deepEqual(parsePreflight('sh: syntax error', N).problems, ['the preflight checks stopped before finishing']);
  });
});

describe('preflight script', () => {
  it('reports a missing program and unit by name, and what existing ones run', () => {
    const S = mkdtempSync(path.join(os.tmpdir(), 'lanes-preflight-'));
    cleanups.push(S);
    const bin = path.join(S, 'bin');
    mkdirSync(bin);
    const conf = path.join(S, 'supervisor.conf');
    writeFileSync(conf, '[program:app-queue]\ncommand=/usr/bin/php /var/www/app/current/worker.php --queue=default\ndirectory=/var/www/app/current\nnumprocs=2\n');
    writeFileSync(
      path.join(bin, 'supervisorctl'),
      '#!/bin/sh\nprintf "app-queue:app-queue_00 RUNNING pid 10, uptime 0:01:00\\napp-queue:app-queue_01 RUNNING pid 11, uptime 0:01:00\\n"\n',
      { mode: 0o755 },
    );
    writeFileSync(
      path.join(bin, 'systemctl'),
      [
        '#!/bin/sh',
        'case "$*" in',
        '  "is-active php8.2-fpm.service") echo active ;;',
        '  "show -p MainPID --value php8.2-fpm.service") echo $$ ;;',
        '  "show -p LoadState --value app-scheduler.service") echo loaded ;;',
        '  "show -p LoadState --value"*) echo not-found ;;',
        '  "show -p ExecStart --value app-scheduler.service") echo "{ path=/usr/bin/php ; argv[]=/usr/bin/php /var/www/app/current/scheduler.php ; ignore_errors=no ; start_time=[n/a] }" ;;',
        '  "show -p WorkingDirectory --value app-scheduler.service") echo "!/var/www/app/current" ;;',
        'esac',
      ].join('\n'),
      { mode: 0o755 },
    );
    const script = preflightScript({ pools: [], workers: { supervisor: ['app-queue', 'app-queu'], systemd: ['app-scheduler.service', 'nope.service'] } }, { fpmUnit: 'php8.2-fpm.service' });
    const r = spawnSync('/bin/sh', ['-s'], { input: script.text, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, LANES_SV_CONFS: conf } });
    const p = parsePreflight(r.stdout, script.nonce);
    // The stub's MainPID is its own (gone) shell: the master check fails, which names it.
    assert.deepEqual(p.problems.slice(1), ['Supervisor has no program or group named app-queu', 'systemd has no unit named nope.service']);
    assert.match(p.problems[0]!, /php8\.2-fpm\.service is active but its master process \(MainPID \d+\) is not running/);
    assert.deepEqual(p.workers, [
      { name: 'app-queue', command: '/usr/bin/php /var/www/app/current/worker.php --queue=default', directory: '/var/www/app/current' },
      { name: 'app-scheduler.service', command: '/usr/bin/php /var/www/app/current/scheduler.php', directory: '/var/www/app/current' },
    ]);
  });
});

describe('pruneKeep', () => {
  it('keeps the live release, the one live when the run started, and the one live before the live one', () => {
    assert.deepEqual(pruneKeep('r1', 'r2', ['r0', 'r1', 'r2']), ['r2', 'r1']);
    // A rollback: live is the older one, the newer stays too.
    assert.deepEqual(pruneKeep('r2', 'r1', ['r0', 'r1', 'r2']), ['r1', 'r2']);
    // A failed release: nothing changed, and the previous one per history is kept.
    assert.deepEqual(pruneKeep('r2', 'r2', ['r0', 'r1', 'r2']), ['r2', 'r1']);
    assert.deepEqual(pruneKeep(undefined, 'r1', ['r1']), ['r1']);
    assert.deepEqual(pruneKeep(undefined, undefined, []), []);
  });
});
