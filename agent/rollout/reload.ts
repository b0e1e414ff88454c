/**
 * Making PHP-FPM serve a new release: a graceful reload (default), or, for `reload: opcache-reset`,
 * an OPcache reset inside each pool over FastCGI. Both are shell scripts run as root on the host.
 *
 * What a reload looks like from outside (measured on the lab, php8.2-fpm 8.2 on Debian 12,
 * process_control_timeout = 10s): `systemctl reload` sends SIGUSR2 and returns at once, and systemd
 * keeps the unit `active` throughout (FPM sends no RELOADING=1). Idle children exit within ~30 ms;
 * a child serving a request finishes it first (a 3 s request kept them all waiting 2.7 s). Only then
 * does the master execve() itself under the same PID: its /proc/PID/auxv changes (fresh ASLR
 * addresses) and its cmdline is briefly the raw argv (`/usr/sbin/php-fpm8.2 --nodaemonize …`) until it
 * has read the configuration and set its title `php-fpm: master process (…)` again; the new children
 * appear ~30 ms later. So a reload has really happened when every pre-reload child (PID and start
 * time) is gone, the master's auxv differs from before, and its title is back. With ASLR off
 * (randomize_va_space = 0) the auxv cannot tell, and a child the new master spawned has to (or, when
 * the pools start no children, a second's grace after the old ones left).
 *
 * Output: `@@reload ok <ms> <master pid> <new children> <base64 note>`,
 *         `@@reload started <ms> <master pid> <new children> <base64 note>` (FPM was not running),
 *         `@@reload test-fail <base64 php-fpm -t output>` (exit 3, nothing reloaded),
 *         `@@reload fail <base64 detail>` (exit 4).
 */
import { shq } from '../transport/quote.js';
import { FCGI_SHELL, SHELL_HELPERS, fcgiAddress, markLines, unb64 } from './health.js';
import type { ReleasePool } from './types.js';

export const EXIT_FPM_TEST_FAILED = 3;
export const EXIT_FPM_RELOAD_FAILED = 4;

/** One FPM reload at a time per host: every lanes reload holds this lock (flock) while it runs. */
export const FPM_RELOAD_LOCK = '/run/lanes-fpm-reload.lock';

export interface FpmReloadOptions {
  /** systemd unit, e.g. php8.2-fpm.service */
  fpmUnit: string;
  /** e.g. /usr/sbin/php-fpm8.2 */
  fpmBinary: string;
  /** e.g. /etc/php/8.2/fpm/php-fpm.conf */
  confFile: string;
  /** How long to wait for the reload to finish (requests in flight hold it up to process_control_timeout). Default 60 s. */
  timeoutMs?: number;
  /** How long to wait for another reload's lock. Default 120 s. */
  lockWaitMs?: number;
  /** Override of {@link FPM_RELOAD_LOCK} (tests). */
  lockFile?: string;
}

const RELOAD_FUNCS = `
lanes_mark() { printf '@@reload %s\\n' "$*"; }
lanes_fail() { lanes_mark fail "$(lanes_b64 "$1")"; exit ${EXIT_FPM_RELOAD_FAILED}; }
lanes_unit_tail() { systemctl status --no-pager -n 5 "$U" 2>&1 | tail -n 6; }
lanes_children() { lanes_procs | awk -v m="$1" '$2 == m { print $1 ":" $3 }'; }
lanes_master_ready() {
  _c=$(tr '\\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
  case $_c in *"master process"*) return 0 ;; esac
  return 1
}
lanes_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>>"$LOCK" || lanes_fail "cannot open the reload lock $LOCK"
    flock -w "$LOCK_WAIT_S" 9 || lanes_fail "another FPM reload still holds $LOCK after \${LOCK_WAIT_S}s"
    return 0
  fi
  # No flock: a lock directory holding the owner's PID; a dead owner's lock is taken over.
  _w=0
  until mkdir "$LOCK.d" 2>/dev/null; do
    _o=$(cat "$LOCK.d/pid" 2>/dev/null)
    if [ -n "$_o" ] && ! kill -0 "$_o" 2>/dev/null; then rm -rf "$LOCK.d"; continue; fi
    _w=$((_w + 1))
    [ "$_w" -ge $((LOCK_WAIT_S * 5)) ] && lanes_fail "another FPM reload still holds $LOCK.d after \${LOCK_WAIT_S}s"
    sleep 0.2
  done
  echo $$ >"$LOCK.d/pid"
  trap 'rm -rf "$LOCK.d"' EXIT
}
# Wait until the master behind the unit runs and has finished initialising; print its PID.
lanes_wait_master() {
  while :; do
    _st=$(systemctl is-active "$U" 2>/dev/null)
    _m=$(systemctl show -p MainPID --value "$U" 2>/dev/null)
    if [ "$_st" = active ] && [ "\${_m:-0}" != 0 ] && kill -0 "$_m" 2>/dev/null && lanes_master_ready "$_m"; then echo "$_m"; return 0; fi
    case $_st in active|activating|reloading) ;; *) return 1 ;; esac
    [ "$(lanes_now_ms)" -ge "$DEADLINE" ] && return 1
    sleep 0.05
  done
}
`;

