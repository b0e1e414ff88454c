/**
 * The order e2e files run in when several labs run them at once: longest first (LPT), each file going
 * to whichever lab frees up next. Starting the long files first keeps one long file from starting
 * last and running alone while the other labs sit idle.
 */
import path from 'node:path';

/**
 * Seconds each e2e file took on a 2-core CI machine, one lab, one file at a time (the last four scaled
 * from a parallel run on a loaded machine) — only their order matters. Refresh from the table a run prints at its end when a file grows or shrinks a lot.
 */
// Seconds per file, measured in one full run with 3 labs at once on 2 cores (2026-11-28; releases-history
// and release.test have since lost 25 s each: their failing release fails a 5 s health gate, not 30 s).
export const MEASURED_SECONDS: Readonly<Record<string, number>> = {
  'release.test.js': 273,
  'rollback-faults.test.js': 87,
  'release-lease.test.js': 109,
  'release-cancel-switch.test.js': 105,
  'reconcile.test.js': 116,
  'apply-faults.test.js': 131,
  'release-cancel.test.js': 86,
  'release-faults.test.js': 76,
  'lease.test.js': 76,
  'rollout-steps.test.js': 52,
  'transport.test.js': 62,
  'lab.test.js': 36,
  'cli-errors.test.js': 50,
  'rollout-blocks.test.js': 4,
  'remote-hardening.test.js': 172,
  'secrets.test.js': 78,
  'plan-integrity.test.js': 38,
  'ssh-config.test.js': 37,
  'hostile-templates.test.js': 30,
  'vault.test.js': 28,
  'release-git.test.js': 44,
  'run-command.test.js': 32,
  'releases-history.test.js': 208,
  'release-app.test.js': 93,
  'release-notify.test.js': 84,
  'release-hooks.test.js': 150,
  'release-config.test.js': 113,
  'ansible-inventory-sources.test.js': 12,
  'bastion.test.js': 26,
  'release-artifact-url.test.js': 75,
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
