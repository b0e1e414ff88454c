// The lease of a release on 3 lab hosts: an apply while a release runs is refused naming the
// release's holder; a controller killed with SIGKILL mid-release leaves its lease, which blocks the
// hosts only until its (short) TTL ends — the next release waits for it (--lock-wait), takes over,
// reports whose lease it took, and brings every host to the new release with its workers.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { assertHostSound, jobsLogLength, leaseOn } from './support/fleet-checks.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { provision, startCli } from './support/spawn.js';
import { copySampleApp, ONE_BATCH } from './support/sample-app.js';

const site = path.join(repoRoot, 'playbooks', 'site.yml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-release-lease-'));
let lab: EnsuredLab;
let limit: string;
let names: string[];
const jobsFrom = new Map<string, number>();

function variant(name: string): string {
  // The sample's 3 s jobs: the first test's apply must find the release still running (draining).
  return copySampleApp(path.join(tmp, name), { version: name, jobSeconds: 3 });
}

before(async () => {
  lab = await ensureLab(3);
  names = lab.hosts.slice(0, 3).map((h) => h.name);
  limit = names.join(':');
  await provision(limit);
  for (const h of names) jobsFrom.set(h, await jobsLogLength(lab, h));
});

describe('the lease of a release', { concurrency: false }, () => {
  it('an apply while a release runs is refused, naming the release and its holder', async () => {
    const v1 = variant('l1');
    const release = startCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v1, '--json'], { LANES_LOCK_HOLDER: 'release-pipeline' });
    await release.waitFor((e) => e.type === 'step-start' && String(e.step).startsWith('upload '));
    const apply = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', limit, '--yes']);
    assert.equal(apply.code, 1, apply.stdout + apply.stderr);
    assert.match(apply.stdout + apply.stderr, /host locked by release-pipeline@\S+ \(pid \d+, operation release\)/);
    const r = await release.done;
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
    const id = (await readArtifact(v1)).id;
    await Promise.all(names.map((h) => assertHostSound(lab, h, id, jobsFrom.get(h))));
  });

  it('SIGKILL mid-release: the lease stays, expires within its TTL, and the next release takes over naming the previous holder', async () => {
    const v2 = variant('l2');
    const id2 = (await readArtifact(v2)).id;
    const killed = startCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v2, '--serial', '1', '--lock-ttl', '40s', '--json'], {
      LANES_LOCK_HOLDER: 'killed-pipeline',
    });
    await killed.waitFor((e) => e.type === 'step-start' && e.step === 'drain workers');
    killed.kill('SIGKILL');
    const k = await killed.done;
    assert.equal(k.signal, 'SIGKILL');
    // The hosts at once: the dead run's lease expires 40 s after its last renewal (renewed every third of
    // that), and the two runs below must reach the hosts before: at 20 s a loaded machine did not.
    await Promise.all(names.map(async (h) => assert.match(await leaseOn(lab, h), /"holder":"killed-pipeline".*"operation":"release"/, `${h}: the dead run's lease is still there`)));

    // Both started at once, while the dead run's lease is still valid (one after the other, a loaded
    // machine let the lease expire before the second started: nothing was left to wait for).
    // Without --lock-wait: refused, naming the dead run's lease. With it: the lease expires (40 s, no
    // heartbeat any more) and is taken over, reported.
    const [refused, retry] = await Promise.all([
      runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v2], { env: { LANES_LOCK_HOLDER: 'retry-pipeline' } }),
      runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v2, '--lock-wait', '90s', ...ONE_BATCH], { env: { LANES_LOCK_HOLDER: 'retry-pipeline' } }),
    ]);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stdout + refused.stderr, /host locked by killed-pipeline@/);

    assert.equal(retry.code, 0, retry.stdout + retry.stderr);
    assert.match(retry.stderr, /waiting up to \d+s for the lease held by killed-pipeline@/);
    for (const h of names) assert.match(retry.stderr, new RegExp(`\\[${h}\\] warn: took over an expired lease of killed-pipeline@\\S+ \\(pid \\d+, operation release\\) since `));
    await Promise.all(names.map((h) => assertHostSound(lab, h, id2, jobsFrom.get(h))));
  });
});
