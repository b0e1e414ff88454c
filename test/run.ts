/**
 * The test entry (`npm test`, `npm run test:unit`, `npm run test:e2e`): sets up what the tests run
 * against, runs node's test runner, and removes it all afterwards — pass, fail or Ctrl-C.
 *
 *   - e2e: labs of their own, `t<random>a`, `t<random>b`, … (LANES_TEST_LABS, default 3; 3 hosts each),
 *     booted fresh for this run and torn down at the end. Each e2e file runs in a process of its own
 *     against one lab (LANES_TEST_LAB); as many files run at once as there are labs, longest first,
 *     each on whichever lab frees up. Nothing from an earlier run, another checkout or the default lab
 *     (`lanes`) is ever reused, so a machine with a lab already running gives the same result as a fresh one.
 *   - a Debian root for the checks that run the real tools (php-fpm -t, systemd-analyze verify,
 *     Supervisor's parser) in a chroot: a throwaway overlay on the lab's own cached base image,
 *     built first when it is missing — never a path that exists on one machine only.
 *   - the unit files run (two at a time) while the labs boot: they need no lab. The conformance files
 *     (test/conformance/: lanes inventory against the real ansible-inventory) run with them.
 *
 * Usage: node dist/test/run.js [unit] [e2e] [conformance] [FILTER…]
 *   suites: all when none is named; FILTER: only test files whose path contains one of these words
 *   (e.g. `node dist/test/run.js e2e release` runs the release e2e files against labs of their own).
 *   `conformance` alone: its FILTER words select corpus cases by name instead (LANES_CONFORMANCE_FILTER).
 * At the end it prints how long each e2e file took, longest first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labPaths } from '../agent/lab/index.js';
import { ensureImage } from '../agent/lab/image.js';
import { mountOverlay } from '../agent/lab/host.js';
import { removeTree } from '../agent/lab/fsutil.js';
import { exitCode, running, runTestFile, type FileRun } from './e2e/support/file-run.js';
import { bootRunLabs, labCount, runLabNames, HOSTS_PER_LAB } from './e2e/support/run-labs.js';
import { longestFirst, runOnWorkers } from './e2e/support/schedule.js';

const distTest = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const SUITES = ['unit', 'e2e', 'conformance'];
const named = args.filter((a) => SUITES.includes(a));
const suites = named.length > 0 ? named : SUITES;
const words = args.filter((a) => !SUITES.includes(a));
// `conformance WORD…` picks corpus cases, not files (the suite is one file over the whole corpus).
const caseFilters = named.length === 1 && named[0] === 'conformance' ? words : [];
const filters = caseFilters.length > 0 ? [] : words;

const isRoot = process.getuid?.() === 0;
const say = (m: string) => process.stderr.write(`# test: ${m}\n`);
const cleanups: (() => Promise<void>)[] = [];
let unitChild: ChildProcess | undefined;
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
    say(`${sig}: stopping the tests, then removing the test labs`);
    unitChild?.kill(sig);
    for (const c of running) c.kill(sig);
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

/** Unit files are independent of each other: one node --test, two files at a time, output as it comes. */
function runUnit(files: string[], env: NodeJS.ProcessEnv, background: boolean): Promise<number> {
  return new Promise<number>((resolve) => {
    unitChild = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
    // Beside the e2e files the unit files (and the conformance suite's Python) are background work: they
    // finish long before the e2e files do, so they yield the CPU to them (nice 10) rather than slow the
    // e2e files that run at the same time, which are the suite's critical path. The test processes
    // node --test starts inherit the priority.
    if (background && unitChild.pid !== undefined) {
      try {
        os.setPriority(unitChild.pid, 10);
      } catch {
        /* not permitted here: run at the same priority */
      }
    }
    unitChild.on('exit', (c, sig) => resolve(exitCode(c, sig)));
  });
}

const rel = (file: string) => path.relative(distTest, file);

function printFile(r: FileRun): void {
  say(`── ${rel(r.file)} on lab ${r.lab}: ${r.code === 0 ? 'pass' : `FAIL (exit ${r.code})`}, ${r.seconds.toFixed(1)} s ──`);
  process.stdout.write(r.output.endsWith('\n') || r.output === '' ? r.output : `${r.output}\n`);
}

/** How many of the slowest tests the summary names. */
const SLOWEST_SHOWN = 15;

