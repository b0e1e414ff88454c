// Release faults on one real lab host (lab2), through the real CLI, each checked on the host
// afterwards: a release naming a worker the host does not have and one whose artifact lacks the
// worker's script are refused in preflight with nothing touched (current, worker processes, no new
// release dir, no lock); a release failing its health gate (HTTP 500) is rolled back with the previous
// release live and served and exactly the workers that ran before running again on it; a drain
// failing on one worker still brings the others back. The host is left on a healthy release with its
// workers running and no lock. (Rollbacks, first releases and prune: rollback-faults.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { APP, FaultHost, site } from './support/faults.js';

const UNIT = 'lanes-e2e-stubborn.service';
const STUBBORN_CLEANUP = `systemctl stop ${UNIT} 2>/dev/null; pkill -KILL -f '^/bin/sh /usr/local/bin/lanes-e2e-stubborn'; rm -f /etc/systemd/system/${UNIT} /usr/local/bin/lanes-e2e-stubborn; systemctl daemon-reload; systemctl reset-failed ${UNIT} 2>/dev/null; true`;
const h = new FaultHost();

before(() => h.setup(1));
after(() => h.teardown([STUBBORN_CLEANUP]));

describe('release faults on a lab host', { concurrency: false }, () => {
  it('a release naming a worker the host does not have is refused in preflight, with nothing touched', async () => {
    const before = await h.workers();
    assert.equal(before.length, 3, before.join('\n'));
    const pb = h.playbook('missing-worker', [['supervisor: [app-queue]', 'supervisor: [app-queue, no-such-worker]']]);
    const v = h.variant('missing-worker');
    const r = await h.cli(['release', pb, '--artifact', v]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(h.failure(r.stdout + r.stderr), /preflight refused the release, nothing was changed: Supervisor has no program or group named no-such-worker/);
    assert.equal(await h.current(), `releases/${h.v1}`);
    assert.deepEqual(await h.workers(), before, 'the same worker processes, never stopped');
    assert.equal((await h.sh(`test -e ${APP}/releases/${await h.idOf(v)} && echo there || echo absent`)).trim(), 'absent', 'nothing uploaded');
    assert.equal(await h.locked(), false);
  });

  it('a release whose artifact lacks the script a worker runs is refused in preflight', async () => {
    const before = await h.workers();
    const v = h.variant('no-worker-script', {}, ['worker.php']);
    const r = await h.cli(['release', site, '--artifact', v]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const id = await h.idOf(v);
    assert.match(h.failure(r.stdout + r.stderr), new RegExp(`worker app-queue runs ${APP}/current/worker\\.php, which release ${id} does not contain`));
    assert.equal(await h.current(), `releases/${h.v1}`);
    assert.deepEqual(await h.workers(), before);
    assert.equal((await h.sh(`test -e ${APP}/releases/${id} && echo there || echo absent`)).trim(), 'absent');
    assert.equal(await h.locked(), false);
  });

  it('a release failing its health gate is rolled back: previous current live and served, the same workers running on it', async () => {
    const r = await h.cli(['release', h.fast, '--artifact', h.variant('broken', { BROKEN: 'yes\n' })]);
    await h.assertGateRolledBack(r, h.v1);
    assert.equal(await h.locked(), false);
  });

  it('a drain failing on one worker: the other workers are running again afterwards', async () => {
    await h.sh(
      [
        // A worker that ignores TERM under KillMode=none: `systemctl stop` leaves it running.
        `printf '%s\\n' '#!/bin/sh' "trap '' TERM" 'while :; do sleep 1; done' > /usr/local/bin/lanes-e2e-stubborn && chmod 0755 /usr/local/bin/lanes-e2e-stubborn`,
        `printf '%s\\n' '[Service]' 'ExecStart=/usr/local/bin/lanes-e2e-stubborn' 'WorkingDirectory=${APP}/current' 'KillMode=none' > /etc/systemd/system/${UNIT}`,
        `systemctl daemon-reload && systemctl start ${UNIT}`,
      ].join('\n'),
    );
    const pb = h.playbook('stubborn', [['systemd: [app-scheduler]', `systemd: [app-scheduler, ${UNIT}]`]]);
    const r = await h.cli(['release', pb, '--artifact', h.variant('v-stubborn')]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const unit = UNIT.replace('.', '\\.');
    assert.match(
      h.failure(r.stdout + r.stderr),
      new RegExp(`drain workers: .*${unit} is inactive but pid \\d+ .* still running — current was never switched, app-queue, app-scheduler\\.service, ${unit} running again`),
    );
    assert.equal(await h.current(), `releases/${h.v1}`);
    await h.assertWorkersOn(h.v1);
    assert.match(await h.sh("supervisorctl status 'app-queue:*'; systemctl is-active app-scheduler"), /RUNNING[\s\S]*RUNNING[\s\S]*^active$/m);
    await h.sh(STUBBORN_CLEANUP);
  });
});
