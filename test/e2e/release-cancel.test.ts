// A CI cancel (SIGTERM) or a Ctrl-C (SIGINT) of `lanes release` before any switch, under HTTP load
// on 3 lab hosts: no failed request, no job killed, every host on exactly one release and serving
// it, workers running, no lease left, a non-zero exit and one state line per host. A second signal
// exits at once, naming what may be left; --break-lock recovers. (After a switch:
// release-cancel-switch.test.ts.)
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { cancelAt, cancelFixture, site, type CancelFixture } from './support/cancel.js';
import { assertHostSound, currentOf, leaseOn } from './support/fleet-checks.js';
import { startCli } from './support/spawn.js';

let f: CancelFixture;

before(async () => {
  f = await cancelFixture('cancel');
});

describe('lanes release cancelled by a signal before a switch', { concurrency: false }, () => {
  it('SIGTERM during the upload: no host switches, all stay on the old release', async () => {
    await cancelAt(f, 'SIGTERM', (e) => e.type === 'step-start' && String(e.step).startsWith('upload '), {
      [f.names[0]!]: `untouched (on ${f.id1})`,
      [f.names[1]!]: `untouched (on ${f.id1})`,
      [f.names[2]!]: `untouched (on ${f.id1})`,
    });
  });

  it("SIGINT during the first host's drain: the drain finishes (no job killed), its workers start again on the old release", async () => {
    await cancelAt(f, 'SIGINT', (e) => e.type === 'step-start' && e.step === 'drain workers' && e.host === f.names[0], {
      [f.names[0]!]: `rolled back to ${f.id1}`,
      [f.names[1]!]: `untouched (on ${f.id1})`,
      [f.names[2]!]: `untouched (on ${f.id1})`,
    });
  });

  it('a second signal exits at once, naming the host mid-step and the lease expiry; --break-lock recovers', async () => {
    const { lab, limit, names } = f;
    const run = startCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', f.v2, '--serial', '1', '--json'], { LANES_LOCK_HOLDER: 'double-cancel' });
    await run.waitFor((e) => e.type === 'step-start' && e.step === 'drain workers');
    run.kill('SIGTERM');
    await run.waitFor((e) => e.type === 'message' && e.code === 'cancel');
    run.kill('SIGTERM');
    const r = await run.done;
    assert.equal(r.code, 143, r.stderr);
    assert.match(r.stderr, /SIGTERM again: exiting now\. Hosts mid-step, possibly left half-way: .*\(drain workers\)/);
    assert.match(r.stderr, /expire within 120s/);
    assert.match(await leaseOn(lab, names[1]!), /"holder":"double-cancel"/, 'the lease stays until it expires');

    const refused = await runCli(['undrain', site, '-i', lab.inventoryFile, '--limit', limit]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout + refused.stderr, /locked by double-cancel@/);
    const fixed = await runCli(['undrain', site, '-i', lab.inventoryFile, '--limit', limit, '--break-lock']);
    assert.equal(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.match(fixed.stderr, /--break-lock removed the lease of double-cancel@/);
    await Promise.all(names.map(async (h) => assertHostSound(lab, h, await currentOf(lab, h), f.jobsFrom.get(h))));
  });
});
