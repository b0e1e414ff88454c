// Rollbacks on one real lab host (lab3), through the real CLI, checked on the host afterwards: a first
// release failing its gate leaves no `current` and starts nothing on the failed code; prune keeps the
// live and the previous release even when newer releases never went live, and `lanes rollback` then
// goes back, preflighted and health-gated; a rollback whose target fails the gate is itself rolled
// back and reported. The host is left on a healthy release, workers running, no lock.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { APP, FaultHost } from './support/faults.js';

const FRESH = '/var/www/lanes-e2e-fresh';
const FAKES = ['r0000e2e0001', 'r0000e2e0002'];
const h = new FaultHost();

before(() => h.setup(2));
after(() => h.teardown([`rm -rf ${FRESH} ${FAKES.map((f) => `${APP}/releases/${f}`).join(' ')}`]));

describe('rollbacks on a lab host', { concurrency: false }, () => {
  it('a first release failing its gate leaves no current and starts nothing on the failed code', async () => {
    const before = await h.workers();
    // Shared storage as site.yml's directories: declare it (never applied to this root): the once hook,
    // the migration, writes there as the hook user before the health gate is reached.
    await h.sh(`install -d -o queueuser -g app -m 2775 ${FRESH}/shared/storage`);
    const r = await h.cli(['release', h.fast, '-e', `app_root=${FRESH}`, '--artifact', h.variant('fresh-broken', { BROKEN: 'yes\n' })]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(h.failure(r.stdout + r.stderr), /health gate: .* — current removed again \(there was no release before\), php-fpm reloaded, app-queue, app-scheduler\.service running again/);
    assert.equal(await h.current(FRESH), 'none');
    const w = await h.workers();
    assert.equal(w.length, before.length, w.join('\n'));
    assert.ok(w.every((l) => !l.includes(FRESH)), `no worker runs the failed code: ${w.join('\n')}`);
    await h.assertWorkersOn(h.v1);
  });

  it('prune keeps the live and the previous release even when newer ones never went live; lanes rollback then goes back, health-gated', async () => {
    // Two releases unpacked after v1 that never went live (as failed releases leave): by date alone,
    // keep: 2 would drop v1 — the release `lanes rollback` needs.
    await h.sh(FAKES.map((f) => `mkdir -p ${APP}/releases/${f} && printf 'id=${f}\\nsha256=-\\ndate=2099-01-01T00:00:00.000Z\\n' > ${APP}/releases/${f}/.lanes-release`).join('\n'));
    const pb = h.playbook('keep2', [['keep: 5', 'keep: 2']]);
    const v2 = h.variant('v2');
    const r = await h.cli(['release', pb, '--artifact', v2]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const id2 = await h.idOf(v2);
    const left = (await h.sh(`ls ${APP}/releases`)).split('\n').filter((l) => /^r[0-9a-f]{12}$/.test(l) || FAKES.includes(l));
    assert.deepEqual(left.sort(), [...FAKES, h.v1, id2].sort(), 'the two newest, the live one and the one live before it');

    const back = await h.cli(['rollback', pb]);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assert.match(back.stdout + back.stderr, new RegExp(`${h.host}\\] preflight ok`));
    assert.match(back.stdout + back.stderr, new RegExp(`${h.host}\\] health gate ok`));
    assert.equal(await h.current(), `releases/${h.v1}`);
    assert.equal(await h.served(), h.v1);
    await h.assertWorkersOn(h.v1);
    assert.equal(await h.locked(), false);
  });

  it('a rollback whose target fails the health gate is rolled back to the live release and reported', async () => {
    const id2 = await h.idOf(path.join(h.tmp, 'v2'));
    await h.sh(`touch ${APP}/releases/${id2}/BROKEN`);
    const r = await h.cli(['rollback', h.fast, '--to', id2]);
    await h.sh(`rm -f ${APP}/releases/${id2}/BROKEN`);
    await h.assertGateRolledBack(r, h.v1);
  });
});
