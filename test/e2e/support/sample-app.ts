/**
 * The sample app (playbooks/sample-app) as the e2e files release it: a copy in a directory of the
 * test's own, with a VERSION file so that every copy is a distinct artifact.
 *
 * Its workers run jobs of `jobSeconds` (default 1) instead of the sample's 3 s (queue) and 3 s + 2 s
 * pause (scheduler): a release drains the workers of every batch, and a drain waits for the job in
 * flight, so the sample's job length is paid on every batch of every release the suite runs. The
 * jobs keep their shape (start and finish logged, SIGTERM finishes the job in progress), so every
 * "no job killed" check means what it meant. Tests that signal lanes *during* a drain keep the
 * sample's 3 s jobs (`jobSeconds: 3`): their signal must land while a job is still in flight.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { repoRoot } from '../../support/paths.js';
import path from 'node:path';

export const SAMPLE_APP = path.join(repoRoot, 'playbooks', 'sample-app');

export interface SampleAppCopy {
  /** Written to VERSION: what makes this copy a release of its own. */
  version: string;
  /** Extra files (name → content) written into the copy. */
  extra?: Record<string, string>;
  /** Length of each worker job in seconds (the sample's own is 3). */
  jobSeconds?: number;
}

/** Copy the sample app to `dir` (see above); returns `dir`. */
export function copySampleApp(dir: string, opts: SampleAppCopy): string {
  cpSync(SAMPLE_APP, dir, { recursive: true });
  const seconds = opts.jobSeconds ?? 1;
  if (!Number.isInteger(seconds) || seconds < 1) throw new Error(`jobSeconds must be a whole number ≥ 1, got ${seconds}`);
  if (seconds !== 3) {
    // The same entry points as the sample's (worker.php for Supervisor, scheduler.php for systemd),
    // the same job runner (jobs.php); only the job and pause lengths differ.
    writeFileSync(path.join(dir, 'worker.php'), `<?php\n// Sample queue worker with ${seconds} s jobs (e2e tests).\nrequire __DIR__ . '/jobs.php';\nrun_jobs('queue', ${seconds}, 1);\n`);
    writeFileSync(path.join(dir, 'scheduler.php'), `<?php\n// Sample scheduler with ${seconds} s jobs (e2e tests).\nrequire __DIR__ . '/jobs.php';\nrun_jobs('scheduler', ${seconds}, 1);\n`);
  }
  writeFileSync(path.join(dir, 'VERSION'), `${opts.version}\n`);
  for (const [f, content] of Object.entries(opts.extra ?? {})) writeFileSync(path.join(dir, f), content);
  return dir;
}

/**
 * `--serial 100%`: every host in one batch. site.yml's `serial: [1, "100%"]` makes two batches, each
 * draining and starting workers in turn; releases in files that do not test batching (their
 * setup, a release whose outcome per host is what they check) pass this instead.
 */
export const ONE_BATCH: readonly string[] = ['--serial', '100%'];
