/**
 * `npm run bench -- --simulate N`: the real lanes CLI (`plan`, then a no-op `apply`, `--forks 100`,
 * the plain renderer a CI job gets; `--json` prints each host's whole plan, ~17 KB a host) against 100, 300 and N simulated hosts (fleet.ts) answering from lab1's recorded state.
 * Prints one JSON line per size and a table with the cost per added host; the targets are printed,
 * never enforced. The run fails only when lanes errors in a way the failure rate does not explain, or
 * when a plan is not a no-op.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../measure.js';
import type { Recording } from './answer.js';
import { startSimFleet } from './fleet.js';

export interface SimulateOptions {
  max: number;
  recording: Recording;
  playbook: string;
  latencyMs: number;
  failRate: number;
  forks: number;
  /** `node --cpu-prof` directory for the largest plan, when asked. */
  cpuProfDir?: string;
}

export interface SimFigures {
  hosts: number;
  plan_s: number;
  apply_noop_s: number;
  rss_mb: number;
  connect_p50_ms: number;
  connect_p99_ms: number;
  failed: number;
}

export const TARGETS = { plan_s: 15, rss_mb: 300 };

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** The plain renderer's last line: `N hosts: X to change|changed, U unchanged, F failed`. */
export function readSummaryLine(stdout: string): { hosts: number; changed: number; unchanged: number; failed: number } {
  const m = /^(\d+) hosts?: (\d+) (?:to change|changed), (\d+) unchanged, (\d+) failed$/m.exec(stdout);
  if (!m) throw new Error(`lanes printed no summary line:\n${stdout.slice(-1000)}`);
  return { hosts: Number(m[1]), changed: Number(m[2]), unchanged: Number(m[3]), failed: Number(m[4]) };
}

interface JsonRun {
  failed: number;
  changedHosts: string[];
  firstFailure?: string;
}

/** The figures of a `--json` run: failed hosts (run-end) and hosts whose plan was not a no-op. */
export function readJsonRun(stdout: string): JsonRun {
  let failed = -1;
  let firstFailure: string | undefined;
  const changedHosts: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { type: string; host?: string; ok?: boolean; summary?: unknown };
    if (e.type === 'host-end' && e.ok && typeof e.summary === 'string' && e.summary !== 'no changes') changedHosts.push(e.host!);
    if (e.type === 'run-end') {
      const s = e.summary as { failed: number; failures: { host: string; message: string }[] };
      failed = s.failed;
      firstFailure = s.failures[0] ? `${s.failures[0].host}: ${s.failures[0].message}` : undefined;
    }
  }
  if (failed < 0) throw new Error('the lanes run printed no run-end event');
  return { failed, changedHosts, ...(firstFailure ? { firstFailure } : {}) };
}

export async function simulate(opts: SimulateOptions): Promise<SimFigures[]> {
  const sizes = [...new Set([100, 300, opts.max].filter((n) => n <= opts.max))];
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lanes-sim-'));
  const fleet = await startSimFleet({ hosts: opts.max, dir, recording: opts.recording, latencyMs: opts.latencyMs, failRate: opts.failRate });
  const expectedFailed = (n: number) => fleet.hosts.slice(0, n).filter((h) => h.failing).length;
  const figures: SimFigures[] = [];
  try {
    for (const n of sizes) {
      const inventory = await fleet.inventory(n);
      const common = [opts.playbook, '-i', inventory, '--forks', String(opts.forks)];
      await fleet.drain();
      const prof = opts.cpuProfDir && n === opts.max ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
      const plan = await runCli(['plan', ...common], { rss: true, nodeArgs: prof });
      const planRun = readSummaryLine(plan.stdout);
      const connect = (await fleet.drain()).connectMs;
      check('plan', n, plan.code, planRun, expectedFailed(n));
      const apply = await runCli(['apply', ...common, '--yes'], { rss: true });
      const applyRun = readSummaryLine(apply.stdout);
      await fleet.drain();
      check('apply', n, apply.code, applyRun, expectedFailed(n));
      const f: SimFigures = {
        hosts: n,
        plan_s: round(plan.ms / 1000, 2),
        apply_noop_s: round(apply.ms / 1000, 2),
        rss_mb: round(Math.max(plan.rssMiB ?? NaN, apply.rssMiB ?? NaN), 0),
        connect_p50_ms: round(percentile(connect, 50), 1),
        connect_p99_ms: round(percentile(connect, 99), 1),
        failed: planRun.failed,
      };
      figures.push(f);
      process.stdout.write(`${JSON.stringify(f)}\n`);
    }
  } finally {
    fleet.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}

function check(what: string, n: number, code: number | null, run: ReturnType<typeof readSummaryLine>, expectedFailed: number): void {
  if (run.changed) throw new Error(`the ${what} on ${n} simulated hosts was not a no-op (${run.changed} hosts changed)`);
  if (run.failed !== expectedFailed || run.hosts !== n) throw new Error(`${what} on ${n} simulated hosts: ${run.failed} of ${run.hosts} failed, ${expectedFailed} set to fail`);
  if (code !== (expectedFailed ? 1 : 0)) throw new Error(`lanes ${what} on ${n} simulated hosts exited ${code}`);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function simTable(figures: readonly SimFigures[], opts: { latencyMs: number; failRate: number; forks: number }): string {
  const rows = [
    `simulated fleet: lanes plan / no-op apply (CLI, plain output, --forks ${opts.forks}), latency ${opts.latencyMs} ms, fail rate ${opts.failRate}`,
    '  hosts   plan     apply no-op   peak RSS   connect p50 / p99   failed   plan per added host',
  ];
  let prev: SimFigures | undefined;
  for (const f of figures) {
    const perHost = prev ? `${(((f.plan_s - prev.plan_s) * 1000) / (f.hosts - prev.hosts)).toFixed(1)} ms` : '-';
    rows.push(
      `  ${String(f.hosts).padStart(5)}   ${`${f.plan_s.toFixed(2)} s`.padEnd(8)} ${`${f.apply_noop_s.toFixed(2)} s`.padEnd(13)} ${`${f.rss_mb} MiB`.padEnd(10)} ${`${f.connect_p50_ms} / ${f.connect_p99_ms} ms`.padEnd(19)} ${String(f.failed).padEnd(8)} ${perHost}`,
    );
    prev = f;
  }
  const last = figures[figures.length - 1];
  if (last) {
    rows.push(
      `  targets at ${last.hosts} hosts: plan <= ${TARGETS.plan_s} s (${last.plan_s} s: ${last.plan_s <= TARGETS.plan_s ? 'met' : 'MISSED'}), peak RSS <= ${TARGETS.rss_mb} MB (${last.rss_mb}: ${last.rss_mb <= TARGETS.rss_mb ? 'met' : 'MISSED'})`,
    );
  }
  return `${rows.join('\n')}\n`;
}
