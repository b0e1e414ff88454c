/**
 * The one routine that reloads (or restarts) PHP-FPM and proves it alive afterwards, as a sh function
 * any remote script can define and call — the release (agent/rollout/release.ts) and apply's FPM
 * handler alike.
 *
 * Why it is more than `systemctl reload`: that returns as soon as SIGUSR2 is sent, even when FPM then
 * dies on its new configuration (see /work/shared/PHP-OPS-NOTES.md). What a reload looks like from
 * outside (php8.2-fpm 8.2 on Debian 12, process_control_timeout = 10s): systemd keeps the unit
 * `active` throughout; idle children exit within ~30 ms, busy ones finish their request first; then
 * the master execve()s itself under the same PID (its /proc/PID/auxv changes: fresh ASLR addresses),
 * its cmdline is the raw argv until it has read the configuration and set its title `php-fpm: master
 * process (…)` again; new children follow ~30 ms later. So a reload has really happened when every
 * pre-reload child (PID and start time) is gone, the master's auxv differs (or, with ASLR off, a new
 * child exists, or a second has passed with no children at all) and its title is back.
 *
 * Semantics of `lanes_fpm_reload ACTION UNIT BINARY CONF TIMEOUT_MS LOCK LOCK_WAIT_S [SOCKET…]`:
 *   1. one reload at a time per host: holds LOCK (flock, or a lock directory with a dead-owner takeover);
 *   2. `BINARY -t -y CONF` must pass, or nothing is touched (return 3);
 *   3. ACTION reload: a master that is not running is started instead; otherwise SIGUSR2 through
 *      systemd, then wait (up to TIMEOUT_MS) for the real reload as above.
 *      ACTION restart: `systemctl restart` (for settings a reload ignores), then wait for the master;
 *   4. alive: the master is running and every SOCKET gives a FastCGI answer (any status) before
 *      the deadline.
 * It frames its outcome (agent/remote/frame.ts) as one of
 *   fpm ok|started|restarted <ms> <master pid> <children> <b64 note>   (return 0)
 *   fpm test-fail <b64 php-fpm -t output>                               (return 3, nothing reloaded)
 *   fpm fail <b64 detail>                                               (return 4)
 * and runs in a subshell: its `exit`s, traps and lock never leak into the calling script.
 * It needs frameShell, SHELL_HELPERS, fcgiShell() and $LANES_W defined first ({@link fpmReloadScript}
 * does all that; apply's script includes {@link fpmReloadShell} and calls {@link fpmReloadCall}).
 */
import { parseFrames, unb64, type Frame } from './frame.js';
import { fcgiShell, framedScript, type FramedScript } from './sh.js';
import { shq } from '../transport/quote.js';

export const EXIT_FPM_TEST_FAILED = 3;
export const EXIT_FPM_RELOAD_FAILED = 4;

/** One FPM reload at a time per host: every lanes reload holds this lock while it runs. */
export const FPM_RELOAD_LOCK = '/run/lanes-fpm-reload.lock';

export interface FpmReloadOptions {
  /** systemd unit, e.g. php8.2-fpm.service */
  fpmUnit: string;
  /** e.g. /usr/sbin/php-fpm8.2 */
  fpmBinary: string;
  /** e.g. /etc/php/8.2/fpm/php-fpm.conf */
  confFile: string;
  /** 'reload' (default, graceful) or 'restart' (for listen owner/group/mode/backlog changes). */
  action?: 'reload' | 'restart';
  /** Pool sockets (path or host:port) that must give a FastCGI answer afterwards. */
  sockets?: string[];
  /** How long to wait for the reload and the pools (requests in flight hold a reload up to process_control_timeout). Default 60 s. */
  timeoutMs?: number;
  /** How long to wait for another reload's lock. Default 120 s. */
  lockWaitMs?: number;
  /** Override of {@link FPM_RELOAD_LOCK} (tests). */
  lockFile?: string;
}

