// lanes release end to end on 3 lab hosts provisioned by playbooks/site.yml, through the real CLI:
// zero failed requests under load during a rolling release, no job killed, a broken release rolled
// back on the first host with the others untouched, a concurrent release refused by the lock.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { startLoad } from './support/load.js';
import { onHost } from './support/remote.js';
import { startCli } from './support/spawn.js';
import { sitePlaybook } from './support/faults.js';
import { copySampleApp, ONE_BATCH } from './support/sample-app.js';

const site = path.join(repoRoot, 'playbooks', 'site.yml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-release-'));
let lab: EnsuredLab;
let limit: string;

/** A copy of the sample app with one extra file, so each variant is a distinct release. */
function variant(name: string, extra: Record<string, string> = {}): string {
  return copySampleApp(path.join(tmp, name), { version: name, extra });
}

async function served(address: string): Promise<string> {
  const res = await fetch(`http://${address}/`);
  return ((await res.json()) as { release: string }).release;
}

async function currentOf(host: string): Promise<string> {
  return (await onHost(lab, host, 'readlink /var/www/app/current')).trim();
}

/** Jobs recorded by the sample workers: every job a given release started must have finished. */
async function unfinishedJobs(host: string, release: string): Promise<{ started: number; kinds: string[]; unfinished: string[] }> {
  const log = await onHost(lab, host, 'cat /var/www/app/shared/storage/jobs.log 2>/dev/null || true');
  const started = new Map<string, boolean>();
  for (const line of log.split('\n')) {
    const [what, job, rel] = line.split(' ');
    if (rel !== release || !job) continue;
    if (what === 'start') started.set(job, false);
    if (what === 'finish') started.set(job, true);
  }
  const kinds = [...new Set([...started.keys()].map((j) => j.split('-')[0]!))].sort();
  return { started: started.size, kinds, unfinished: [...started].filter(([, done]) => !done).map(([j]) => j) };
}