/** Per-file durations, longest first, the slowest tests, and the totals: what to look at when the suite gets slow. */
function printSummary(runs: FileRun[], notRun: string[], wallSeconds: number, labs: number): void {
  const width = Math.max(...runs.map((r) => rel(r.file).length), 4);
  say(`e2e files by duration (${labs} lab(s) at once):`);
  for (const r of [...runs].sort((a, b) => b.seconds - a.seconds)) {
    const c = r.counts;
    const tests = c ? `${c.pass}/${c.tests} pass${c.fail ? `, ${c.fail} fail` : ''}${c.cancelled ? `, ${c.cancelled} cancelled` : ''}${c.skipped ? `, ${c.skipped} skipped` : ''}` : 'no summary';
    // Beyond its tests: the file's setup (before/after hooks, process start).
    const setup = r.seconds - r.tests.reduce((s, t) => s + t.ms, 0) / 1000;
    say(`  ${r.seconds.toFixed(1).padStart(6)} s  ${rel(r.file).padEnd(width)}  ${r.lab.padEnd(11)} ${r.code === 0 ? 'pass' : `FAIL (exit ${r.code})`}  ${tests}; setup ${setup.toFixed(1)} s`);
  }
  const slowest = runs.flatMap((r) => r.tests.map((t) => ({ ...t, file: path.basename(rel(r.file)) }))).sort((a, b) => b.ms - a.ms);
  say(`slowest e2e tests:`);
  for (const t of slowest.slice(0, SLOWEST_SHOWN)) say(`  ${(t.ms / 1000).toFixed(1).padStart(6)} s  ${t.file}: ${t.name}`);
  for (const f of notRun) say(`  ${'—'.padStart(8)}  ${rel(f)}  not run`);
  const sum = runs.reduce((s, r) => s + r.seconds, 0);
  const count = (k: 'tests' | 'pass' | 'fail') => runs.reduce((s, r) => s + (r.counts?.[k] ?? 0), 0);
  say(`e2e: ${runs.length} file(s), ${count('tests')} tests, ${count('pass')} pass, ${count('fail')} fail; files failed: ${runs.filter((r) => r.code !== 0).length}; wall ${wallSeconds.toFixed(1)} s, sum of files ${sum.toFixed(1)} s`);
  for (const r of runs.filter((x) => x.code !== 0)) say(`  failed: ${rel(r.file)} (lab ${r.lab}, exit ${r.code})`);
}

async function main(): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (caseFilters.length > 0) env.LANES_CONFORMANCE_FILTER = caseFilters.join(' ');
  const progress = process.env.LANES_LAB_QUIET ? undefined : (m: string) => say(`lab: ${m}`);

  // The test files each suite runs: all of them, or those whose path contains a FILTER word.
  const selected = new Map(
    (['unit', 'e2e', 'conformance'] as const).map((suite) => [
      suite,
      suites.includes(suite) ? testFiles(path.join(distTest, suite)).filter((f) => filters.length === 0 || filters.some((w) => f.includes(w))) : [],
    ]),
  );
  if ([...selected.values()].every((files) => files.length === 0)) {
    say(`no test file matches ${filters.join(' ')}`);
    return 1;
  }
  // The conformance files need no lab either: they run in the unit phase.
  const unitFiles = [...selected.get('unit')!, ...selected.get('conformance')!];
  const e2eFiles = selected.get('e2e')!;
  // More labs than files would boot hosts nothing uses.
  const labs = Math.min(labCount(), Math.max(e2eFiles.length, 1));

  // The conformance files alone need neither the base image nor the chroot root.
  if (isRoot && (selected.get('unit')!.length > 0 || e2eFiles.length > 0)) {
    // The base image first, once: the chroot root below and every lab sit on it (labs booting at
    // once would otherwise queue on one build).
    const paths = labPaths({});
    await mkdir(paths.imagesDir, { recursive: true });
    const image = await ensureImage(paths.imagesDir, progress);
    // The Debian root for chroot checks: an overlay over the cached base image (which is never written).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-test-root-'));
    const hp = { dir, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), merged: path.join(dir, 'merged'), consoleLog: '' };
    cleanups.push(() => removeTree(dir));
    await mountOverlay(hp, image.dir);
    env.LANES_TEST_DEBIAN_ROOT = hp.merged;
  } else if (!isRoot) {
    say('not root: checks that need a Debian root in a chroot, and the e2e suite, cannot run');
  }
  if (signalled) return 130;

  // The labs boot while the unit files run; each lab takes e2e files as soon as it is up.
  const names = e2eFiles.length > 0 && isRoot ? runLabNames(`t${randomBytes(4).toString('hex')}`, labs) : [];
  if (names.length > 0) say(`booting ${names.length} lab(s) of ${HOSTS_PER_LAB} hosts for this run only: ${names.join(', ')}`);
  const runLabs = bootRunLabs(names, (fn) => cleanups.push(fn), progress);

  const unit = unitFiles.length > 0 ? runUnit(unitFiles, env, names.length > 0) : Promise.resolve(0);
  let worst = 0;
  if (e2eFiles.length > 0) {
    const live = names.length === 1; // one file at a time: its output can stream
    const started = Date.now();
    const failedLabs: string[] = [];
    const { results, notRun } = await runOnWorkers(
      longestFirst(e2eFiles),
      runLabs.length > 0 ? runLabs : [{ name: '', up: Promise.resolve() }],
      async (lab) => {
        try {
          await lab.up;
        } catch (e) {
          failedLabs.push(lab.name);
          say(`lab ${lab.name} did not come up: ${e instanceof Error ? e.message : String(e)}`);
          throw e;
        }
        // Both suites print to the same terminal: e2e output waits for the unit run when it streams.
        if (live) await unit;
      },
      async (file, lab) => {
        const r = await runTestFile(file, { env, lab: lab.name, live });
        // Whole, once the unit run (which streams) is over, so the two never interleave.
        if (!live) void unit.then(() => printFile(r));
        return r;
      },
      () => signalled,
    );
    await unit;
    const runs = [...results.values()];
    printSummary(runs, notRun, (Date.now() - started) / 1000, runLabs.length);
    if (failedLabs.length > 0 || notRun.length > 0) worst = 1;
    for (const r of runs) worst = Math.max(worst, r.code);
  }
  worst = Math.max(worst, await unit);
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
