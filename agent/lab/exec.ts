/** Running the machine's own tools (debootstrap, mount, nsenter, ssh-keygen…) from the lab. */
import { spawn, type StdioOptions } from 'node:child_process';
import { LanesError } from '../errors.js';

/** The lab runs as root; make sure sbin directories are searched even from a trimmed PATH. */
export function toolEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const path = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']
    .filter((p) => p !== '')
    .join(':');
  return { ...process.env, LC_ALL: 'C', ...extra, PATH: extra.PATH ?? path };
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Send stdout and stderr to this file descriptor instead of collecting them. */
  outputFd?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions =
      opts.outputFd === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', opts.outputFd, opts.outputFd];
    const child = spawn(cmd, args, { env: opts.env ?? toolEnv(), stdio });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (err.code === 'ENOENT') {
        reject(new LanesError(`command not found: ${cmd}`, { kind: 'lab', hint: 'install it, or run `lanes lab up` as root so that it can install what it needs' }));
      } else {
        reject(err);
      }
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    child.stdin?.on('error', () => {
      /* the command may exit before reading its input */
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** The last non-empty line of a command's output, for one-line error messages. */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

/** Run a command that must succeed; otherwise a LanesError naming the step. */
export async function runChecked(step: string, cmd: string, args: readonly string[], opts: RunOptions & { hint?: string; host?: string } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
    const detail = lastLine(r.stderr) || lastLine(r.stdout);
    throw new LanesError(`${step} failed (${cmd}: ${why})${detail ? `: ${detail}` : ''}`, {
      kind: 'lab',
      host: opts.host,
      hint: opts.hint,
    });
  }
  return r;
}
