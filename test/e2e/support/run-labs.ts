/**
 * The labs of one test run: `LANES_TEST_LABS` (default 3) labs of 3 hosts, named `t<random><letter>`
 * (`t1a2b3c4da`, `t1a2b3c4db`, …), so that that many e2e files can run at once, each against hosts of
 * its own. Each lab takes its own address block (127.0.<block>.N, allocated under a lock across labs)
 * and its own nspawn machine names, so two labs never collide; the lab lifecycle test's `<lab>-l` lab
 * is a lab of its own beside them and is removed with its parent.
 */
import { existsSync } from 'node:fs';
import { labDown, labPaths, labUp } from '../../../agent/lab/index.js';

/** Hosts per lab: what the e2e files ask `ensureLab()` for at most. */
export const HOSTS_PER_LAB = 3;
/** Default number of labs (see the README's testing section for the measurement behind it). */
export const DEFAULT_LABS = 3;
const MAX_LABS = 6;

/** `LANES_TEST_LABS`: how many labs (and so e2e files at once); 1 runs the files one at a time on one lab. */
export function labCount(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LANES_TEST_LABS;
  if (raw === undefined || raw === '') return DEFAULT_LABS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LABS) throw new Error(`LANES_TEST_LABS must be a whole number from 1 to ${MAX_LABS}, got ${JSON.stringify(raw)}`);
  return n;
}

/** The run's lab names: a random stem shared by the run, one letter per lab. */
export function runLabNames(stem: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${stem}${String.fromCharCode(97 + i)}`);
}

export interface RunLab {
  name: string;
  /** Resolves when the lab is up; rejects with why it is not. */
  up: Promise<void>;
}

/**
 * Boot the labs at once (the base image must be in the cache already, so that they do not both wait
 * on one build) and register their removal with `addCleanup` before the first host boots, so that
 * pass, fail or Ctrl-C mid-boot leaves nothing behind.
 */
export function bootRunLabs(names: readonly string[], addCleanup: (fn: () => Promise<void>) => void, progress?: (m: string) => void): RunLab[] {
  for (const name of names) {
    addCleanup(async () => {
      await labDown({ name, onProgress: progress, forget: true });
      // The small lab the lifecycle test makes beside the lab it was given.
      if (existsSync(labPaths({ name: `${name}-l` }).labDir)) await labDown({ name: `${name}-l`, onProgress: progress, forget: true });
    });
  }
  return names.map((name) => {
    const up = labUp({ name, hosts: HOSTS_PER_LAB, onProgress: progress && ((m) => progress(`${name}: ${m}`)) }).then(() => undefined);
    up.catch(() => undefined); // awaited by the scheduler; this only keeps an early failure from being "unhandled"
    return { name, up };
  });
}
