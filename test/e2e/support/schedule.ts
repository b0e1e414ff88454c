/**
 * The order e2e files run in when several labs run them at once: longest first (LPT), each file going
 * to whichever lab frees up next. Starting the long files first keeps one long file from starting
 * last and running alone while the other labs sit idle.
 */
import path from 'node:path';

/**
 * Seconds per e2e file, for the order only (longest first). Measured 2026-11-28 on the shared 2-core
 * machine, 3 labs at once, while other work loaded it (load average 17-30, so about twice CI's
 * figures): every file in one run of the suite; the files whose tests changed since (the releases
 * with 1 s jobs and one batch, lease.test's hold file) from a second run, scaled down by how much
 * slower the unchanged files ran in it (1.77x). Refresh from the table a run prints at its end when a
 * file grows or shrinks a lot.
 */
export const MEASURED_SECONDS: Readonly<Record<string, number>> = {
  'release.test.js': 255,
  'rollback-faults.test.js': 220,
  'release-lease.test.js': 110,
  'release-cancel-switch.test.js': 155,
  'reconcile.test.js': 276,
  'apply-faults.test.js': 202,
  'release-cancel.test.js': 142,
  'release-faults.test.js': 95,
  'lease.test.js': 89,
  'rollout-steps.test.js': 69,
  'transport.test.js': 93,
  'lab.test.js': 50,
  'cli-errors.test.js': 104,
  'rollout-blocks.test.js': 16,
  'remote-hardening.test.js': 203,
  'secrets.test.js': 184,
  'plan-integrity.test.js': 83,
  'ssh-config.test.js': 51,
  'hostile-templates.test.js': 79,
  'vault.test.js': 75,
  'release-git.test.js': 54,
  'run-command.test.js': 46,
  'releases-history.test.js': 245,
  'release-app.test.js': 161,
  'release-notify.test.js': 225,
  'release-hooks.test.js': 284,
  'release-config.test.js': 268,
  'ansible-inventory-sources.test.js': 32,
};

/** A file not in the table (a new one): assumed mid-sized, so it neither starts last nor delays the long ones. */
export const UNKNOWN_SECONDS = 90;

export function estimatedSeconds(file: string): number {
  return MEASURED_SECONDS[path.basename(file)] ?? UNKNOWN_SECONDS;
}

/** Longest estimate first; ties in path order, so the order is the same on every run. */
export function longestFirst(files: readonly string[], estimate: (file: string) => number = estimatedSeconds): string[] {
  return [...files].sort((a, b) => estimate(b) - estimate(a) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Run `queue` (already in order) on `workers`: each worker starts when `ready(worker)` resolves
 * (its lab is up; a rejection means that worker never takes a file), then takes the next file
 * whenever it is free, until the queue is empty or `stopped()` says so. Resolves once every
 * started file has finished; files never started are returned in `notRun`.
 */
export async function runOnWorkers<W, R>(
  queue: readonly string[],
  workers: readonly W[],
  ready: (worker: W) => Promise<void>,
  runOne: (file: string, worker: W) => Promise<R>,
  stopped: () => boolean = () => false,
): Promise<{ results: Map<string, R>; notRun: string[] }> {
  const pending = [...queue];
  const results = new Map<string, R>();
  await Promise.all(
    workers.map(async (worker) => {
      try {
        await ready(worker);
      } catch {
        return; // the caller reports why this worker could not start
      }
      for (let file = pending.shift(); file !== undefined; file = pending.shift()) {
        if (stopped()) {
          pending.unshift(file);
          return;
        }
        results.set(file, await runOne(file, worker));
      }
    }),
  );
  return { results, notRun: pending };
}
