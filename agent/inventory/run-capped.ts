/**
 * Running a local program whose output becomes inventory (an inventory script, ansible-inventory):
 * no shell, stdin closed, a time limit and a cap on what it may print, so that a hanging or hostile
 * program cannot stall or exhaust lanes.
 */
import { spawn } from 'node:child_process';

/** The most an inventory program may print on stdout (stderr keeps far less). */
export const MAX_INVENTORY_OUTPUT = 64 * 1024 * 1024;
const MAX_STDERR = 64 * 1024;

export type RunOutcome =
  | { kind: 'done'; code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }
  | { kind: 'spawn-failed'; code: string; message: string }
  | { kind: 'timeout'; stderr: string }
  | { kind: 'too-much-output'; stderr: string };

export interface RunOptions {
  cwd: string;
  timeoutSeconds: number;
  env?: NodeJS.ProcessEnv;
  maxOutput?: number;
}

export function runCapped(command: string, args: string[], options: RunOptions): Promise<RunOutcome> {
  const max = options.maxOutput ?? MAX_INVENTORY_OUTPUT;
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      resolve({ kind: 'spawn-failed', code: err.code ?? 'ERROR', message: err.message });
      return;
    }
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let settled = false;
    const finish = (o: RunOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(o);
    };
    const stop = (o: RunOutcome): void => {
      child.kill('SIGKILL');
      finish(o);
    };
    const timer = setTimeout(() => stop({ kind: 'timeout', stderr }), options.timeoutSeconds * 1000);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > max) stop({ kind: 'too-much-output', stderr });
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < MAX_STDERR) stderr += b.toString('utf8').slice(0, MAX_STDERR - stderr.length);
    });
    child.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'spawn-failed', code: err.code ?? 'ERROR', message: err.message }));
    child.on('close', (code, signal) => finish({ kind: 'done', code, signal, stdout: Buffer.concat(out), stderr }));
  });
}

/** The first non-empty line of a program's stderr, for a one-line error. */
export function firstLine(stderr: string): string | undefined {
  return stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '');
}
