// A CI cancel (SIGTERM) or a Ctrl-C (SIGINT) of `lanes release` at several steps, under HTTP load on
// 3 lab hosts: no failed request, no job killed, every host on exactly one release (old or new) and
// serving it, workers running, no lease left, a non-zero exit and one state line per host. A second
// signal exits at once, naming what may be left.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { assertHostSound, currentOf, jobsLogLength, leaseOn } from './support/fleet-checks.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { startLoad } from './support/load.js';
import { hostStates, provision, startCli, type CliEvent } from './support/spawn.js';

const site = path.join(repoRoot, 'playbooks', 'site.yml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-cancel-'));
let lab: EnsuredLab;
let limit: string;
let names: string[];
let id1: string;
let id2: string;
let v2: string;
const jobsFrom = new Map<string, number>();

function variant(name: string): string {
  const dir = path.join(tmp, name);
  cpSync(path.join(repoRoot, 'playbooks', 'sample-app'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'VERSION'), `${name}\n`);
  return dir;
}

before(async () => {
  lab = await ensureLab(3);
  names = lab.hosts.slice(0, 3).map((h) => h.name);
  limit = names.join(':');
  await provision(limit);
  const v1 = variant('c1');
  v2 = variant('c2');
  id1 = (await readArtifact(v1)).id;
  id2 = (await readArtifact(v2)).id;
  const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v1]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const h of names) jobsFrom.set(h, await jobsLogLength(lab, h));
});

/** Release v2 under load, send `signal` when `when` matches an event, and check every host after. */
async function cancelAt(signal: 'SIGTERM' | 'SIGINT', when: (e: CliEvent) => boolean, expected: Record<string, string>) {
  const load = startLoad(lab.hosts.slice(0, 3).map((h) => h.address), { concurrency: 3, path: '/?work=50' });
  const run = startCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v2, '--serial', '1', '--json'], { LANES_LOCK_HOLDER: 'cancel-test' });
  await run.waitFor(when);
  run.kill(signal);
  const r = await run.done;
  const traffic = await load.stop();
  const out = `${r.stdout.slice(-4000)}\n${r.stderr}`;
  assert.equal(r.code, signal === 'SIGTERM' ? 143 : 130, out);
  assert.ok(
    r.events.some((e) => e.type === 'message' && e.code === 'cancel'),
    'the cancel is announced',
  );
  assert.deepEqual(traffic.bad, [], `every request answered 2xx: ${JSON.stringify(traffic.byStatus)} ${traffic.errors.slice(0, 3).join('; ')}`);
  assert.ok(traffic.requests > 20, `load ran: ${traffic.requests}`);
  const states = hostStates(r.events);
  assert.deepEqual(Object.fromEntries(states), expected, out);
  await Promise.all(names.map((h) => assertHostSound(lab, h, expected[h]!.includes(id2) ? id2 : id1, jobsFrom.get(h))));
}

describe('lanes release cancelled by a signal', { concurrency: false }, () => {
  it('SIGTERM during the upload: no host switches, all stay on the old release', async () => {
    await cancelAt('SIGTERM', (e) => e.type === 'step-start' && String(e.step).startsWith('upload '), {
      [names[0]!]: `untouched (on ${id1})`,
      [names[1]!]: `untouched (on ${id1})`,
      [names[2]!]: `untouched (on ${id1})`,
    });
  });

  it('SIGINT during the first host\'s drain: the drain finishes (no job killed), its workers start again on the old release', async () => {
    await cancelAt('SIGINT', (e) => e.type === 'step-start' && e.step === 'drain workers' && e.host === names[0], {
      [names[0]!]: `rolled back to ${id1}`,
      [names[1]!]: `untouched (on ${id1})`,
      [names[2]!]: `untouched (on ${id1})`,
    });
  });

  it('SIGTERM right after the switch (during the reload): the host is rolled back before its health gate', async () => {
    await cancelAt('SIGTERM', (e) => e.type === 'step-start' && e.step === 'reload php-fpm' && e.host === names[0], {
      [names[0]!]: `rolled back to ${id1}`,
      [names[1]!]: `untouched (on ${id1})`,
      [names[2]!]: `untouched (on ${id1})`,
    });
  });

  it('SIGTERM once the host passed its health gate: it finishes on the new release, the later batch stays untouched', async () => {
    await cancelAt('SIGTERM', (e) => e.type === 'step-start' && e.step === 'start workers' && e.host === names[0], {
      [names[0]!]: `on ${id2}`,
      [names[1]!]: `untouched (on ${id1})`,
      [names[2]!]: `untouched (on ${id1})`,
    });
  });

  it('a second signal exits at once, naming the host mid-step and the lease expiry; --break-lock recovers', async () => {
    const run = startCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v2, '--serial', '1', '--json'], { LANES_LOCK_HOLDER: 'double-cancel' });
    // The first host is already on v2 ("already live"): the first drain is the second host's.
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
    await Promise.all(names.map(async (h) => assertHostSound(lab, h, await currentOf(lab, h), jobsFrom.get(h))));
  });
});
