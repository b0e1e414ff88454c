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
export const MEASURED_SECONDS: Readonly<Record<string, number>> = {
  'release.test.js': 187,
  'rollback-faults.test.js': 65,
  'release-lease.test.js': 64,
  'release-cancel-switch.test.js': 60,
  'reconcile.test.js': 58,
  'apply-faults.test.js': 58,
  'release-cancel.test.js': 56,
  'release-faults.test.js': 52,
  'lease.test.js': 50,
  'rollout-steps.test.js': 32,
  'transport.test.js': 45,
  'lab.test.js': 35,
  'cli-errors.test.js': 33,
  'rollout-blocks.test.js': 6,
  // Issue 8's files, from their first runs on a loaded machine.
  'remote-hardening.test.js': 120,
  'secrets.test.js': 90,
  'plan-integrity.test.js': 40,
  'ssh-config.test.js': 25,
  'hostile-templates.test.js': 20,
  'vault.test.js': 20,
  // Issue 9's files, first runs.
  'release-git.test.js': 30,
  'run-command.test.js': 25,
  // Issue 9 (I): 165 s alone, 192 s beside other labs; ~55 s of it is the broken release's 30 s health gate.
  'releases-history.test.js': 165,
  // Issue 9 (S): the sample app released with composer and a migration, 59 s alone.
  'release-app.test.js': 59,
  // Issue 9 (N): 69 s alone (three releases, one failing a 5 s health gate, a rollback, a dry run).
  'release-notify.test.js': 69,
  // Issue 9 (hooks): 98 s beside another lab (four releases on 3 hosts, one with a 3 s hook timeout).
  'release-hooks.test.js': 100,
  // Issue 9 (C): 88-102 s alone on a loaded machine.
  'release-config.test.js': 100,
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
