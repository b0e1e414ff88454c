/**
 * `lanes run`: one ad-hoc shell command on the selected hosts, in parallel, its output and exit code
 * collected per host. It is started by agent/remote/command.ts (the one remote command runner, also
 * used by release hooks): in a process group of its own that is killed when the channel closes —
 * timeout, Ctrl-C, lost connection, dead controller — so nothing it started outlives the run.
 */
import { LanesError } from '../errors.js';
import { REMOTE_COMMAND_LINE, remoteCommandInput } from '../remote/command.js';
import { CancelledError, cancelledBy } from './cancel.js';
import { runFleet, type FleetHost, type FleetOptions, type FleetResult } from './fleet.js';

/** What one host's command did. */
export interface AdhocResult {
  /** Exit status, or null when it died from a signal / ended without one. */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface AdhocOptions extends FleetOptions {
  /** The shell command line, run with `/bin/sh -c` on each host. */
  shell: string;
  /** Directory to run it in (default: the login user's home). */
  cwd?: string;
  /** Only the first selected host. */
  once?: boolean;
  /** Kill the command's process group after this long (0 / undefined: no limit). */
  timeoutMs?: number;
  /**
   * Run it as this user (sudo -u). Asked for by name on this command line, so it wins over the
   * inventory's `ansible_become`/`ansible_become_user` (its become password is still used).
   */
  as?: string;
  /**
   * `--release`: per host, the release root and user; the command runs in `<path>/current` as that
   * user with LANES_RELEASE_ID, LANES_RELEASE_DIR and LANES_HOST set.
   */
  release?: Map<string, { path: string; user: string }>;
}

/** A host whose command ran but failed: carries its result, so the output is shown with the failure. */
export class AdhocFailed extends LanesError {
  constructor(
    host: string,
    readonly result: AdhocResult,
  ) {
    super(result.code !== null ? `exit ${result.code}` : `killed by ${result.signal ?? 'a signal'}`, { kind: 'exec', host });
    this.name = 'AdhocFailed';
  }

  /** Shown in the failed host's `host-end` event (`--json`). */
  get hostData(): AdhocResult {
    return this.result;
  }
}

export async function runAdhoc(hosts: FleetHost[], opts: AdhocOptions): Promise<FleetResult<AdhocResult>> {
  if (opts.shell.trim() === '') throw new LanesError('no command given', { hint: 'lanes run PATTERN -i INV -- COMMAND…' });
  const first = opts.once ? hosts.slice(0, 1) : hosts;
  const asUser = (host: string) => opts.release?.get(host)?.user ?? opts.as;
  const selected = first.map((h) => {
    const user = asUser(h.name);
    return user === undefined ? h : { ...h, vars: { ...h.vars, ansible_become: true, ansible_become_user: user } };
  });
  const inputFor = (host: string) => {
    const rel = opts.release?.get(host);
    return remoteCommandInput(rel ? { shell: opts.shell, cwd: `${rel.path}/current`, releaseHost: host } : { shell: opts.shell, cwd: opts.cwd });
  };
  return runFleet<AdhocResult>(
    selected,
    async ({ host, conn, step }) => {
      // Ctrl-C: closing the connection closes the channel, and the wrapper kills the process group.
      const onAbort = () => conn.close();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const result = await step('exec', async () => {
          try {
            return await conn.exec(REMOTE_COMMAND_LINE, { stdin: inputFor(host), timeoutMs: opts.timeoutMs, holdStdin: true });
          } catch (err) {
            if (err instanceof LanesError && err.kind === 'timeout') {
              throw new LanesError(`timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)}s: the command's process group was killed`, {
                kind: 'timeout',
                host,
                hint: 'raise --timeout',
              });
            }
            throw err;
          }
        });
        const by = cancelledBy(opts.signal);
        if (by) throw new CancelledError(by, host, "stopped: the command's process group was killed");
        const data: AdhocResult = { code: result.code, signal: result.signal, stdout: result.stdout, stderr: result.stderr, ms: result.ms };
        if (data.code !== 0) throw new AdhocFailed(host, data);
        return { data, summary: `exit 0 in ${data.ms}ms` };
      } catch (err) {
        const by = cancelledBy(opts.signal);
        if (by && !(err instanceof CancelledError)) throw new CancelledError(by, host, "stopped: the command's process group was killed");
        throw err;
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    },
    opts,
  );
}