/** sh defining `lanes_fpm_reload` (see the module comment). */
export function fpmReloadShell(): string {
  return `
lanes_fpm_reload() (
  A=$1; U=$2; BIN=$3; CONF=$4; TIMEOUT_MS=$5; LOCK=$6; LOCK_WAIT_S=$7
  shift 7
  _fail() { lanes_say fpm fail "$(lanes_b64 "$1")"; exit ${EXIT_FPM_RELOAD_FAILED}; }
  _tail() { systemctl status --no-pager -n 5 "$U" 2>&1 | tail -n 6; }
  _children() { lanes_procs | awk -v m="$1" '$2 == m { print $1 ":" $3 }'; }
  _ready() { case $(tr '\\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) in *"master process"*) return 0 ;; esac; return 1; }
  # Wait until the master behind the unit runs and has finished initialising; print its PID.
  _wait_master() {
    while :; do
      _st=$(systemctl is-active "$U" 2>/dev/null)
      _m=$(systemctl show -p MainPID --value "$U" 2>/dev/null)
      if [ "$_st" = active ] && [ "\${_m:-0}" != 0 ] && kill -0 "$_m" 2>/dev/null && _ready "$_m"; then echo "$_m"; return 0; fi
      case $_st in active|activating|reloading) ;; *) return 1 ;; esac
      [ "$(lanes_now_ms)" -ge "$DEADLINE" ] && return 1
      sleep 0.05
    done
  }
  # Every pool socket gives a FastCGI answer (a 404 for the probe's made-up script counts) before the deadline.
  _pools_answer() {
    for _s in "$@"; do
      until fcgi_request "$_s" /lanes-alive /lanes-alive "" "$LANES_W/fpm-alive"; do
        [ "$(lanes_now_ms)" -ge "$DEADLINE" ] && _fail "after the $A of $U, pool socket $_s does not answer: $(lanes_oneline "$(cat "$LANES_W/fpm-alive.err")")"
        sleep 0.1
      done
    done
  }
  _done() { _pools_answer "$@"; }
  if command -v flock >/dev/null 2>&1; then
    exec 9>>"$LOCK" || _fail "cannot open the reload lock $LOCK"
    flock -w "$LOCK_WAIT_S" 9 || _fail "another FPM reload still holds $LOCK after \${LOCK_WAIT_S}s"
  else
    _w=0
    until mkdir "$LOCK.d" 2>/dev/null; do
      _o=$(cat "$LOCK.d/pid" 2>/dev/null)
      if [ -n "$_o" ] && ! kill -0 "$_o" 2>/dev/null; then rm -rf "$LOCK.d"; continue; fi
      _w=$((_w + 1))
      [ "$_w" -ge $((LOCK_WAIT_S * 5)) ] && _fail "another FPM reload still holds $LOCK.d after \${LOCK_WAIT_S}s"
      sleep 0.2
    done
    echo $$ >"$LOCK.d/pid"
    trap 'rm -rf "$LOCK.d"' EXIT
  fi
  T0=$(lanes_now_ms)
  DEADLINE=$((T0 + TIMEOUT_MS))
  if ! _out=$("$BIN" -t -y "$CONF" 2>&1); then lanes_say fpm test-fail "$(lanes_b64 "$_out")"; exit ${EXIT_FPM_TEST_FAILED}; fi
  _st=$(systemctl is-active "$U" 2>/dev/null)
  if [ "$A" = restart ] || [ "$_st" != active ]; then
    systemctl reset-failed "$U" >/dev/null 2>&1
    if [ "$A" = restart ]; then _verb=restart; _was="restarted"; else _verb=start; _was="was \${_st:-unknown}: started it"; fi
    _out=$(systemctl $_verb "$U" 2>&1) || _fail "systemctl $_verb $U failed: $_out $(_tail)"
    M=$(_wait_master) || _fail "$U was \${_st:-unknown}, systemctl $_verb ran, and it is now $(systemctl is-active "$U" 2>/dev/null): $(_tail)"
    _done "$@"
    lanes_say fpm "$( [ "$A" = restart ] && echo restarted || echo started)" $(( $(lanes_now_ms) - T0 )) "$M" "$(_children "$M" | wc -l | tr -d ' ')" "$(lanes_b64 "$U $_was")"
    exit 0
  fi
  # What the reload must replace: the children (PID:start time) and the master's process image.
  M=$(systemctl show -p MainPID --value "$U" 2>/dev/null)
  { [ "\${M:-0}" != 0 ] && kill -0 "$M" 2>/dev/null; } || _fail "$U is active but has no running master process (MainPID \${M:-0})"
  OLD=$(_children "$M")
  AUX0=$(cksum <"/proc/$M/auxv" 2>/dev/null)
  ASLR=$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null || echo 2)
  _out=$(systemctl reload "$U" 2>&1) || _fail "systemctl reload $U failed: $_out"
  GONE_AT=
  while :; do
    _st=$(systemctl is-active "$U" 2>/dev/null)
    case $_st in active|reloading|activating) ;; *) _fail "$U is \${_st:-unknown} after the reload: $(_tail)" ;; esac
    P=$(systemctl show -p MainPID --value "$U" 2>/dev/null)
    if [ "\${P:-0}" != 0 ] && [ "$P" != "$M" ] && kill -0 "$P" 2>/dev/null && _ready "$P"; then
      _done "$@"
      lanes_say fpm ok $(( $(lanes_now_ms) - T0 )) "$P" "$(_children "$P" | wc -l | tr -d ' ')" "$(lanes_b64 "the master was replaced (pid $M, now $P): FPM restarted instead of reloading")"
      exit 0
    fi
    _left=""
    for _c in $OLD; do _s=$(lanes_start "\${_c%%:*}") && [ "$_s" = "\${_c#*:}" ] && _left="$_left \${_c%%:*}"; done
    if [ -z "$_left" ] && kill -0 "$M" 2>/dev/null && _ready "$M"; then
      [ -z "$GONE_AT" ] && GONE_AT=$(lanes_now_ms)
      NEW=$(_children "$M")
      _fin=0
      if [ "$ASLR" != 0 ] && [ -n "$AUX0" ]; then
        [ "$(cksum <"/proc/$M/auxv" 2>/dev/null)" != "$AUX0" ] && _fin=1
      elif [ -n "$NEW" ]; then _fin=1
      elif [ -z "$OLD" ] && [ $(( $(lanes_now_ms) - GONE_AT )) -ge 1000 ]; then _fin=1
      fi
      if [ "$_fin" = 1 ]; then
        _done "$@"
        lanes_say fpm ok $(( $(lanes_now_ms) - T0 )) "$M" "$(printf '%s\\n' "$NEW" | grep -c .)" "$(lanes_b64 reloaded)"
        exit 0
      fi
    fi
    if [ "$(lanes_now_ms)" -ge "$DEADLINE" ]; then
      [ -n "$_left" ] && _fail "the reload did not finish within $(( (DEADLINE - T0) / 1000 ))s: old children$_left are still running (requests in flight?)"
      _fail "the reload did not finish within $(( (DEADLINE - T0) / 1000 ))s: the master (pid $M) did not re-execute"
    fi
    sleep 0.05
  done
)
`;
}