/** Test the configuration, reload FPM gracefully and wait until the reload has really happened. */
export function fpmReloadScript(o: FpmReloadOptions): string {
  const timeoutMs = Math.max(1000, Math.round(o.timeoutMs ?? 60_000));
  const lockWaitS = Math.max(1, Math.ceil((o.lockWaitMs ?? 120_000) / 1000));
  return [
    'set -u',
    `U=${shq(o.fpmUnit)}`,
    `BIN=${shq(o.fpmBinary)}`,
    `CONF=${shq(o.confFile)}`,
    `LOCK=${shq(o.lockFile ?? FPM_RELOAD_LOCK)}`,
    `LOCK_WAIT_S=${shq(lockWaitS)}`,
    SHELL_HELPERS,
    RELOAD_FUNCS,
    'lanes_lock',
    'T0=$(lanes_now_ms)',
    `DEADLINE=$((T0 + ${shq(timeoutMs)}))`,
    // 1. The configuration must pass php-fpm -t, or nothing is touched.
    `if ! out=$("$BIN" -t -y "$CONF" 2>&1); then lanes_mark test-fail "$(lanes_b64 "$out")"; exit ${EXIT_FPM_TEST_FAILED}; fi`,
    // 2. A master that is not running is started instead (a reload would do nothing).
    'st=$(systemctl is-active "$U" 2>/dev/null)',
    'if [ "$st" != active ]; then',
    '  systemctl reset-failed "$U" >/dev/null 2>&1',
    '  out=$(systemctl start "$U" 2>&1) || lanes_fail "$U was ${st:-unknown} and did not start: $out $(lanes_unit_tail)"',
    '  M=$(lanes_wait_master) || lanes_fail "$U was ${st:-unknown}, was started, and is now $(systemctl is-active "$U" 2>/dev/null): $(lanes_unit_tail)"',
    '  lanes_mark started $(( $(lanes_now_ms) - T0 )) "$M" "$(lanes_children "$M" | wc -l | tr -d " ")" "$(lanes_b64 "$U was ${st:-unknown}: started it")"',
    '  exit 0',
    'fi',
    // 3. What the reload must replace: the children (PID:start time) and the master's process image.
    'M=$(systemctl show -p MainPID --value "$U" 2>/dev/null)',
    '{ [ "${M:-0}" != 0 ] && kill -0 "$M" 2>/dev/null; } || lanes_fail "$U is active but has no running master process (MainPID ${M:-0})"',
    'OLD=$(lanes_children "$M")',
    'AUX0=$(cksum <"/proc/$M/auxv" 2>/dev/null)',
    'ASLR=$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null || echo 2)',
    'out=$(systemctl reload "$U" 2>&1) || lanes_fail "systemctl reload $U failed: $out"',
    'GONE_AT=',
    'while :; do',
    '  st=$(systemctl is-active "$U" 2>/dev/null)',
    '  case $st in active|reloading|activating) ;; *) lanes_fail "$U is ${st:-unknown} after the reload: $(lanes_unit_tail)" ;; esac',
    '  P=$(systemctl show -p MainPID --value "$U" 2>/dev/null)',
    '  if [ "${P:-0}" != 0 ] && [ "$P" != "$M" ] && kill -0 "$P" 2>/dev/null && lanes_master_ready "$P"; then',
    '    lanes_mark ok $(( $(lanes_now_ms) - T0 )) "$P" "$(lanes_children "$P" | wc -l | tr -d " ")" "$(lanes_b64 "the master was replaced (pid $M, now $P): FPM restarted instead of reloading")"',
    '    exit 0',
    '  fi',
    '  left=""',
    '  for c in $OLD; do s=$(lanes_start "${c%%:*}") && [ "$s" = "${c#*:}" ] && left="$left ${c%%:*}"; done',
    '  if [ -z "$left" ] && kill -0 "$M" 2>/dev/null && lanes_master_ready "$M"; then',
    '    [ -z "$GONE_AT" ] && GONE_AT=$(lanes_now_ms)',
    '    NEW=$(lanes_children "$M")',
    '    done=0',
    '    if [ "$ASLR" != 0 ] && [ -n "$AUX0" ]; then',
    '      [ "$(cksum <"/proc/$M/auxv" 2>/dev/null)" != "$AUX0" ] && done=1',
    '    elif [ -n "$NEW" ]; then done=1',
    '    elif [ -z "$OLD" ] && [ $(( $(lanes_now_ms) - GONE_AT )) -ge 1000 ]; then done=1',
    '    fi',
    '    if [ "$done" = 1 ]; then',
    '      lanes_mark ok $(( $(lanes_now_ms) - T0 )) "$M" "$(printf "%s\\n" "$NEW" | grep -c .)" "$(lanes_b64 "reloaded")"',
    '      exit 0',
    '    fi',
    '  fi',
    '  if [ "$(lanes_now_ms)" -ge "$DEADLINE" ]; then',
    '    if [ -n "$left" ]; then lanes_fail "the reload did not finish within $(( (DEADLINE - T0) / 1000 ))s: old children$left are still running (requests in flight?)"; fi',
    '    lanes_fail "the reload did not finish within $(( (DEADLINE - T0) / 1000 ))s: the master (pid $M) did not re-execute"',
    '  fi',
    '  sleep 0.05',
    'done',
    '',
  ].join('\n');
}

