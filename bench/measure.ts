/** Timing and child processes for the bench: medians, spreads, and the lanes CLI measured as a child with its peak RSS. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliMain = path.join(root, 'dist/bin/main.js');
const rssHook = pathToFileURL(path.join(root, 'dist/bench/rss-hook.js')).href;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `median (min–max)` in ms or s. */
export function spread(xs: readonly number[], unit: 'ms' | 's' = 'ms'): string {
  const f = (n: number) => (unit === 's' ? (n / 1000).toFixed(2) : n.toFixed(0));
  return `${f(median(xs))} ${unit} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
}

export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS of the child in MiB (only with `rss: true`). */
  rssMiB?: number;
}

/** Run a program to its end; wall time from spawn to exit. */
export function runChild(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
    child.stdin.end(opts.input ?? '');
  });
}

/** The lanes CLI end to end as a child process; `rss` preloads rss-hook.js to read its peak RSS. */
export async function runCli(args: readonly string[], opts: { rss?: boolean; nodeArgs?: readonly string[] } = {}): Promise<ChildRun> {
  const nodeArgs = opts.nodeArgs ?? [];
  if (!opts.rss) return runChild(process.execPath, [...nodeArgs, cliMain, ...args]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-bench-rss-'));
  const file = path.join(dir, 'rss');
  try {
    const r = await runChild(process.execPath, [...nodeArgs, '--import', rssHook, cliMain, ...args], { env: { ...process.env, LANES_BENCH_RSS_FILE: file } });
    let rssMiB: number | undefined;
    try {
      rssMiB = Number(readFileSync(file, 'utf8')) / 1024;
    } catch {
      rssMiB = undefined;
    }
    return { ...r, rssMiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