before(async () => {
  lab = await ensureLab(3);
  limit = lab.hosts.slice(0, 3).map((h) => h.name).join(':');
  const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', limit, '--yes']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

describe('lanes release', { concurrency: false }, () => {
  const v1 = variant('v1');
  const v2 = variant('v2');

  it('--dry-run prints batches and steps and touches nothing', async () => {
    const before = await Promise.all(lab.hosts.slice(0, 3).map((h) => currentOf(h.name)));
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v1, '--dry-run']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const id = (await readArtifact(v1)).id;
    assert.match(r.stdout, new RegExp(`release ${id} to 3 hosts in 2 batches`));
    assert.match(r.stdout, /batch 1: lab1\nbatch 2: lab2, lab3/);
    assert.match(r.stdout, /drain workers: supervisor app-queue, systemd app-scheduler\.service/);
    assert.deepEqual(await Promise.all(lab.hosts.slice(0, 3).map((h) => currentOf(h.name))), before);
  });

  it('ships a release host by host under steady load with zero failed requests and no job killed', async () => {
    // First release: from the bootstrap placeholder to v1 (in one batch: the release under test is the next one).
    const first = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v1, ...ONE_BATCH]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const id1 = (await readArtifact(v1)).id;
    // Let the v1 workers start some jobs, so the next release has jobs in flight to wait for.
    await new Promise((r) => setTimeout(r, 2500));

    const load = startLoad(lab.hosts.slice(0, 3).map((h) => h.address), { concurrency: 4, path: '/?work=100' });
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v2, '--serial', '1']);
    const result = await load.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(result.requests > 100, `enough load: ${result.requests} requests`);
    assert.deepEqual(result.bad, [], `every request answered 2xx: ${JSON.stringify(result.byStatus)} ${result.errors.slice(0, 5).join('; ')}`);

    const id2 = (await readArtifact(v2)).id;
    await Promise.all(lab.hosts.slice(0, 3).map(async (h) => {
      assert.equal(await served(h.address), id2, `${h.name} serves the new release`);
      assert.equal(await currentOf(h.name), `releases/${id2}`);
      const jobs = await unfinishedJobs(h.name, id1);
      assert.ok(jobs.started > 0, `${h.name}: the v1 workers ran jobs`);
      assert.deepEqual(jobs.kinds, ['queue', 'scheduler'], `${h.name}: jobs from the Supervisor worker and the systemd one`);
      assert.deepEqual(jobs.unfinished, [], `${h.name}: every job v1 started finished`);
    }));
    const workers = await onHost(lab, lab.hosts[0]!.name, `for p in $(pgrep -f '^/usr/bin/php .*/(worker|scheduler)\\.php'); do readlink /proc/$p/cwd; done | sort -u`);
    assert.equal(workers.trim(), `/var/www/app/releases/${id2}`, 'every worker runs the new release');
  });

  it('re-running the live release changes nothing', async () => {
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v2]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /already live/);
  });

  it('a release failing the health gate on the first host is rolled back there; the others never switch', async () => {
    const live = (await readArtifact(v2)).id;
    const broken = variant('broken', { BROKEN: 'yes\n' });
    const r = await runCli(['release', sitePlaybook(path.join(tmp, 'pb-fast')), '-i', lab.inventoryFile, '--limit', limit, '--artifact', broken, '--serial', '1']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const first = lab.hosts[0]!.name;
    assert.match(r.stdout, new RegExp(`FAILED ${first}: health gate: .*500.*rolled back to releases?/?${live}|FAILED ${first}: health gate: .*rolled back to ${live}`));
    for (const h of lab.hosts.slice(0, 3)) {
      assert.equal(await currentOf(h.name), `releases/${live}`, `${h.name} is on the live release`);
      assert.equal(await served(h.address), live);
    }
    assert.match(r.stdout, /stopped/);
  });

  it('a second release while one runs is refused, naming the lock holder', async () => {
    const v3 = variant('v3');
    // The second starts once the first holds every host (its upload started): after a fixed 1.5 s, a
    // loaded machine had not started the first yet and the second took some of the hosts.
    const running = startCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v3, '--json', ...ONE_BATCH], { LANES_LOCK_HOLDER: 'first-pipeline' });
    await running.waitFor((e) => e.type === 'step-start' && String(e.step).startsWith('upload '));
    const second = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v3], { env: { LANES_LOCK_HOLDER: 'second-pipeline' } });
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(second.stdout + second.stderr, /locked by first-pipeline/);
    const done = await running.done;
    assert.equal(done.code, 0, done.stdout.slice(-3000) + done.stderr);
  });

  it('lanes drain stops the workers gracefully and lanes undrain starts them on the live release', async () => {
    const host = lab.hosts[0]!;
    const d = await runCli(['drain', site, '-i', lab.inventoryFile, '--limit', host.name]);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.match(await onHost(lab, host.name, "supervisorctl status 'app-queue:*'; systemctl is-active app-scheduler || true"), /STOPPED[\s\S]*STOPPED[\s\S]*inactive/);
    const u = await runCli(['undrain', site, '-i', lab.inventoryFile, '--limit', host.name]);
    assert.equal(u.code, 0, u.stdout + u.stderr);
    const live = (await currentOf(host.name)).replace('releases/', '');
    assert.match(u.stdout, /app-queue.*running/);
    const cwd = await onHost(lab, host.name, `for p in $(pgrep -f '^/usr/bin/php .*/(worker|scheduler)\\.php'); do readlink /proc/$p/cwd; done | sort -u`);
    assert.equal(cwd.trim(), `/var/www/app/releases/${live}`);
  });

  it('lanes rollback goes back to the previous release', async () => {
    const v3 = (await readArtifact(path.join(tmp, 'v3'))).id;
    const v2id = (await readArtifact(v2)).id;
    assert.equal(await currentOf(lab.hosts[0]!.name), `releases/${v3}`);
    const r = await runCli(['rollback', site, '-i', lab.inventoryFile, '--limit', limit, ...ONE_BATCH]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const h of lab.hosts.slice(0, 3)) assert.equal(await served(h.address), v2id);
  });
});
