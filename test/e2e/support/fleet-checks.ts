/** What must hold on the release hosts after any run, however it ended (used by the cancel/lease tests). */
import assert from 'node:assert/strict';
import type { EnsuredLab } from './lab.js';
import { onHost } from './remote.js';

export const APP = '/var/www/app';
export const LEASE = '/var/lib/lanes/lease';

export async function currentOf(lab: EnsuredLab, host: string): Promise<string> {
  return (await onHost(lab, host, `readlink ${APP}/current`)).trim().replace(/^releases\//, '');
}

export async function served(address: string): Promise<string> {
  const res = await fetch(`http://${address}/`);
  return ((await res.json()) as { release: string }).release;
}

/** The lease file's content on a host, or '' when there is none. */
export async function leaseOn(lab: EnsuredLab, host: string): Promise<string> {
  return (await onHost(lab, host, `cat ${LEASE} 2>/dev/null || true`)).trim();
}

/**
 * On `host`: `current` is `release` and Nginx serves it; the queue workers and the scheduler run,
 * all of them on it; no lease left; and no job was killed — a job without its finish line belongs
 * to a worker process that is still running it (jobs logged from line `jobsFrom` on: earlier test
 * files may have killed workers on purpose).
 */
export async function assertHostSound(lab: EnsuredLab, host: string, release: string, jobsFrom = 0): Promise<void> {
  const address = lab.hosts.find((h) => h.name === host)!.address;
  // One exec for every check (connections cost more than the checks): sections split by @@.
  const out = await onHost(
    lab,
    host,
    [
      `readlink ${APP}/current`,
      'echo @@',
      "supervisorctl status 'app-queue:*' || true; systemctl is-active app-scheduler || true",
      'echo @@',
      `for p in $(pgrep -f '^/usr/bin/php .*/(worker|scheduler)\\.php'); do readlink /proc/$p/cwd; done | sort -u`,
      'echo @@',
      `cat ${LEASE} 2>/dev/null || true`,
      'echo @@',
      `awk -v from=${jobsFrom} 'NR > from && $1 == "start" { s[$2] = 1 } $1 == "finish" { delete s[$2] } END { for (j in s) print j }' ${APP}/shared/storage/jobs.log 2>/dev/null | while read -r j; do p=$(echo "$j" | cut -d- -f2); [ -d /proc/$p ] || echo "$j"; done`,
    ].join('\n'),
  );
  const [current = '', status = '', cwds = '', lease = '', killed = ''] = out.split('@@\n');
  assert.equal(current.trim().replace(/^releases\//, ''), release, `${host}: current`);
  assert.equal(await served(address), release, `${host}: Nginx serves ${release}`);
  assert.equal((status.match(/RUNNING/g) ?? []).length, 2, `${host}: both queue workers run: ${status}`);
  assert.match(status, /^active$/m, `${host}: the scheduler runs: ${status}`);
  assert.equal(cwds.trim(), `${APP}/releases/${release}`, `${host}: every worker runs ${release}`);
  assert.equal(lease.trim(), '', `${host}: no lease left`);
  assert.equal(killed.trim(), '', `${host}: jobs started but never finished by a worker that is gone (killed)`);
}

/** How many lines the shared jobs log has now (see assertHostSound). */
export async function jobsLogLength(lab: EnsuredLab, host: string): Promise<number> {
  return Number((await onHost(lab, host, `cat ${APP}/shared/storage/jobs.log 2>/dev/null | wc -l`)).trim()) || 0;
}
