// The host lease across commands, on a lab host, with a playbook of its own (no application): a
// drain whose worker needs 8 s to stop is not cut short by --timeout 5 and holds the lease meanwhile
// (an apply is refused naming it); two applies at once: the second is refused naming the first, or
// waits with --lock-wait and then succeeds; undrain takes the same lease.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { leaseOn } from './support/fleet-checks.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { startCli } from './support/spawn.js';

const ROOT = '/var/lib/lanes-e2e-lease';
const LOG = '/var/log/lanes-slow-worker.log';
/** While this file exists on the host, the stamp file's validation does not end (at most 60 s). */
const HOLD = '/var/tmp/lanes-e2e-lease-hold';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-lease-'));
const playbook = path.join(tmp, 'lease.yml');
let lab: EnsuredLab;
let host: string;

// A worker that, on SIGTERM, needs 8 s to finish its job (sh runs the trap once `sleep 1` returns),
// and longer while the test holds it (HOLD exists, at most 60 s more); a file whose validation lasts
// as long as the test holds it, so an apply that changes it holds the lease that long. The test
// holds a drain or an apply until it has done what it must do meanwhile, however slow a loaded
// machine starts the CLI (fixed 8 s and 6 s windows were not always enough there).
writeFileSync(
  playbook,
  `- name: lease test
  hosts: all
  directories:
    - { path: ${ROOT}, mode: "0755" }
    - { path: ${ROOT}/releases, mode: "0755" }
    - { path: ${ROOT}/current, mode: "0755" }
  files:
    - path: /usr/local/bin/lanes-slow-worker
      mode: "0755"
      content: |
        #!/bin/sh
        trap 'sleep 8; n=0; while test -e ${HOLD} && test $n -lt 600; do sleep 0.1; n=$((n+1)); done; echo "finished $$" >> ${LOG}; exit 0' TERM
        while :; do sleep 1; done
    - path: /var/tmp/lanes-e2e-lease-stamp
      content: "{{ stamp }}\\n"
      validate: "sh -c 'n=0; while test -e ${HOLD} && test $n -lt 600; do sleep 0.1; n=$((n+1)); done'"
  supervisor:
    programs:
      lanes-slow-worker:
        command: /usr/local/bin/lanes-slow-worker
        directory: ${ROOT}/current
        stopwaitsecs: 90 # above the longest hold (8 s + 60 s)
  release:
    path: ${ROOT}
    workers: { supervisor: [lanes-slow-worker] }
`,
);

