/**
 * The test entry (`npm test`, `npm run test:unit`, `npm run test:e2e`): sets up what the tests run
 * against, runs node's test runner, and removes it all afterwards — pass, fail or Ctrl-C.
 *
 *   - e2e: a lab of its own, named `t<random>`, booted fresh for this run and torn down at the end.
 *     Nothing from an earlier run, another checkout or the default lab (`lanes`) is ever reused, so a
 *     machine with a lab already running gives the same result as a fresh one.
 *   - a Debian root for the checks that run the real tools (php-fpm -t, systemd-analyze verify,
 *     Supervisor's parser) in a chroot: a throwaway overlay on the lab's own cached base image,
 *     built first when it is missing — never a path that exists on one machine only.
 *
 * Usage: node dist/test/run.js [unit] [e2e] [FILTER…]
 *   suites: both when none is named; FILTER: only test files whose path contains one of these words
 *   (e.g. `node dist/test/run.js e2e release` runs the release e2e files against a lab of their own).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labDown, labPaths, labUp } from '../agent/lab/index.js';
import { ensureImage } from '../agent/lab/image.js';
import { mountOverlay } from '../agent/lab/host.js';
import { removeTree } from '../agent/lab/fsutil.js';

const distTest = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const named = args.filter((a) => a === 'unit' || a === 'e2e');
const suites = named.length > 0 ? named : ['unit', 'e2e'];
const filters = args.filter((a) => a !== 'unit' && a !== 'e2e');

const isRoot = process.getuid?.() === 0;
const say = (m: string) => process.stderr.write(`# test: ${m}\n`);
const cleanups: (() => Promise<void>)[] = [];
let child: ReturnType<typeof spawn> | undefined;
let signalled = false;

async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    await fn().catch((e: unknown) => say(`cleanup failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (signalled) return;
    signalled = true;
    say(`${sig}: stopping the tests, then removing the test lab`);
    child?.kill(sig);
  });
}

/** Every compiled test file of a suite, so node --test runs exactly these (no glob differences across Node versions). */
function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const progress = process.env.LANES_LAB_QUIET ? undefined : (m: string) => say(`lab: ${m}`);

  if (isRoot) {
    // The Debian root for chroot checks: an overlay over the cached base image (which is never written).
    const paths = labPaths({});
    await mkdir(paths.imagesDir, { recursive: true });
    const image = await ensureImage(paths.imagesDir, progress);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-test-root-'));
    const hp = { dir, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged'), consoleLog: '' };
    cleanups.push(() => removeTree(dir));
    await mountOverlay(hp, image.dir);
    env.LANES_TEST_DEBIAN_ROOT = hp.merged;
  } else {
    say('not root: checks that need a Debian root in a chroot, and the e2e suite, cannot run');
  }

  // The test files each suite runs: all of them, or those whose path contains a FILTER word.
  const selected = new Map(
    (['unit', 'e2e'] as const).map((suite) => [
      suite,
      suites.includes(suite) ? testFiles(path.join(distTest, suite)).filter((f) => filters.length === 0 || filters.some((w) => f.includes(w))) : [],
    ]),
  );
  if ([...selected.values()].every((files) => files.length === 0)) {
    say(`no test file matches ${filters.join(' ')}`);
    return 1;
  }
  const needsLab = selected.get('e2e')!.length > 0;
  if (needsLab && isRoot && !signalled) {
    const name = `t${randomBytes(4).toString('hex')}`;
    say(`booting lab "${name}" (3 hosts) for this run only`);
    // The run's lab, and the small one the lab's own lifecycle test makes beside it (`<name>-l`).
    cleanups.push(async () => {
      await labDown({ name, onProgress: progress, forget: true });
      if (existsSync(labPaths({ name: `${name}-l` }).labDir)) await labDown({ name: `${name}-l`, onProgress: progress, forget: true });
    });
    await labUp({ name, hosts: 3, onProgress: progress });
    env.LANES_TEST_LAB = name;
  }
  if (signalled) return 130;

  // Unit files are independent of each other: two at a time. E2e files share the run's lab hosts:
  // one at a time. Both suites run even when the first fails; the exit code is the worst.
  let worst = 0;
  for (const [suite, concurrency] of [['unit', 2], ['e2e', 1]] as const) {
    const files = selected.get(suite)!;
    if (files.length === 0 || signalled) continue;
    const code = await new Promise<number>((resolve) => {
      child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { stdio: 'inherit', env });
      child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 + (os.constants.signals[sig] ?? 0) : 1)));
    });
    worst = Math.max(worst, code);
  }
  return signalled ? Math.max(worst, 130) : worst;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  say(`setup failed: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  await cleanup();
}
process.exitCode = code;
