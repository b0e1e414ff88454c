/**
 * Queue workers around a release switch, as shell scripts run as root on the host:
 *
 *   drain    stop every Supervisor program and systemd unit of `spec.workers` (each stop waits for
 *            the worker's own grace period: Supervisor's stopwaitsecs, systemd's TimeoutStopSec),
 *            then prove they are down: Supervisor reports STOPPED/EXITED/FATAL, systemd
 *            inactive/failed, and no process that belonged to them is alive (PID and start time).
 *   undrain  start them again, wait until they run (Supervisor's startsecs is waited by `start`;
 *            a systemd unit must keep the same MainPID for a second), then prove each process runs
 *            the NEW release: its working directory, or a path on its command line, resolves into
 *            the release directory, and it started after the switch. A worker that was never
 *            restarted keeps the old code although `current` already points at the new release.
 *
 * Frames (agent/remote/frame.ts):
 *   was <name> running|stopped                  drain: its state before the stop (a rollback restores it)
 *   worker <name> drained <ms>
 *   worker <process> running <pid> <b64 cwd>
 *   worker <name|process> stale <b64 detail>
 *   worker <name|process> fail <b64 detail>
 *   workers ok|fail [<b64 why>]
 * The exit status is 0 only for `workers ok`.
 */
import { parseFrames, unb64 } from '../remote/frame.js';
import { framedScript, type FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';
import type { ReleaseSpec } from './types.js';

/** Where Supervisor keeps its configuration (Debian, RHEL), for stopwaitsecs/startsecs in messages. */
const SUPERVISOR_CONF_GLOBS = [
  '/etc/supervisor/supervisord.conf',
  '/etc/supervisor/conf.d/*.conf',
  '/etc/supervisord.conf',
  '/etc/supervisord.d/*.ini',
  '/etc/supervisord.d/*.conf',
];

export const WORKER_FUNCS = `
LANES_RESULT=ok
LANES_SV_CONFS=\${LANES_SV_CONFS:-${SUPERVISOR_CONF_GLOBS.join(' ')}}
lanes_worker() { lanes_say worker "$@"; }
lanes_wfail() { lanes_worker "$1" fail "$(lanes_b64 "$2")"; LANES_RESULT=fail; }
lanes_stale() { lanes_worker "$1" stale "$(lanes_b64 "$2")"; LANES_RESULT=fail; }
lanes_cmd() { tr '\\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | sed 's/ *$//' | cut -c1-120; }
# A Supervisor program option from its [program:NAME] section (default $3).
lanes_sv_opt() {
  _v=$(cat $LANES_SV_CONFS 2>/dev/null | awk -v s="[program:$1]" -v k="$2" '
    /^[ \\t]*\\[/ { h = $0; gsub(/[ \\t]/, "", h); on = (h == s); next }
    on { l = $0; sub(/^[ \\t]+/, "", l); if (index(l, k) == 1) { r = substr(l, length(k) + 1); sub(/^[ \\t]*=[ \\t]*/, "", r); sub(/[ \\t]+;.*$/, "", r); sub(/[ \\t]+$/, "", r); if (r != "") v = r } }
    END { if (v != "") print v }')
  echo "\${_v:-$3}"
}
# Supervisor's lines for a program or group NAME: "process state pid" (pid "-" when not running).
lanes_sv_lines() {
  printf '%s\\n' "$LANES_SV" | awk -v n="$1" '$1 == n || index($1, n ":") == 1 {
    p = "-"; for (i = 3; i < NF; i++) if ($i == "pid") { p = $(i + 1); sub(/,$/, "", p) }
    print $1, $2, p }'
}
lanes_sv_status() { LANES_SV=$(supervisorctl status 2>&1); LANES_SV_RC=$?; }
# What to address: "NAME:*" for a group (numprocs > 1 or a [group:]), NAME for a lone program.
lanes_sv_target() { if lanes_sv_lines "$1" | awk '{ print $1 }' | grep -q ':'; then echo "$1:*"; else echo "$1"; fi; }
lanes_sv_missing() {
  case $LANES_SV_RC in
    0|3) lanes_wfail "$1" "$1: no Supervisor program or group of that name" ;;
    *) lanes_wfail "$1" "$1: supervisorctl status failed: $(lanes_oneline "$LANES_SV")" ;;
  esac
}
# PIDs of a process tree as "pid:start" (from a /proc snapshot in $LANES_W/procs).
lanes_tree() {
  awk -v r="$1" '{ pp[$1] = $2; st[$1] = $3 }
    END { if (!(r in st)) exit; k[r] = 1; do { ch = 0; for (p in pp) if (!(p in k) && (pp[p] in k)) { k[p] = 1; ch = 1 } } while (ch); for (p in k) print p ":" st[p] }' "$LANES_W/procs"
}
lanes_alive() { _a=""; for _e in $1; do _s=$(lanes_start "\${_e%%:*}") && [ "$_s" = "\${_e#*:}" ] && _a="$_a \${_e%%:*}"; done; echo "\${_a# }"; }
lanes_describe_pids() { _o=""; for _p in $1; do _o="$_o, pid $_p ($(lanes_cmd "$_p"))"; done; echo "\${_o#, }"; }
lanes_cgroup_procs() {
  [ -n "$1" ] || return 0
  for _b in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
    if [ -r "$_b$1/cgroup.procs" ]; then cat "$_b$1/cgroup.procs" 2>/dev/null; return 0; fi
  done
}

drain_supervisor() {
  _n=$1; _t0=$(lanes_now_ms)
  lanes_sv_status
  _lines=$(lanes_sv_lines "$_n")
  [ -n "$_lines" ] || { lanes_sv_missing "$_n"; return 1; }
  _target=$(lanes_sv_target "$_n")
  # Whether it ran before the drain: a rollback starts again exactly what was running.
  if printf '%s\n' "$_lines" | awk '$2 == "RUNNING" || $2 == "STARTING" || $2 == "BACKOFF" { f = 1 } END { exit !f }'; then lanes_say was "$_n" running; else lanes_say was "$_n" stopped; fi
  _sw=$(lanes_sv_opt "$_n" stopwaitsecs 10)
  lanes_procs >"$LANES_W/procs"
  : >"$LANES_W/pids"
  printf '%s\\n' "$_lines" | while read -r _p _s _pid; do
    [ "$_pid" = - ] && continue
    for _e in $(lanes_tree "$_pid"); do echo "$_p $_e"; done
  done >"$LANES_W/pids"
  _out=$(supervisorctl stop "$_target" 2>&1)
  # A process dies a moment after Supervisor has reaped the leader; give stragglers 2s.
  _i=0
  while :; do
    lanes_sv_status
    _bad=""; _leftover=""
    _lines=$(lanes_sv_lines "$_n")
    _bad=$(printf '%s\\n' "$_lines" | awk '$2 != "STOPPED" && $2 != "EXITED" && $2 != "FATAL" && NF')
    while read -r _p _e; do
      [ -n "$_p" ] || continue
      [ -n "$(lanes_alive "$_e")" ] && _leftover="$_leftover
$_p \${_e%%:*}"
    done <"$LANES_W/pids"
    [ -z "$_bad" ] && [ -z "$_leftover" ] && break
    _i=$((_i + 1)); [ "$_i" -ge 20 ] && break
    sleep 0.1
  done
  if [ -n "$_bad" ] || [ -n "$_leftover" ]; then
    _msg=""
    if [ -n "$_bad" ]; then
      _msg=$(printf '%s\\n' "$_bad" | awk -v w="$_sw" 'NF { printf "%s%s did not stop within stopwaitsecs=%s: it is %s%s", (NR > 1 ? "; " : ""), $1, w, $2, ($3 != "-" ? " (pid " $3 ")" : "") }')
    fi
    for _p in $(printf '%s\\n' "$_leftover" | awk 'NF { print $1 }' | sort -u); do
      _pids=$(printf '%s\\n' "$_leftover" | awk -v p="$_p" '$1 == p { print $2 }' | tr '\\n' ' ')
      _msg="\${_msg:+$_msg; }$_p did not stop within stopwaitsecs=$_sw: $(lanes_describe_pids "$_pids") still running"
    done
    lanes_wfail "$_n" "$_msg (supervisorctl stop said: $(lanes_oneline "$_out" 120))"
    return 1
  fi
  lanes_worker "$_n" drained $(( $(lanes_now_ms) - _t0 ))
}

drain_systemd() {
  _n=$1; _t0=$(lanes_now_ms)
  _load=$(systemctl show -p LoadState --value "$_n" 2>/dev/null)
  if [ "$_load" != loaded ]; then lanes_wfail "$_n" "$_n: no systemd unit of that name (LoadState \${_load:-unknown})"; return 1; fi
  case $(systemctl is-active "$_n" 2>/dev/null) in active|activating|reloading) lanes_say was "$_n" running ;; *) lanes_say was "$_n" stopped ;; esac
  _cg=$(systemctl show -p ControlGroup --value "$_n" 2>/dev/null)
  _main=$(systemctl show -p MainPID --value "$_n" 2>/dev/null)
  lanes_procs >"$LANES_W/procs"
  _pids=""
  for _p in $(lanes_cgroup_procs "$_cg") $( [ "\${_main:-0}" != 0 ] && echo "$_main"); do
    _pids="$_pids $(lanes_tree "$_p" | tr '\\n' ' ')"
  done
  _out=$(systemctl stop "$_n" 2>&1); _rc=$?
  _i=0
  while :; do
    _st=$(systemctl is-active "$_n" 2>/dev/null)
    _left=$(lanes_alive "$_pids")
    _cgl=$(lanes_cgroup_procs "$(systemctl show -p ControlGroup --value "$_n" 2>/dev/null)" | tr '\\n' ' ')
    case $_st in inactive|failed) [ -z "$_left" ] && [ -z "\${_cgl% }" ] && break ;; esac
    _i=$((_i + 1)); [ "$_i" -ge 20 ] && break
    sleep 0.1
  done
  case $_st in
    inactive|failed)
      _all=$(printf '%s %s\\n' "$_left" "$_cgl" | tr ' ' '\\n' | awk 'NF && !s[$1]++' | tr '\\n' ' ')
      if [ -n "\${_all% }" ]; then
        lanes_wfail "$_n" "$_n is $_st but $(lanes_describe_pids "$_all") of it still running"
        return 1
      fi ;;
    *)
      _tss=$(systemctl show -p TimeoutStopUSec --value "$_n" 2>/dev/null)
      _why="$_n did not stop within TimeoutStopSec=\${_tss:-?}: it is \${_st:-unknown}"
      [ -n "$_left" ] && _why="$_why, $(lanes_describe_pids "$_left") still running"
      [ "$_rc" != 0 ] && _why="$_why (systemctl stop said: $(lanes_oneline "$_out" 120))"
      lanes_wfail "$_n" "$_why"
      return 1 ;;
  esac
  lanes_worker "$_n" drained $(( $(lanes_now_ms) - _t0 ))
}

# Start time of a process in ms since the epoch (10 ms resolution).
lanes_started_ms() { _s=$(lanes_start "$1") || return 1; echo $(( LANES_BOOT_MS + _s * 1000 / LANES_TCK )); }
lanes_dur() { if [ "$1" -ge 1000 ]; then echo "$(( $1 / 1000 )).$(( $1 % 1000 / 100 ))s"; else echo "$1ms"; fi; }
lanes_iso() { date -u -d "@$(( $1 / 1000 ))" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo "@$(( $1 / 1000 ))"; }
# Does the process run the release in $LANES_REL? Prints the running line or a stale one.
verify_process() {
  _name=$1; _pid=$2
  _cwd=$(readlink -f "/proc/$_pid/cwd" 2>/dev/null)
  _sms=$(lanes_started_ms "$_pid") || { lanes_wfail "$_name" "$_name (pid $_pid) exited while being checked"; return 1; }
  _in=0
  case "$_cwd/" in "$LANES_REL"/*) _in=1 ;; esac
  if [ "$_in" = 0 ]; then
    # Or a path on its command line (e.g. /var/www/app/current/artisan): resolved against its cwd.
    _hit=$(tr '\\0' '\\n' <"/proc/$_pid/cmdline" 2>/dev/null | while IFS= read -r _a; do
      case $_a in ''|-*) continue ;; /*) _f=$_a ;; *) _f="$_cwd/$_a" ;; esac
      [ -e "$_f" ] || continue
      _r=$(readlink -f "$_f" 2>/dev/null) || continue
      case "$_r/" in "$LANES_REL"/*) echo "$_a"; break ;; esac
    done)
    [ -n "$_hit" ] && _in=1
  fi
  if [ "$_sms" -lt "$LANES_SWITCHED" ]; then
    lanes_stale "$_name" "$_name (pid $_pid) started at $(lanes_iso "$_sms"), $(lanes_dur $(( LANES_SWITCHED - _sms ))) before the switch to $LANES_REL: it runs stale code from \${_cwd:-?}"
    return 1
  fi
  if [ "$_in" = 0 ]; then
    lanes_stale "$_name" "$_name (pid $_pid) runs in \${_cwd:-?}, not in $LANES_REL ($(lanes_cmd "$_pid"))"
    return 1
  fi
  lanes_worker "$_name" running "$_pid" "$(lanes_b64 "$_cwd")"
}
# Without a release to prove ($LANES_REL empty: nothing is live), running is all that is checked.
check_process() {
  if [ -z "$LANES_REL" ]; then lanes_worker "$1" running "$2" "$(lanes_b64 "$(readlink -f "/proc/$2/cwd" 2>/dev/null)")"; return 0; fi
  verify_process "$1" "$2"
}

undrain_supervisor() {
  _n=$1
  lanes_sv_status
  _lines=$(lanes_sv_lines "$_n")
  [ -n "$_lines" ] || { lanes_sv_missing "$_n"; return 1; }
  _target=$(lanes_sv_target "$_n")
  _out=$(supervisorctl start "$_target" 2>&1)
  _dl=$(( $(lanes_now_ms) + LANES_START_TIMEOUT ))
  while :; do
    lanes_sv_status
    _lines=$(lanes_sv_lines "$_n")
    _wait=$(printf '%s\\n' "$_lines" | awk '$2 == "STARTING" || $2 == "BACKOFF" || $2 == "STOPPING"')
    _dead=$(printf '%s\\n' "$_lines" | awk 'NF && $2 != "RUNNING" && $2 != "STARTING" && $2 != "BACKOFF" && $2 != "STOPPING"')
    [ -z "$_wait" ] && break
    [ -n "$_dead" ] && break
    [ "$(lanes_now_ms)" -ge "$_dl" ] && break
    sleep 0.2
  done
  _bad=$(printf '%s\\n' "$_lines" | awk 'NF && $2 != "RUNNING" { print $1, $2 }')
  if [ -n "$_bad" ]; then
    _why=$(printf '%s\\n' "$_bad" | awk 'NF { printf "%s%s is %s", (NR > 1 ? "; " : ""), $1, $2 }')
    _p1=$(printf '%s\\n' "$_bad" | awk 'NR == 1 { print $1 }')
    _log=$(supervisorctl tail "$_p1" 2>&1 | tail -n 3)
    lanes_wfail "$_n" "$_why after supervisorctl start (startsecs=$(lanes_sv_opt "$_n" startsecs 1)): $(lanes_oneline "$_out" 120)$( [ -n "$_log" ] && printf ' | log: %s' "$(lanes_oneline "$_log" 200)")"
    return 1
  fi
  _r=0
  printf '%s\\n' "$_lines" >"$LANES_W/lines"
  while read -r _p _s _pid; do
    [ -n "$_p" ] || continue
    check_process "$_p" "$_pid" || _r=1
  done <"$LANES_W/lines"
  return $_r
}

undrain_systemd() {
  _n=$1
  _load=$(systemctl show -p LoadState --value "$_n" 2>/dev/null)
  if [ "$_load" != loaded ]; then lanes_wfail "$_n" "$_n: no systemd unit of that name (LoadState \${_load:-unknown})"; return 1; fi
  _out=$(systemctl start "$_n" 2>&1)
  if [ $? != 0 ]; then lanes_wfail "$_n" "systemctl start $_n failed: $(lanes_oneline "$_out" 200)"; return 1; fi
  # Running means active with the same MainPID for a second (a crash-looping unit keeps changing it).
  _dl=$(( $(lanes_now_ms) + LANES_START_TIMEOUT )); _last=""; _since=0
  while :; do
    _st=$(systemctl is-active "$_n" 2>/dev/null)
    _m=$(systemctl show -p MainPID --value "$_n" 2>/dev/null)
    _now=$(lanes_now_ms)
    if [ "$_st" = active ] && [ "\${_m:-0}" != 0 ]; then
      if [ "$_m" != "$_last" ]; then _last=$_m; _since=$_now; fi
      [ $(( _now - _since )) -ge 1000 ] && break
    else
      _last=""
      case $_st in failed|inactive) break ;; esac
    fi
    [ "$_now" -ge "$_dl" ] && break
    sleep 0.1
  done
  if [ "$_st" != active ] || [ "\${_m:-0}" = 0 ] || [ "$_m" != "$_last" ] || [ $(( _now - _since )) -lt 1000 ]; then
    lanes_wfail "$_n" "$_n did not stay running after systemctl start: it is \${_st:-unknown}$( [ "\${_m:-0}" != 0 ] && echo " (MainPID $_m)"): $(lanes_oneline "$(systemctl status --no-pager -n 3 "$_n" 2>&1 | tail -n 3)" 240)"
    return 1
  fi
  check_process "$_n" "$_m"
}
`;

function workersScript(body: string[], tmpName: string): FramedScript {
  return framedScript([...body, 'lanes_say workers "$LANES_RESULT"', '[ "$LANES_RESULT" = ok ]'], { doneKind: 'workers', tmpName, extra: [WORKER_FUNCS] });
}

/** Stop the release's workers and prove they are down. */
export function drainScript(spec: Pick<ReleaseSpec, 'workers'>): FramedScript {
  return workersScript([...spec.workers.supervisor.map((n) => `drain_supervisor ${shq(n)}`), ...spec.workers.systemd.map((n) => `drain_systemd ${shq(n)}`)], 'workers');
}

export interface UndrainOptions {
  /** The release the workers must run (its real path is taken on the host); null: only check they run. */
  releaseDir: string | null;
  /**
   * When `current` was switched, ms since the epoch. Used only when the host cannot tell by itself:
   * with `spec.path` given and `<path>/current` pointing at `releaseDir`, the symlink's own mtime
   * (the moment the switch created it, by the host's clock) is the switch time, so a controller
   * whose clock is off cannot make fresh workers look stale or stale ones look fresh.
   */
  switchedAt: number;
  /** How long a worker may take to reach RUNNING / active. Default 60 s. */
  startTimeoutMs?: number;
}

/**
 * Start the release's workers and prove each runs the new release — or, with `releaseDir` null
 * (nothing is live: a first release was rolled back), only that each runs.
 */
export function undrainScript(spec: Pick<ReleaseSpec, 'workers'> & Partial<Pick<ReleaseSpec, 'path'>>, opts: UndrainOptions): FramedScript {
  const link = spec.path ? `${spec.path}/current` : '';
  const rel =
    opts.releaseDir === null
      ? ['LANES_REL=']
      : [
          `LANES_REL=$(readlink -f ${shq(opts.releaseDir)}) && [ -d "$LANES_REL" ] || { lanes_wfail release ${shq(`release directory ${opts.releaseDir} does not exist`)}; lanes_say workers fail; exit 1; }`,
        ];
  return workersScript(
    [
      ...rel,
      `LANES_SWITCHED=${shq(Math.round(opts.switchedAt))}`,
      `LANES_LINK=${shq(link)}`,
      // The switch time by the host's clock: the `current` symlink's own mtime (GNU find prints it with ns).
      'if [ -n "$LANES_REL" ] && [ -n "$LANES_LINK" ] && [ -L "$LANES_LINK" ] && [ "$(readlink -f "$LANES_LINK")" = "$LANES_REL" ]; then',
      `  _m=$(find "$LANES_LINK" -maxdepth 0 -printf '%T@' 2>/dev/null)`,
      '  case $_m in',
      '    [0-9]*.[0-9][0-9][0-9]*) _f=${_m#*.}; _f=${_f%"${_f#???}"}; _f=${_f#0}; _f=${_f#0}; LANES_SWITCHED=$(( ${_m%%.*} * 1000 + _f )) ;;',
      '  esac',
      'fi',
      `LANES_START_TIMEOUT=${shq(Math.max(1000, Math.round(opts.startTimeoutMs ?? 60_000)))}`,
      'LANES_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)',
      // Boot time from the same clocks the start times are measured with: now minus uptime (10 ms resolution).
      "read -r LANES_UP _ </proc/uptime; LANES_UP_CS=$(echo \"$LANES_UP\" | tr -d .)",
      'LANES_BOOT_MS=$(( $(lanes_now_ms) - ${LANES_UP_CS#0} * 10 ))',
      ...spec.workers.supervisor.map((n) => `undrain_supervisor ${shq(n)}`),
      ...spec.workers.systemd.map((n) => `undrain_systemd ${shq(n)}`),
    ],
    'workers',
  );
}

export type WorkerState = 'drained' | 'running' | 'stale' | 'fail';

export interface WorkerReport {
  /** The program/unit, or for Supervisor processes `group:process`. */
  name: string;
  state: WorkerState;
  /** drained: how long the stop took. */
  ms?: number;
  /** running: the process and the directory it runs in. */
  pid?: number;
  cwd?: string;
  /** stale / fail: what is wrong. */
  detail?: string;
}

export interface WorkersResult {
  ok: boolean;
  workers: WorkerReport[];
  /** drain: the workers (program, group or unit names) that were running before it stopped them. */
  wasRunning: string[];
  /** {@link workersFailureMessage} of this result. */
  message: string;
}

export function parseWorkers(out: string, nonce: string): WorkersResult {
  const workers: WorkerReport[] = [];
  const wasRunning: string[] = [];
  let final: string | undefined;
  let why = '';
  for (const { kind, fields } of parseFrames(out, nonce)) {
    if (kind === 'workers') {
      final = fields[0];
      why = unb64(fields[1]);
      continue;
    }
    if (kind === 'was') {
      if (fields[1] === 'running' && fields[0]) wasRunning.push(fields[0]);
      continue;
    }
    if (kind !== 'worker') continue;
    const [name = '', state = '', a, b] = fields;
    if (state === 'drained') workers.push({ name, state, ms: Number(a) });
    else if (state === 'running') workers.push({ name, state, pid: Number(a), cwd: unb64(b) });
    else if (state === 'stale' || state === 'fail') workers.push({ name, state, detail: unb64(a) });
  }
  const ok = final === 'ok' && workers.every((w) => w.state === 'drained' || w.state === 'running');
  const result: WorkersResult = { ok, workers, wasRunning, message: '' };
  result.message = workersFailureMessage(result, why);
  return result;
}

/** One line naming every worker that failed or runs stale code, or why there is no result. */
export function workersFailureMessage(r: Pick<WorkersResult, 'ok' | 'workers'>, why = ''): string {
  const bad = r.workers.filter((w) => w.state === 'fail' || w.state === 'stale');
  if (bad.length === 0) return r.ok ? 'all workers ok' : why || 'the worker script stopped before saying what happened';
  return bad.map((w) => (w.state === 'stale' ? `stale worker: ${w.detail}` : w.detail ?? w.name)).join('; ');
}