const apply = (stamp: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
  runCli(['apply', playbook, '-i', lab.inventoryFile, '--limit', host, '--yes', '-e', `stamp=${stamp}`, ...extra], { env });

before(async () => {
  lab = await ensureLab(1);
  host = lab.hosts[0]!.name;
  const r = await apply('initial');
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

after(async () => {
  // Leave the host as other test files expect it: no extra worker, no lease.
  if (!lab) return;
  await onHost(
    lab,
    host,
    `supervisorctl stop lanes-slow-worker >/dev/null 2>&1; rm -f /etc/supervisor/conf.d/lanes-slow-worker.conf /usr/local/bin/lanes-slow-worker /var/tmp/lanes-e2e-lease-stamp ${LOG}; supervisorctl update >/dev/null 2>&1; rm -rf ${ROOT} ${HOLD}; true`,
  );
});

describe('the host lease', { concurrency: false }, () => {
  it('a drain longer than --timeout is not cut short, and holds the lease: an apply meanwhile is refused naming it', async () => {
    await onHost(lab, host, `rm -f ${LOG}; touch ${HOLD}`);
    const drain = startCli(['drain', playbook, '-i', lab.inventoryFile, '--limit', host, '--timeout', '5', '--json', '-e', 'stamp=initial'], { LANES_LOCK_HOLDER: 'drain-job' });
    await drain.waitFor((e) => e.type === 'step-start' && e.step === 'drain workers');
    const refused = await apply('during-drain');
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout + refused.stderr, new RegExp(`${host}: host locked by drain-job@\\S+ \\(pid \\d+, operation drain\\)`));
    await onHost(lab, host, `rm -f ${HOLD}`);
    const d = await drain.done;
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.match(await onHost(lab, host, `cat ${LOG}`), /^finished \d+$/m, 'the worker finished its job (was not killed)');
    assert.match(await onHost(lab, host, 'supervisorctl status lanes-slow-worker || true'), /STOPPED/);
    assert.equal(await leaseOn(lab, host), '', 'the drain released its lease');
    // Nothing was applied by the refused apply.
    assert.equal((await onHost(lab, host, 'cat /var/tmp/lanes-e2e-lease-stamp')).trim(), 'initial');

    const u = await runCli(['undrain', playbook, '-i', lab.inventoryFile, '--limit', host, '-e', 'stamp=initial']);
    assert.equal(u.code, 0, u.stdout + u.stderr);
    assert.match(await onHost(lab, host, 'supervisorctl status lanes-slow-worker || true'), /RUNNING/);
  });

  it('two applies at once: the second is refused naming the first; with --lock-wait it waits, then applies', async () => {
    await onHost(lab, host, `touch ${HOLD}`);
    const first = startCli(['apply', playbook, '-i', lab.inventoryFile, '--limit', host, '--yes', '--json', '-e', 'stamp=first'], { LANES_LOCK_HOLDER: 'apply-one' });
    await first.waitFor((e) => e.type === 'step-start' && e.host === host && String(e.step).startsWith('apply'));
    const second = await apply('second', [], { LANES_LOCK_HOLDER: 'apply-two' });
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(second.stdout + second.stderr, /host locked by apply-one@\S+ \(pid \d+, operation apply\)/);

    const waiting = startCli(['apply', playbook, '-i', lab.inventoryFile, '--limit', host, '--yes', '--json', '-e', 'stamp=third', '--lock-wait', '90s'], { LANES_LOCK_HOLDER: 'apply-three' });
    const said = await waiting.waitFor((e) => e.type === 'message' && e.code === 'lease-wait');
    assert.match(String(said.text), /waiting up to \d+s for the lease held by apply-one@/);
    // The first apply may end now; the waiting one then takes the lease.
    await onHost(lab, host, `rm -f ${HOLD}`);
    const f = await first.done;
    assert.equal(f.code, 0, f.stdout + f.stderr);
    const w = await waiting.done;
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal((await onHost(lab, host, 'cat /var/tmp/lanes-e2e-lease-stamp')).trim(), 'third');
    assert.equal(await leaseOn(lab, host), '');
  });

  it('SIGTERM during an apply: the apply already running finishes, the lease is released, exit 143', async () => {
    await onHost(lab, host, `touch ${HOLD}`);
    const run = startCli(['apply', playbook, '-i', lab.inventoryFile, '--limit', host, '--yes', '--json', '-e', 'stamp=cancelled-apply'], { LANES_LOCK_HOLDER: 'apply-cancel' });
    await run.waitFor((e) => e.type === 'step-start' && e.host === host && String(e.step).startsWith('apply'));
    run.kill('SIGTERM');
    // Signalled while the apply runs on the host: let it finish now.
    await run.waitFor((e) => e.type === 'message' && e.code === 'cancel');
    await onHost(lab, host, `rm -f ${HOLD}`);
    const r = await run.done;
    assert.equal(r.code, 143, r.stdout.slice(-3000) + r.stderr);
    assert.ok(r.events.some((e) => e.type === 'message' && e.code === 'cancel'));
    assert.ok(r.events.some((e) => e.type === 'step-end' && e.host === host && e.step === 'release lease' && e.ok === true && e.detail === 'released'));
    assert.equal((await onHost(lab, host, 'cat /var/tmp/lanes-e2e-lease-stamp')).trim(), 'cancelled-apply', 'the running apply finished');
    assert.equal(await leaseOn(lab, host), '');
  });
});