/** The command line calling the routine (after {@link fpmReloadShell}). */
export function fpmReloadCall(o: FpmReloadOptions): string {
  const timeoutMs = Math.max(1000, Math.round(o.timeoutMs ?? 60_000));
  const lockWaitS = Math.max(1, Math.ceil((o.lockWaitMs ?? 120_000) / 1000));
  return ['lanes_fpm_reload', o.action ?? 'reload', o.fpmUnit, o.fpmBinary, o.confFile, String(timeoutMs), o.lockFile ?? FPM_RELOAD_LOCK, String(lockWaitS), ...(o.sockets ?? [])]
    .map(shq)
    .join(' ');
}

/** A whole script that reloads FPM: the kit, the routine, one call; its exit status is the routine's. */
export function fpmReloadScript(o: FpmReloadOptions): FramedScript {
  return framedScript([fpmReloadCall(o)], { doneKind: 'fpm', tmpName: 'fpm-reload', extra: [fcgiShell(), fpmReloadShell()] });
}

export interface ReloadResult {
  ok: boolean;
  outcome: 'reloaded' | 'started' | 'restarted' | 'test-failed' | 'failed';
  ms?: number;
  /** The master PID afterwards. */
  pid?: number;
  /** How many children the master had when the reload was seen finished. */
  children?: number;
  /** php-fpm -t output, the failure, or a note ("reloaded", "the master was replaced …"). */
  detail: string;
}

/** The routine's outcome from the frames of the script that called it. */
export function parseFpmReload(frames: Frame[]): ReloadResult {
  const f = frames.filter((x) => x.kind === 'fpm').at(-1);
  if (!f) return { ok: false, outcome: 'failed', detail: 'the reload script stopped before saying what happened' };
  const [kind, a, b, c, d] = f.fields;
  if (kind === 'ok' || kind === 'started' || kind === 'restarted') {
    return { ok: true, outcome: kind === 'ok' ? 'reloaded' : kind, ms: Number(a), pid: Number(b), children: Number(c), detail: unb64(d) };
  }
  if (kind === 'test-fail') return { ok: false, outcome: 'test-failed', detail: unb64(a) };
  return { ok: false, outcome: 'failed', detail: unb64(a) || 'the reload failed without saying why' };
}

/** {@link parseFpmReload} of a script's whole stdout. */
export function parseReload(out: string, nonce: string): ReloadResult {
  return parseFpmReload(parseFrames(out, nonce));
}

/** The lines of php-fpm -t that say what is wrong, without timestamps. */
export function fpmTestErrors(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.replace(/^\[[^\]]*\]\s*/, '').trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /^(ERROR|ALERT|EMERG|CRIT)/.test(l) && !/FPM initialization failed/.test(l));
  return (errors.length > 0 ? errors : lines).join('; ');
}

/** A sentence for people. */
export function reloadFailureMessage(r: ReloadResult): string {
  if (r.outcome === 'test-failed') return `php-fpm -t refused the configuration, nothing was reloaded: ${fpmTestErrors(r.detail) || '(no output)'}`;
  if (r.ok) return r.detail;
  return `FPM reload failed: ${r.detail.replace(/\s*\n\s*/g, ' | ')}`;
}
