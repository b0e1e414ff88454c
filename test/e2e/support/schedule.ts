/**
 * The order e2e files run in when several labs run them at once: longest first (LPT), each file going
 * to whichever lab frees up next. Starting the long files first keeps one long file from starting
 * last and running alone while the other labs sit idle.
 */
import path from 'node:path';

/**
 * Seconds per e2e file, for the order only (longest first): one run of the suite on the shared 2-core
 * machine, 3 labs at once, 2026-11-28 (load average 5-10 from other work). Refresh from the table a
 * run prints at its end when a file grows or shrinks a lot.
 */
export const MEASURED_SECONDS: Readonly<Record<string, number>> = {
  'release.test.js': 188,
  'rollback-faults.test.js': 82,
  'release-lease.test.js': 108,
  'release-cancel-switch.test.js': 100,
  'reconcile.test.js': 198,
  'apply-faults.test.js': 89,
  'release-cancel.test.js': 98,
  'release-faults.test.js': 64,
  'lease.test.js': 59,
  'rollout-steps.test.js': 46,
  'transport.test.js': 30,
  'lab.test.js': 33,
  'cli-errors.test.js': 44,
  'rollout-blocks.test.js': 5,
  'remote-hardening.test.js': 71,
  'secrets.test.js': 137,
  'plan-integrity.test.js': 40,
  'ssh-config.test.js': 32,
  'hostile-templates.test.js': 29,
  'vault.test.js': 22,
  'release-git.test.js': 38,
  'run-command.test.js': 29,
  'releases-history.test.js': 151,
  'release-app.test.js': 54,
  'release-notify.test.js': 120,
  'release-hooks.test.js': 234,
  'release-config.test.js': 160,
  'ansible-inventory-sources.test.js': 15,
  'bastion.test.js': 20,
  'release-artifact-url.test.js': 45,
};

/** A file not in the table (a new one): assumed mid-sized, so it neither starts last nor delays the long ones. */
export const UNKNOWN_SECONDS = 45;

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
