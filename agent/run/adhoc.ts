/**
 * `lanes run`: one ad-hoc shell command on the selected hosts, in parallel, its output and exit code
 * collected per host. The command is quoted once (`sh -c <quoted>`) and started by a small remote
 * wrapper in a process group of its own (`setsid`), while the wrapper watches the channel's stdin,
 * which the controller keeps open: when the channel closes — timeout, Ctrl-C, lost connection, dead
 * controller — stdin ends and the wrapper kills the whole group (TERM, then KILL 2 s later), so no
 * `sleep`, `php artisan …` or child of theirs outlives the run.
 */
import { LanesError } from '../errors.js';
import { shq } from '../transport/quote.js';
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

/**
 * The remote wrapper ($1 the command, $2 the directory, $3 the host name when it runs in a release). The watcher reads the channel's stdin
 * (an asynchronous list gets /dev/null unless redirected, hence fd 3); it is killed once the command
 * has ended, unless it is already killing (it then ignores TERM, so the KILL 2 s later still comes
 * for children that ignore TERM). `setsid` in a background job is not a group leader, so it does not fork: $! is the
 * new group's id.
 */
export const WRAPPER = [
  'if [ -n "$3" ] && [ ! -d "$2" ]; then echo "lanes: $2 does not exist: no release is live on this host" >&2; exit 1; fi',
  'if [ -n "$2" ]; then cd -- "$2" || exit 1; fi',
  // --release: the release environment, from the directory `current` points to.
  'if [ -n "$3" ]; then LANES_HOST=$3; LANES_RELEASE_DIR=$(pwd -P); LANES_RELEASE_ID=${LANES_RELEASE_DIR##*/}; export LANES_HOST LANES_RELEASE_DIR LANES_RELEASE_ID; fi',
  'exec 3<&0',
  'setsid /bin/sh -c "$1" </dev/null 3<&- &',
  'pid=$!',
  '( while IFS= read -r _; do :; done; trap "" TERM; kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; sleep 2; kill -KILL "-$pid" 2>/dev/null ) <&3 >/dev/null 2>&1 &',
  'watch=$!',
  'exec 3<&-',
  'wait "$pid"; rc=$?',
  'kill "$watch" 2>/dev/null',
  'exit "$rc"',
].join('\n');

/** The one command line sent to the host: the user's command is quoted exactly once, as an argument. */
export function adhocCommand(shell: string, cwd?: string, releaseHost?: string): string {
  return `/bin/sh -c ${shq(WRAPPER)} lanes-run ${shq(shell)} ${shq(cwd ?? '')} ${shq(releaseHost ?? '')}`;
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
  const commandFor = (host: string) => {
    const rel = opts.release?.get(host);
    return rel ? adhocCommand(opts.shell, `${rel.path}/current`, host) : adhocCommand(opts.shell, opts.cwd);
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
            return await conn.exec(commandFor(host), { timeoutMs: opts.timeoutMs, holdStdin: true });
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
