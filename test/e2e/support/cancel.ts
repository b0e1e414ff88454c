/**
 * Shared by the release-cancel tests: 3 lab hosts provisioned with site.yml and on a first release
 * (v1), and `cancelAt`, which releases v2 under HTTP load, signals lanes when a given event comes,
 * and checks the outcome: the exit code, no failed request, one state line per host, and every host
 * on the release its state names, serving it, workers running on it, no job killed, no lease left.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readArtifact } from '../../../agent/rollout/artifact.js';
import { runCli } from '../../support/cli.js';
import { repoRoot } from '../../support/paths.js';
import { assertHostSound, jobsLogLength } from './fleet-checks.js';
import { ensureLab, type EnsuredLab } from './lab.js';
import { startLoad } from './load.js';
import { copySampleApp, ONE_BATCH } from './sample-app.js';
import { hostStates, provision, startCli, type CliEvent } from './spawn.js';

export const site = path.join(repoRoot, 'playbooks', 'site.yml');

export interface CancelFixture {
  lab: EnsuredLab;
  names: string[];
  limit: string;
  id1: string;
  id2: string;
  v2: string;
  jobsFrom: Map<string, number>;
}

export async function cancelFixture(prefix: string): Promise<CancelFixture> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `lanes-e2e-${prefix}-`));
  // The sample's 3 s jobs: the signal sent when a drain starts must find a job still in flight.
  const variant = (name: string) => copySampleApp(path.join(tmp, name), { version: `${prefix}-${name}`, jobSeconds: 3 });
  const lab = await ensureLab(3);
  const names = lab.hosts.slice(0, 3).map((h) => h.name);
  const limit = names.join(':');
  await provision(limit);
  const v1 = variant('v1');
  const v2 = variant('v2');
  const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v1, ...ONE_BATCH]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const jobsFrom = new Map(await Promise.all(names.map(async (h) => [h, await jobsLogLength(lab, h)] as const)));
  return { lab, names, limit, id1: (await readArtifact(v1)).id, id2: (await readArtifact(v2)).id, v2, jobsFrom };
}

/** Release v2 under load, send `signal` when `when` matches an event, and check every host after. */
export async function cancelAt(f: CancelFixture, signal: 'SIGTERM' | 'SIGINT', when: (e: CliEvent) => boolean, expected: Record<string, string>): Promise<void> {
  const load = startLoad(f.lab.hosts.slice(0, 3).map((h) => h.address), { concurrency: 3, path: '/?work=50' });
  const run = startCli(['release', site, '-i', f.lab.inventoryFile, '--limit', f.limit, '--artifact', f.v2, '--serial', '1', '--json'], { LANES_LOCK_HOLDER: 'cancel-test' });
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
  assert.deepEqual(Object.fromEntries(hostStates(r.events)), expected, out);
  await Promise.all(f.names.map((h) => assertHostSound(f.lab, h, expected[h]!.includes(f.id2) ? f.id2 : f.id1, f.jobsFrom.get(h))));
}
