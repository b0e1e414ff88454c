// Release faults on one real lab host (lab2), through the real CLI, each checked on the host
// afterwards: a release naming a worker the host does not have and one whose artifact lacks the
// worker's script are refused in preflight with nothing touched (current, worker processes, no new
// release dir, no lock); a release failing its health gate (HTTP 500) is rolled back with the
// previous release live and served and exactly the workers that ran before running again on it; a
// drain failing on one worker still brings the others back; a first release failing its gate leaves
// no `current` and starts nothing on the failed code; prune keeps the live and the previous release,
// and `lanes rollback` then works and is health-gated. The host is left on a healthy release with its
// workers running and no lock.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

const APP = '/var/www/app';
const FRESH = '/var/www/lanes-e2e-fresh';
const UNIT = 'lanes-e2e-stubborn.service';
const site = path.join(repoRoot, 'playbooks', 'site.yml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-faults-'));
const run = `${process.pid}-${Date.now()}`;
const STUBBORN_CLEANUP = `systemctl stop ${UNIT} 2>/dev/null; pkill -KILL -f '^/bin/sh /usr/local/bin/lanes-e2e-stubborn'; rm -f /etc/systemd/system/${UNIT} /usr/local/bin/lanes-e2e-stubborn; systemctl daemon-reload; systemctl reset-failed ${UNIT} 2>/dev/null; true`;
let lab: EnsuredLab;
let host: string;
let address: string;

/** A copy of the sample app, distinct per name and run; `drop` removes files, `extra` adds some. */
function variant(name: string, extra: Record<string, string> = {}, drop: string[] = []): string {
  const dir = path.join(tmp, name);
  cpSync(path.join(repoRoot, 'playbooks', 'sample-app'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'VERSION'), `${name} ${run}\n`);
  for (const [f, content] of Object.entries(extra)) writeFileSync(path.join(dir, f), content);
  for (const f of drop) rmSync(path.join(dir, f));
  return dir;
}

/**
 * site.yml (with its templates) with text replaced; the health gate gives up after 8 s instead of 30,
 * since most releases here are meant to fail it.
 */
function playbook(name: string, replace: [string, string][] = []): string {
  replace = [...replace, ['timeout: 30s', 'timeout: 8s']];
  const dir = path.join(tmp, `pb-${name}`);
  cpSync(path.join(repoRoot, 'playbooks'), dir, { recursive: true, filter: (src) => !src.includes('sample-app') });
  let text = readFileSync(site, 'utf8');
  for (const [a, b] of replace) {
    assert.ok(text.includes(a), `site.yml has ${a}`);
    text = text.replace(a, b);
  }
  const file = path.join(dir, 'site.yml');
  writeFileSync(file, text);
  return file;
}

const sh = (script: string) => onHost(lab, host, script, { allowFail: true });
const cli = (args: string[]) => runCli([...args, '-i', lab.inventoryFile, '--limit', host]);
const idOf = async (dir: string) => (await readArtifact(dir)).id;
const current = async (root = APP) => (await sh(`readlink ${root}/current || echo none`)).trim();

/** Worker processes (pid and cwd) of the sample app. */
async function workers(): Promise<string[]> {
  const out = await sh(`for p in $(pgrep -f '^/usr/bin/php .*/(worker|scheduler)\\.php'); do echo "$p $(readlink /proc/$p/cwd)"; done | sort`);
  return out.split('\n').filter(Boolean);
}

async function served(): Promise<string> {
  const res = await fetch(`http://${address}/`);
  return ((await res.json()) as { release: string }).release;
}

/** The FAILED line for this host: a sentence, no frame, no base64. */
function failure(out: string): string {
  const line = out.split('\n').find((l) => l.includes(host) && l.includes('FAILED:')) ?? '';
  assert.ok(line, `a FAILED line for ${host} in:\n${out}`);
  assert.doesNotMatch(line, /@@|[A-Za-z0-9+/]{32,}={0,2}/, 'no protocol text or base64');
  return line;
}

