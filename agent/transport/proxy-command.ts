/**
 * ssh's ProxyCommand: a local command whose stdin/stdout carry the SSH connection (typically
 * `ssh -W %h:%p bastion`, `nc`, a cloud provider's tunnel). Run like OpenSSH runs it: through the
 * user's shell ($SHELL, else /bin/sh) as `exec COMMAND`, its stderr not mixed into the transport.
 * The process lives exactly as long as the connection: it is killed when the connection closes,
 * fails or times out, and a command that ends before the SSH handshake is finished is reported
 * with its exit code and the last line it wrote to stderr.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { LanesError } from '../errors.js';

/** Keep this much of the command's stderr: enough for its last lines, bounded whatever it prints. */
const STDERR_KEEP = 4096;

export interface ProxyProcess {
  /** The transport to hand to ssh2 as `sock`. */
  sock: Duplex;
  /** Why the connection failed if the command ended first, otherwise undefined. */
  failure(): LanesError | undefined;
  /** Kill the command (idempotent). */
  kill(): void;
  /** Resolves once the command has exited (for tests and orderly shutdown). */
  exited: Promise<void>;
  pid: number | undefined;
}

/**
 * Start `command` (tokens already expanded). `label` names the host in messages; `onStderr` gets
 * the command's stderr lines (lanes shows them in debug output and uses the last one in errors).
 */
export function startProxyCommand(command: string, label: string, onStderr?: (line: string) => void): ProxyProcess {
  const shell = process.env.SHELL || '/bin/sh';
  const child = spawn(shell, ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderrTail = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  let killed = false;
  let resolveExited: () => void = () => undefined;
  const exited = new Promise<void>((r) => (resolveExited = r));

  const sock = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (!child.stdin.writable) return cb();
      child.stdin.write(chunk, () => cb());
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    destroy(err, cb) {
      kill();
      cb(err);
    },
  });

  child.stdout.on('data', (d: Buffer) => {
    if (!sock.push(d)) child.stdout.pause();
  });
  child.stdout.on('end', () => sock.push(null));
  // The command may exit while ssh2 still writes: that is reported through exit, not as a crash.
  child.stdin.on('error', () => undefined);
  child.stdout.on('error', () => undefined);
  child.stderr.setEncoding('utf8');
  let partial = '';
  child.stderr.on('data', (d: string) => {
    stderrTail = (stderrTail + d).slice(-STDERR_KEEP);
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    if (partial.length > STDERR_KEEP) partial = partial.slice(-STDERR_KEEP);
    for (const line of lines) if (line.trim() !== '') onStderr?.(line);
  });
  child.on('error', (err) => {
    spawnError = err;
    sock.push(null);
    resolveExited();
  });
  child.on('exit', (code, signal) => {
    exit = { code, signal };
    if (partial.trim() !== '') onStderr?.(partial);
    partial = '';
    resolveExited();
  });
  child.on('close', () => sock.push(null));

  function kill(): void {
    if (killed || exit) return;
    killed = true;
    // SIGHUP first as OpenSSH does; whatever ignores it is killed for good shortly after.
    child.kill('SIGHUP');
    const t = setTimeout(() => {
      if (!exit) child.kill('SIGKILL');
    }, 2000);
    t.unref();
  }

  function failure(): LanesError | undefined {
    if (spawnError) {
      return new LanesError(`ProxyCommand could not be started: ${spawnError.message}`, { kind: 'connect', host: label, hint: command });
    }
    if (!exit || killed) return undefined;
    const last = lastLine(stderrTail);
    const how = exit.code !== null ? `exited with code ${exit.code}` : `was killed by ${exit.signal ?? 'a signal'}`;
    return new LanesError(`ProxyCommand ${how} before the SSH connection was up${last ? `: ${last}` : ''}`, {
      kind: 'connect',
      host: label,
      hint: `command: ${command}`,
    });
  }

  return { sock, failure, kill, exited, pid: child.pid };
}

/** The last non-blank line, trimmed, shortened so an error stays one line. */
function lastLine(text: string): string {
  // Control characters would let the command's output rewrite the terminal line of the error.
  const lines = text
    .split('\n')
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .map((l) => l.replace(/[\x00-\x1f\x7f]/g, '?').trim())
    .filter((l) => l !== '');
  const last = lines[lines.length - 1] ?? '';
  return last.length > 200 ? `${last.slice(0, 200)}…` : last;
}
