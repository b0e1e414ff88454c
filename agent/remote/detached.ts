/**
 * A remote script that survives the loss of its controller.
 *
 * One exec sends the script on stdin; a launcher writes it to a run directory on the host
 * (`/var/lib/lanes/runs/<nonce>/`, or `~/.lanes/runs/<nonce>/` when not root), starts it in a session
 * of its own (`setsid`, stdin from /dev/null, stdout and stderr to `out` there) and then follows `out`
 * on the channel until the script has written its exit code to `rc`. If the channel dies — the
 * connection dropped, the controller was killed or cancelled — only the follower dies (of SIGPIPE at
 * its next write); the script never writes to the channel, so it finishes (or restores) on its own.
 * A follower that delivered everything removes the run directory; one whose controller was lost
 * leaves `out` and `rc` there for a look, and the next apply removes runs older than a day.
 *
 * The script is started as `sh script.sh STATEDIR RUNDIR`.
 */
import { LanesError } from '../errors.js';
import type { SshConnection } from '../transport/connection.js';
import { shq } from '../transport/quote.js';

/** Where lanes keeps host-side state when it runs as root. */
export const HOST_STATE_DIR = '/var/lib/lanes';

/** Exit codes of the launcher itself (the script's own codes stay below these). */
export const EXIT_LAUNCH_FAILED = 120;
export const EXIT_SCRIPT_VANISHED = 121;
export const EXIT_FOLLOWER_LOST = 122;

/** @param stateDir for tests: the state directory to use instead of the default one. */
export function launcherScript(nonce: string, stateDir?: string): string {
  if (!/^[0-9a-f]{6,64}$/.test(nonce)) throw new Error(`invalid run nonce ${JSON.stringify(nonce)}`);
  const home = stateDir !== undefined ? `H=${shq(stateDir)}` : `if [ "$(id -u)" = 0 ]; then H=${shq(HOST_STATE_DIR)}; else H="\${HOME:-/tmp}/.lanes"; fi`;
  return `# lanes-detached-launcher ${nonce}
set -u
umask 077
${home}
R="$H/runs/${nonce}"
mkdir -p "$H/runs" && mkdir "$R" || { echo "cannot create the run directory $R" >&2; exit ${EXIT_LAUNCH_FAILED}; }
cat > "$R/script.sh" || { echo "cannot write $R/script.sh" >&2; exit ${EXIT_LAUNCH_FAILED}; }
: > "$R/out"
${runnerScript(nonce)}
# A session of its own: no signal meant for this channel's processes reaches the script.
if command -v setsid >/dev/null 2>&1; then
  setsid /bin/sh "$R/run.sh" "$H" "$R" < /dev/null > "$R/out" 2>&1 &
else
  nohup /bin/sh "$R/run.sh" "$H" "$R" < /dev/null > "$R/out" 2>&1 &
fi
off=0
while :; do
  # rc is written last: everything the script printed is in out once rc exists.
  fin=0; [ -e "$R/rc" ] && fin=1
  size=$(wc -c < "$R/out")
  # A write that fails means the channel is gone: stop following, and keep the run directory for a look.
  if [ "$size" -gt "$off" ]; then tail -c +$((off + 1)) "$R/out" | head -c $((size - off)) || exit ${EXIT_FOLLOWER_LOST}; off=$size; fi
  [ $fin = 1 ] && break
  if [ -s "$R/pid" ] && ! kill -0 "$(cat "$R/pid")" 2>/dev/null && [ ! -e "$R/rc" ]; then
    echo "the script on the host ended without an exit code (killed?); its log is $R/out" >&2
    exit ${EXIT_SCRIPT_VANISHED}
  fi
  sleep 0.2
done
rc=$(cat "$R/rc")
rm -rf "$R"
exit "$rc"
`;
}

/**
 * What runs the script on the host (RUNDIR/run.sh). The script may carry file contents (secrets
 * among them) and its log the state it re-read (file contents again): once it ended, the script is
 * removed even if it was killed, and when no follower delivered the log and removed the run directory
 * within 20 s (the controller is gone), the log keeps only this run's own frames — steps, the failing
 * phase without its output, the outcome — for a look. Nothing that ran there stays readable.
 */
function runnerScript(nonce: string): string {
  const frame = `^@@${nonce} `;
  return `cat > "$R/run.sh" <<'LANES_RUNNER'
R=$2
/bin/sh "$R/script.sh" "$1" "$R"
rm -f "$R/script.sh" "$R/op.out"
i=0
while [ -d "$R" ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i + 1)); done
if [ -f "$R/out" ]; then
  sed -n -e '/${frame}fail /{
s/^\\(@@${nonce} fail [^ ]* [^ ]*\\).*/\\1/p
d
}' -e '/${frame}/p' "$R/out" > "$R/out.tmp" 2>/dev/null && mv -f "$R/out.tmp" "$R/out"
fi
LANES_RUNNER`;
}

export interface DetachedResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `script` detached on the host and follow it. Resolves with its exit code and output; rejects
 * with one sentence when the connection is lost while it runs (`lostMessage`).
 */
export async function runDetached(
  conn: SshConnection,
  script: string,
  opts: { nonce: string; onStdout?: (chunk: string) => void; lostMessage: string },
): Promise<DetachedResult> {
  const lost = () =>
    new LanesError(opts.lostMessage, { kind: 'connect', host: conn.target.name });
  let result;
  try {
    result = await conn.exec(launcherScript(opts.nonce), { stdin: script, onStdout: opts.onStdout });
  } catch (err) {
    if (err instanceof LanesError && err.kind === 'connect') throw lost();
    throw err;
  }
  // A channel that closed without an exit status: the connection (or the follower) was cut.
  if (result.code === null) throw lost();
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}