let v1 = '';
let fast = '';
before(async () => {
  fast = playbook('fast');
  lab = await ensureLab(3);
  host = lab.hosts[1]!.name;
  address = lab.hosts[1]!.address;
  const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', host, '--yes']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const first = await cli(['release', fast, '--artifact', variant('v1')]);
  assert.equal(first.code, 0, first.stdout + first.stderr);
  v1 = await idOf(path.join(tmp, 'v1'));
  assert.equal(await current(), `releases/${v1}`);
});

after(async () => {
  if (lab) {
    await sh(
      [
        STUBBORN_CLEANUP,
        `rm -rf ${FRESH}`,
        "supervisorctl start 'app-queue:*' >/dev/null 2>&1; systemctl start app-scheduler",
      ].join('\n'),
    );
  }
  rmSync(tmp, { recursive: true, force: true });
});

describe('release faults on a lab host', { concurrency: false }, () => {
  it('a release naming a worker the host does not have is refused in preflight, with nothing touched', async () => {
    const before = await workers();
    assert.equal(before.length, 3, before.join('\n'));
    const pb = playbook('missing-worker', [['supervisor: [app-queue]', 'supervisor: [app-queue, no-such-worker]']]);
    const v = variant('missing-worker');
    const r = await cli(['release', pb, '--artifact', v]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(failure(r.stdout + r.stderr), /preflight refused the release, nothing was changed: Supervisor has no program or group named no-such-worker/);
    assert.equal(await current(), `releases/${v1}`);
    assert.deepEqual(await workers(), before, 'the same worker processes, never stopped');
    assert.equal((await sh(`test -e ${APP}/releases/${await idOf(v)} && echo there || echo absent`)).trim(), 'absent', 'nothing uploaded');
    assert.equal((await sh(`test -e ${APP}/.lanes-release.lock && echo locked || echo free`)).trim(), 'free');
  });

  it('a release whose artifact lacks the script a worker runs is refused in preflight', async () => {
    const before = await workers();
    const v = variant('no-worker-script', {}, ['worker.php']);
    const r = await cli(['release', fast, '--artifact', v]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const id = await idOf(v);
    assert.match(failure(r.stdout + r.stderr), new RegExp(`worker app-queue runs ${APP}/current/worker\\.php, which release ${id} does not contain`));
    assert.equal(await current(), `releases/${v1}`);
    assert.deepEqual(await workers(), before);
    assert.equal((await sh(`test -e ${APP}/releases/${id} && echo there || echo absent`)).trim(), 'absent');
  });

  it('a release failing its health gate is rolled back: previous current live and served, the same workers running on it', async () => {
    const r = await cli(['release', fast, '--artifact', variant('broken', { BROKEN: 'yes\n' })]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const line = failure(r.stdout + r.stderr);
    assert.match(line, new RegExp(`health gate: .*500.* — rolled back to ${v1}, php-fpm reloaded, app-queue, app-scheduler\\.service running again, health gate passed`));
    assert.equal(await current(), `releases/${v1}`);
    assert.equal(await served(), v1);
    const w = await workers();
    assert.equal(w.length, 3, w.join('\n'));
    assert.ok(w.every((l) => l.endsWith(` ${APP}/releases/${v1}`)), w.join('\n'));
  });

  it('a drain failing on one worker: the other workers are running again afterwards', async () => {
    await sh(
      [
        // A worker that ignores TERM under KillMode=none: `systemctl stop` leaves it running.
        `printf '%s\\n' '#!/bin/sh' "trap '' TERM" 'while :; do sleep 1; done' > /usr/local/bin/lanes-e2e-stubborn && chmod 0755 /usr/local/bin/lanes-e2e-stubborn`,
        `printf '%s\\n' '[Service]' 'ExecStart=/usr/local/bin/lanes-e2e-stubborn' 'WorkingDirectory=${APP}/current' 'KillMode=none' > /etc/systemd/system/${UNIT}`,
        `systemctl daemon-reload && systemctl start ${UNIT}`,
      ].join('\n'),
    );
    const pb = playbook('stubborn', [['systemd: [app-scheduler]', `systemd: [app-scheduler, ${UNIT}]`]]);
    const r = await cli(['release', pb, '--artifact', variant('v-stubborn')]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(failure(r.stdout + r.stderr), new RegExp(`drain workers: .*${UNIT.replace('.', '\\.')} is inactive but pid \\d+ .* still running — current was never switched, app-queue, app-scheduler\\.service, ${UNIT.replace('.', '\\.')} running again`));
    assert.equal(await current(), `releases/${v1}`);
    const w = await workers();
    assert.equal(w.length, 3, w.join('\n'));
    assert.ok(w.every((l) => l.endsWith(` ${APP}/releases/${v1}`)), w.join('\n'));
    assert.match(await sh("supervisorctl status 'app-queue:*'; systemctl is-active app-scheduler"), /RUNNING[\s\S]*RUNNING[\s\S]*^active$/m);
    await sh(STUBBORN_CLEANUP);
  });

  it('a first release failing its gate leaves no current and starts nothing on the failed code', async () => {
    const before = await workers();
    const v = variant('fresh-broken', { BROKEN: 'yes\n' });
    const r = await cli(['release', fast, '-e', `app_root=${FRESH}`, '--artifact', v]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(failure(r.stdout + r.stderr), /health gate: .* — current removed again \(there was no release before\), php-fpm reloaded, app-queue, app-scheduler\.service running again/);
    assert.equal(await current(FRESH), 'none');
    const w = await workers();
    assert.equal(w.length, before.length, w.join('\n'));
    assert.ok(w.every((l) => !l.includes(FRESH)), `no worker runs the failed code: ${w.join('\n')}`);
    assert.ok(w.every((l) => l.endsWith(` ${APP}/releases/${v1}`)), w.join('\n'));
  });

  it('prune keeps the live and the previous release even when failed uploads are newer; lanes rollback then goes back, health-gated', async () => {
    // Releases that failed (broken, v-stubborn) were unpacked after v1, the live one: by date alone
    // keep: 2 would drop v1, which is the release `lanes rollback` needs.
    const pb = playbook('keep2', [['keep: 5', 'keep: 2']]);
    const v2 = variant('v2');
    const r = await cli(['release', pb, '--artifact', v2]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const id2 = await idOf(v2);
    const left = (await sh(`ls ${APP}/releases`)).split('\n').filter((l) => /^r[0-9a-f]{12}$/.test(l));
    assert.ok(left.includes(v1) && left.includes(id2), `live ${id2} and previous ${v1} kept: ${left.join(' ')}`);
    assert.ok(!left.includes(await idOf(path.join(tmp, 'broken'))), `the oldest failed release is pruned: ${left.join(' ')}`);
    assert.equal(left.length, 3, left.join(' '));

    const back = await cli(['rollback', pb]);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.match(back.stdout + back.stderr, new RegExp(`${host}\\] preflight ok`));
    assert.match(back.stdout + back.stderr, new RegExp(`${host}\\] health gate ok`));
    assert.equal(await current(), `releases/${v1}`);
    assert.equal(await served(), v1);
    const w = await workers();
    assert.ok(w.length === 3 && w.every((l) => l.endsWith(` ${APP}/releases/${v1}`)), w.join('\n'));
    assert.equal((await sh(`test -e ${APP}/.lanes-release.lock && echo locked || echo free`)).trim(), 'free');
  });

  it('a rollback whose target fails the health gate is rolled back to the live release and reported', async () => {
    // v2 is still on the host; make it answer 500, then roll "back" to it.
    const id2 = await idOf(path.join(tmp, 'v2'));
    await sh(`touch ${APP}/releases/${id2}/BROKEN`);
    const r = await cli(['rollback', fast, '--to', id2]);
    await sh(`rm -f ${APP}/releases/${id2}/BROKEN`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(failure(r.stdout + r.stderr), new RegExp(`health gate: .*500.* — rolled back to ${v1}, php-fpm reloaded, app-queue, app-scheduler\\.service running again, health gate passed`));
    assert.equal(await current(), `releases/${v1}`);
    assert.equal(await served(), v1);
  });
});