export interface ReloadResult {
  ok: boolean;
  outcome: 'reloaded' | 'started' | 'test-failed' | 'failed';
  ms?: number;
  /** The master PID after the reload. */
  pid?: number;
  /** How many children the new master had when the reload was seen finished. */
  children?: number;
  /** php-fpm -t output, the failure, or a note ("reloaded", "the master was replaced …"). */
  detail: string;
}

export function parseReload(out: string): ReloadResult {
  const line = markLines(out, 'reload').at(-1);
  if (!line) return { ok: false, outcome: 'failed', detail: `the reload script printed no result${tailOf(out)}` };
  const [kind, a, b, c, d] = line;
  if (kind === 'ok' || kind === 'started') {
    return { ok: true, outcome: kind === 'ok' ? 'reloaded' : 'started', ms: Number(a), pid: Number(b), children: Number(c), detail: unb64(d) };
  }
  if (kind === 'test-fail') return { ok: false, outcome: 'test-failed', detail: unb64(a) };
  return { ok: false, outcome: 'failed', detail: unb64(a) };
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

export function reloadFailureMessage(r: ReloadResult): string {
  if (r.outcome === 'test-failed') return `php-fpm -t refused the configuration, nothing was reloaded: ${fpmTestErrors(r.detail) || '(no output)'}`;
  if (r.ok) return r.detail;
  return `FPM reload failed: ${r.detail.replace(/\s*\n\s*/g, ' | ')}`;
}

/**
 * `process_control_timeout` as php-fpm.conf has it: true when it lets in-flight requests finish on a
 * reload, i.e. a non-zero duration ("10s", "10", "1m"); unset, 0, "0s" or nonsense → false.
 */
export function processControlTimeoutOk(value: string | undefined): boolean {
  if (value === undefined) return false;
  const v = value
    .trim()
    .replace(/^(["'])(.*)\1$/, '$2')
    .trim();
  const m = /^(\d+)\s*([smhd]?)$/i.exec(v);
  return m !== null && Number(m[1]) > 0;
}

/** The PHP run inside each pool: resets OPcache and says what happened, with the file's random name as a nonce. */
const OPCACHE_PHP = [
  '<?php',
  "header('Content-Type: text/plain');",
  "$n = basename(__FILE__, '.php');",
  "if (!function_exists('opcache_reset')) { echo \"lanes-opcache $n absent\"; }",
  "elseif (!ini_get('opcache.enable')) { echo \"lanes-opcache $n disabled\"; }",
  "elseif (@opcache_reset()) { echo \"lanes-opcache $n reset\"; }",
  "else { echo \"lanes-opcache $n refused \" . ini_get('opcache.restrict_api'); }",
  '',
].join('\n');

const OPCACHE_FUNCS = `
lanes_op() { printf '@@opcache %s %s %s\\n' "$1" "$2" "$(lanes_b64 "$3")"; }
opcache_pool() {
  _f="$LANES_W/answer"
  if ! fcgi_request "$2" /lanes-opcache-reset.php "$F" "" "$_f"; then
    lanes_op "$1" fail "no FastCGI answer on $2: $(lanes_oneline "$(cat "$_f.err")")"; return 1
  fi
  _b=$(fcgi_body "$_f"); _c=$(fcgi_status "$_f")
  case $_b in
    "lanes-opcache $N reset") lanes_op "$1" ok "OPcache reset" ;;
    "lanes-opcache $N disabled") lanes_op "$1" ok "OPcache is disabled in this pool: nothing to reset" ;;
    "lanes-opcache $N absent") lanes_op "$1" ok "OPcache is not loaded in this pool: nothing to reset" ;;
    "lanes-opcache $N refused"*) lanes_op "$1" fail "opcache_reset() was refused (opcache.restrict_api = '\${_b#"lanes-opcache $N refused "}')"; return 1 ;;
    *) lanes_op "$1" fail "the reset script answered '$(lanes_oneline "$_b")' (HTTP status $_c) instead of running"; return 1 ;;
  esac
}
`;

/**
 * Reset OPcache in each pool (no reload): a PHP file readable by the pool user is written to /run
 * (`opts.dir`, root-owned and traversable by the pool user),
 * requested over FastCGI on the pool's socket, and removed. Prints `@@opcache <pool> ok|fail <b64>`
 * and `@@opcache-done ok|fail`; exits 0 only when every pool reset.
 */
export function opcacheResetScript(pools: ReleasePool[], opts: { dir?: string } = {}): string {
  return [
    'set -u',
    SHELL_HELPERS,
    FCGI_SHELL,
    OPCACHE_FUNCS,
    `LANES_W=$(mktemp -d /tmp/lanes-opcache.XXXXXX) || { echo '@@opcache-done fail'; exit 1; }`,
    `F=$(mktemp ${shq(`${opts.dir ?? '/run'}/lanes-opcache-XXXXXXXXXX`)}) || { echo '@@opcache-done fail'; exit 1; }`,
    `trap 'rm -rf "$LANES_W" "$F" "$F.php"' EXIT`,
    'mv -f "$F" "$F.php" && F="$F.php" || { echo \'@@opcache-done fail\'; exit 1; }',
    'N=$(basename "$F" .php)',
    `printf '%s' ${shq(OPCACHE_PHP)} >"$F" && chmod 0644 "$F" || { echo '@@opcache-done fail'; exit 1; }`,
    'ALL=ok',
    ...pools.map((p) => `opcache_pool ${shq(p.name)} ${shq(fcgiAddress(p.listen))} || ALL=fail`),
    'echo "@@opcache-done $ALL"',
    '[ "$ALL" = ok ]',
    '',
  ].join('\n');
}

export interface OpcacheResult {
  ok: boolean;
  pools: { name: string; ok: boolean; detail: string }[];
}

export function parseOpcache(out: string): OpcacheResult {
  const pools = markLines(out, 'opcache').map(([name = '', state = '', detail]) => ({ name, ok: state === 'ok', detail: unb64(detail) }));
  const done = markLines(out, 'opcache-done').at(-1)?.[0];
  return { ok: done === 'ok' && pools.every((p) => p.ok), pools };
}

export function opcacheFailureMessage(r: OpcacheResult): string {
  const failed = r.pools.filter((p) => !p.ok);
  if (failed.length === 0) return r.ok ? 'OPcache reset in every pool' : 'the OPcache reset printed no result';
  return failed.map((p) => `pool ${p.name}: ${p.detail}`).join('; ');
}

function tailOf(out: string): string {
  const t = out.trim().split(/\r?\n/).slice(-3).join(' | ');
  return t ? `: ${t}` : '';
}
