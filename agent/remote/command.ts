/**
 * One way to run a user's shell command on a host and never leave it behind: `lanes run` and release
 * hooks both use it.
 *
 * The command line sent over SSH is a fixed wrapper; what varies (the command, its directory, user and
 * environment) travels as the first line of stdin, base64 of shell assignments made with `shq` — so
 * nothing of it is in any process's argv on the host (no secret visible in `ps`), and a newline in a
 * value cannot end the line early. The wrapper then starts the command with `setsid` in a process
 * group of its own (as another user through `runuser`, which needs root), and watches the rest of
 * the channel's stdin, which the controller keeps open: when the channel closes — a timeout, Ctrl-C,
 * a lost connection, a dead controller — stdin ends and the wrapper kills the whole group (TERM, then
 * KILL 2 s later), so no `composer`, `php artisan …` or child of theirs outlives the run.
 */
import { LanesError } from '../errors.js';
import { shq } from '../transport/quote.js';

export interface RemoteCommand {
  /** The shell command line, run with `/bin/sh -c`. */
  shell: string;
  /** Directory to run it in (default: the login user's home). */
  cwd?: string;
  /** Run it as this user (with `runuser`: the wrapper must run as root); absent: as the wrapper's user. */
  user?: string;
  /** Variables added to the command's environment. */
  env?: Record<string, string>;
  /**
   * `lanes run --release`: the host's name; the directory (`<path>/current`) must exist, and
   * LANES_HOST, LANES_RELEASE_DIR (its real path) and LANES_RELEASE_ID are set from it.
   */
  releaseHost?: string;
}

/** Names a variable may have in the command's environment. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The wrapper. The first stdin line sets lanes_cmd, lanes_cwd, lanes_user, lanes_rel and exports the
 * environment. The watcher reads the channel's stdin (an asynchronous list gets /dev/null unless
 * redirected, hence fd 3); it is killed once the command has ended, unless it is already killing
 * (it then ignores TERM, so the KILL 2 s later still comes for children that ignore TERM). `setsid`
 * in a background job is not a group leader, so it does not fork: $! is the new group's id.
 */
export const WRAPPER = [
  'IFS= read -r lanes_p || { echo "lanes: no command on stdin" >&2; exit 125; }',
  'lanes_p=$(printf %s "$lanes_p" | base64 -d) || exit 125',
  'eval "$lanes_p" || exit 125',
  'if [ -n "$lanes_rel" ] && [ ! -d "$lanes_cwd" ]; then echo "lanes: $lanes_cwd does not exist: no release is live on this host" >&2; exit 1; fi',
  'if [ -n "$lanes_cwd" ]; then cd -- "$lanes_cwd" || exit 1; fi',
  // --release: the release environment, from the directory `current` points to.
  'if [ -n "$lanes_rel" ]; then LANES_HOST=$lanes_rel; LANES_RELEASE_DIR=$(pwd -P); LANES_RELEASE_ID=${LANES_RELEASE_DIR##*/}; export LANES_HOST LANES_RELEASE_DIR LANES_RELEASE_ID; fi',
  'if [ -n "$lanes_user" ] && [ "$(id -un)" != "$lanes_user" ]; then',
  '  if [ "$(id -u)" != 0 ]; then echo "lanes: cannot run as $lanes_user: not root (use become)" >&2; exit 1; fi',
  '  set -- runuser -u "$lanes_user" -- /bin/sh -c "$lanes_cmd"',
  'else',
  '  set -- /bin/sh -c "$lanes_cmd"',
  'fi',
  'exec 3<&0',
  'setsid "$@" </dev/null 3<&- &',
  'pid=$!',
  '( while IFS= read -r _; do :; done; trap "" TERM; kill -TERM "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; sleep 2; kill -KILL "-$pid" 2>/dev/null ) <&3 >/dev/null 2>&1 &',
  'watch=$!',
  'exec 3<&-',
  'wait "$pid"; rc=$?',
  'kill "$watch" 2>/dev/null',
  'exit "$rc"',
].join('\n');

/** The one command line sent to the host: the same for every command (what varies goes on stdin). */
export const REMOTE_COMMAND_LINE = `/bin/sh -c ${shq(WRAPPER)} lanes-run`;

/** The first stdin line for {@link REMOTE_COMMAND_LINE}: base64 of the assignments, ending in a newline. */
export function remoteCommandInput(c: RemoteCommand): string {
  const lines = [`lanes_cmd=${shq(c.shell)}`, `lanes_cwd=${shq(c.cwd ?? '')}`, `lanes_user=${shq(c.user ?? '')}`, `lanes_rel=${shq(c.releaseHost ?? '')}`];
  for (const [name, value] of Object.entries(c.env ?? {})) {
    if (!ENV_NAME.test(name) || name.startsWith('lanes_')) throw new LanesError(`"${name}" is not a valid environment variable name`, { hint: 'letters, digits and "_", not starting with a digit nor with "lanes_"' });
    lines.push(`${name}=${shq(value)}; export ${name}`);
  }
  return `${Buffer.from(lines.join('\n'), 'utf8').toString('base64')}\n`;
}
