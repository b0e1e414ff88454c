/**
 * One test file run by node's test runner in a process of its own, for the test entry: its output
 * (stdout and stderr, in arrival order) is kept so that files running at the same time print whole,
 * one after another, instead of interleaved line by line; with `live` it is also passed through as it
 * comes (one file at a time, as a developer watching a single file wants).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';

export interface FileRun {
  file: string;
  /** The lab the file ran against (LANES_TEST_LAB), or '' for none. */
  lab: string;
  code: number;
  seconds: number;
  output: string;
  /** From the spec reporter's summary; undefined when the process died before printing it. */
  counts?: TestCounts;
  /** Each test's duration (see parseTestTimes). */
  tests: TestTime[];
}

export interface TestCounts {
  tests: number;
  pass: number;
  fail: number;
  cancelled: number;
  skipped: number;
  todo: number;
}

/** The summary node's spec reporter prints last (`ℹ tests 12`, `ℹ pass 12`, …). */
export function parseSpecSummary(output: string): TestCounts | undefined {
  const field = (name: string): number | undefined => {
    const all = [...output.matchAll(new RegExp(`^ℹ ${name} (\\d+)$`, 'gm'))];
    const last = all[all.length - 1];
    return last ? Number(last[1]) : undefined;
  };
  const tests = field('tests');
  if (tests === undefined) return undefined;
  return {
    tests,
    pass: field('pass') ?? 0,
    fail: field('fail') ?? 0,
    cancelled: field('cancelled') ?? 0,
    skipped: field('skipped') ?? 0,
    todo: field('todo') ?? 0,
  };
}

export interface TestTime {
  /** The test's name, inside its suites' (`suite > test`). */
  name: string;
  ms: number;
  ok: boolean;
}

/**
 * Each test's duration from the spec reporter's lines (`✔ name (12.3ms)`), suites left out (their
 * `▶ name` line comes first): where a slow file spends its time. What a file took beyond the sum of
 * its tests is its setup (before/after hooks, imports, process start).
 */
export function parseTestTimes(output: string): TestTime[] {
  const suites: { indent: number; name: string }[] = [];
  const out: TestTime[] = [];
  for (const line of output.split('\n')) {
    // The failure details the reporter repeats at the end would count those tests twice.
    if (/^✖ failing tests:/.test(line)) break;
    const open = /^( *)▶ (.+)$/.exec(line);
    if (open && !/\(\d+(?:\.\d+)?ms\)$/.test(line)) {
      suites.push({ indent: open[1]!.length, name: open[2]! });
      continue;
    }
    const end = /^( *)(?:[✔✖▶﹣]) (.+) \((\d+(?:\.\d+)?)ms\)(?: # .*)?$/.exec(line);
    if (!end) continue;
    const indent = end[1]!.length;
    const top = suites[suites.length - 1];
    if (top && top.indent === indent && top.name === end[2]) {
      suites.pop();
      continue;
    }
    out.push({ name: [...suites.map((x) => x.name), end[2]!].join(' > '), ms: Number(end[3]), ok: !line.trimStart().startsWith('✖') });
  }
  return out;
}

export function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
}

/** The running children, so that a signal to the entry reaches every one of them. */
export const running = new Set<ChildProcess>();

export function runTestFile(file: string, opts: { env: NodeJS.ProcessEnv; lab: string; live: boolean }): Promise<FileRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', file], {
      env: { ...opts.env, ...(opts.lab ? { LANES_TEST_LAB: opts.lab } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.live) process.stdout.write(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.live) process.stderr.write(d);
    });
    let done = false;
    const finish = (code: number): void => {
      if (done) return; // 'error' can be followed by 'close'
      done = true;
      running.delete(child);
      const output = Buffer.concat(chunks).toString('utf8');
      const counts = parseSpecSummary(output);
      resolve({ file, lab: opts.lab, code, seconds: (Date.now() - started) / 1000, output, tests: parseTestTimes(output), ...(counts ? { counts } : {}) });
    };
    child.on('error', (err) => {
      chunks.push(Buffer.from(`could not start node: ${err.message}\n`));
      finish(1);
    });
    child.on('close', (code, signal) => finish(exitCode(code, signal)));
  });
}
