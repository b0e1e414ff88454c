/**
 * The health gate of a release, as one shell script run as root on the host, and the parser of what
 * it prints. Until `spec.health.timeoutMs` has passed it retries, each round checking:
 *
 *   fpm            the FPM unit is active and its MainPID is alive
 *   ping:<pool>    a FastCGI GET of the pool's ping.path answers exactly ping.response in the body
 *   status:<pool>  `<status_path>?json` answers the pool's own status, and the pool is not saturated
 *   http           (optional) GET of the URL through the host's web server contains `expect`
 *
 * FastCGI requests go straight to each pool's socket, with `cgi-fcgi` when installed and otherwise
 * lanes' one client, agent/remote/fcgi.php. PHP 8.2 answers 404 "File not found." unless
 * REQUEST_METHOD, SCRIPT_NAME and SCRIPT_FILENAME are all set, and `cgi-fcgi` exits 0 on a 404: only
 * the body is trusted.
 *
 * Frames (agent/remote/frame.ts), for the last round only:
 *   check <name> ok|fail <b64 detail>
 *   health ok|fail <rounds> <ms>
 * The exit status is 0 only when every check passed.
 */
import { parseFrames, unb64 } from '../remote/frame.js';
import { fcgiAddress, fcgiShell, framedScript, type FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';
import type { ReleasePool, ReleaseSpec } from './types.js';

/** GET a URL with PHP when curl is absent: like `curl -fsS`, a status of 400 or more is an error (exit 22). */
const HTTP_PHP =
  '$c=stream_context_create(["http"=>["timeout"=>5,"ignore_errors"=>true,"follow_location"=>0]]);' +
  '$b=@file_get_contents($argv[1],false,$c);' +
  'if($b===false){$e=error_get_last();fwrite(STDERR,($e["message"]??"request failed")."\\n");exit(7);}' +
  '$st=$http_response_header[0]??"";' +
  'if(!preg_match("#^HTTP/\\\\S+ [123]\\\\d\\\\d#",$st)){fwrite(STDERR,"the server answered ".$st."\\n");echo $b;exit(22);}' +
  'echo $b;';

export { fcgiAddress } from '../remote/sh.js';

const HEALTH_FUNCS = `
lanes_result() { lanes_say check "$1" "$2" "$(lanes_b64 "$3")" >>"$LANES_W/results"; }
check_fpm() {
  _st=$(systemctl is-active "$1" 2>/dev/null)
  if [ "$_st" != active ]; then
    lanes_result fpm fail "$1 is \${_st:-unknown}"
    # A stopped or failed master does not come back by waiting; a restarting one may.
    case $_st in activating|reloading|deactivating) ;; *) LANES_FINAL=1 ;; esac
    return 1
  fi
  _pid=$(systemctl show -p MainPID --value "$1" 2>/dev/null)
  if [ "\${_pid:-0}" = 0 ] || ! kill -0 "$_pid" 2>/dev/null; then
    lanes_result fpm fail "$1 is active but its master process (MainPID \${_pid:-0}) is not running"
    return 1
  fi
  lanes_result fpm ok "$1 master process $_pid is running"
}
check_ping() {
  _f="$LANES_W/ping"
  if ! fcgi_request "$2" "$3" "$3" "" "$_f"; then
    lanes_result "ping:$1" fail "$3 did not answer on $2: $(lanes_oneline "$(cat "$_f.err")")"
    return 1
  fi
  _b=$(fcgi_body "$_f"); _c=$(fcgi_status "$_f")
  if [ "$_b" = "$4" ]; then lanes_result "ping:$1" ok "$3 answered '$4'"; return 0; fi
  _why="$3 answered '$(lanes_oneline "$_b")' instead of '$4'"
  [ "$_c" != 200 ] && _why="$_why (HTTP status $_c)"
  lanes_result "ping:$1" fail "$_why"
  return 1
}
lanes_json_num() { printf '%s' "$1" | sed -n "s/.*\\"$2\\":\\([0-9][0-9]*\\).*/\\1/p"; }
check_status() {
  _f="$LANES_W/status"
  if ! fcgi_request "$2" "$3" "$3" json "$_f"; then
    lanes_result "status:$1" fail "$3?json did not answer on $2: $(lanes_oneline "$(cat "$_f.err")")"
    return 1
  fi
  _b=$(fcgi_body "$_f"); _c=$(fcgi_status "$_f")
  _acc=$(lanes_json_num "$_b" 'accepted conn')
  if [ "$_c" != 200 ] || [ -z "$_acc" ]; then
    _why="$3?json answered '$(lanes_oneline "$_b")' instead of the pool status"
    [ "$_c" != 200 ] && _why="$_why (HTTP status $_c)"
    lanes_result "status:$1" fail "$_why"
    return 1
  fi
  _pool=$(printf '%s' "$_b" | sed -n 's/.*"pool":"\\([^"]*\\)".*/\\1/p')
  if [ "$_pool" != "$1" ]; then
    lanes_result "status:$1" fail "$2 is served by pool '$_pool', not '$1'"
    return 1
  fi
  _idle=$(lanes_json_num "$_b" 'idle processes'); _act=$(lanes_json_num "$_b" 'active processes')
  _q=$(lanes_json_num "$_b" 'listen queue'); _mcr=$(lanes_json_num "$_b" 'max children reached')
  _sum="accepted conn $_acc, active processes \${_act:-?}, idle processes \${_idle:-?}, listen queue \${_q:-?}, max children reached \${_mcr:-?}"
  # Requests waiting in the queue while no process is idle: the pool takes no new work right now.
  if [ "\${_q:-0}" -gt 0 ] && [ "\${_idle:-0}" = 0 ]; then
    lanes_result "status:$1" fail "saturated: $_sum"
    return 1
  fi
  lanes_result "status:$1" ok "$_sum"
}
check_http() {
  _f="$LANES_W/http"; : >"$_f"; : >"$_f.err"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 5 -o "$_f" "$1" 2>"$_f.err"; _rc=$?
  elif _php=$(lanes_php); then
    $LANES_TO "$_php" -n -r "$LANES_HTTP_PHP" "$1" >"$_f" 2>"$_f.err"; _rc=$?
  else
    lanes_result http fail "GET $1: neither curl nor php is installed"
    return 1
  fi
  if [ "$_rc" != 0 ]; then
    lanes_result http fail "GET $1 failed: $(lanes_oneline "$(cat "$_f.err")")"
    return 1
  fi
  if [ -n "$2" ] && ! grep -qF -e "$2" "$_f"; then
    lanes_result http fail "GET $1 answered '$(lanes_oneline "$(cat "$_f")")' without '$2'"
    return 1
  fi
  lanes_result http ok "GET $1 answered$( [ -n "$2" ] && printf " with '%s'" "$2")"
}
`;

export interface HealthOptions {
  /** The release being checked (named in the script for the log; `spec.health.http.expect` already carries it when wanted). */
  releaseId: string;
  /** The PHP-FPM systemd unit, e.g. php8.2-fpm.service. */
  fpmUnit: string;
}

/** The health gate script for one host (run as root). */
export function healthScript(spec: Pick<ReleaseSpec, 'pools' | 'health'>, opts: HealthOptions): FramedScript {
  const checks: string[] = [`check_fpm ${shq(opts.fpmUnit)} || LANES_ALL=0`];
  for (const pool of spec.pools) checks.push(...poolChecks(pool));
  const http = spec.health.http;
  if (http) checks.push(`check_http ${shq(http.url)} ${shq(http.expect ?? '')} || LANES_ALL=0`);
  const timeoutMs = Math.max(0, Math.round(spec.health.timeoutMs));
  return framedScript(
    [
      `LANES_RELEASE=${shq(opts.releaseId)}`,
      `LANES_HTTP_PHP=${shq(HTTP_PHP)}`,
      `LANES_T0=$(lanes_now_ms)`,
      `LANES_DEADLINE=$((LANES_T0 + ${shq(timeoutMs)}))`,
      'LANES_N=0',
      'while :; do',
      '  LANES_N=$((LANES_N + 1)); LANES_ALL=1; LANES_FINAL=0',
      '  : >"$LANES_W/results"',
      ...checks.map((c) => `  ${c}`),
      '  [ "$LANES_ALL" = 1 ] && break',
      '  [ "$LANES_FINAL" = 1 ] && break',
      '  [ "$(lanes_now_ms)" -ge "$LANES_DEADLINE" ] && break',
      '  sleep 0.5',
      'done',
      'cat "$LANES_W/results"',
      'LANES_MS=$(( $(lanes_now_ms) - LANES_T0 ))',
      'if [ "$LANES_ALL" = 1 ]; then lanes_say health ok "$LANES_N" "$LANES_MS"; exit 0; fi',
      'lanes_say health fail "$LANES_N" "$LANES_MS"',
      'exit 1',
    ],
    { doneKind: 'health', tmpName: 'health', extra: [fcgiShell(), HEALTH_FUNCS] },
  );
}

function poolChecks(pool: ReleasePool): string[] {
  const addr = shq(fcgiAddress(pool.listen));
  const out: string[] = [];
  if (pool.ping) out.push(`check_ping ${shq(pool.name)} ${addr} ${shq(pool.ping.path)} ${shq(pool.ping.response)} || LANES_ALL=0`);
  if (pool.statusPath) out.push(`check_status ${shq(pool.name)} ${addr} ${shq(pool.statusPath)} || LANES_ALL=0`);
  return out;
}

export interface HealthCheck {
  /** `fpm`, `ping:<pool>`, `status:<pool>` or `http`. */
  name: string;
  ok: boolean;
  detail: string;
}

export interface HealthResult {
  ok: boolean;
  checks: HealthCheck[];
  /** How many rounds ran, and how long the gate took (when the script got that far). */
  rounds?: number;
  ms?: number;
}

export function parseHealth(out: string, nonce: string): HealthResult {
  const frames = parseFrames(out, nonce);
  const checks = frames.filter((f) => f.kind === 'check').map(({ fields: [name = '', state = '', detail] }) => ({ name, ok: state === 'ok', detail: unb64(detail) }));
  const final = frames.filter((f) => f.kind === 'health').at(-1)?.fields;
  const ok = final?.[0] === 'ok' && checks.length > 0 && checks.every((c) => c.ok);
  const result: HealthResult = { ok, checks };
  if (final?.[1] !== undefined) result.rounds = Number(final[1]);
  if (final?.[2] !== undefined) result.ms = Number(final[2]);
  return result;
}

/** What a failed check was and what it answered: "pool api: /ping answered 'File not found.' instead of 'pong'". */
export function describeCheck(check: HealthCheck): string {
  const [kind, pool] = splitName(check.name);
  if ((kind === 'ping' || kind === 'status') && pool) return `pool ${pool}: ${check.detail}`;
  if (kind === 'http') return `http check: ${check.detail}`;
  if (kind === 'fpm') return `php-fpm: ${check.detail}`;
  return `${check.name}: ${check.detail}`;
}

export function healthFailureMessage(result: HealthResult): string {
  const failed = result.checks.filter((c) => !c.ok);
  if (failed.length === 0) return result.ok ? 'healthy' : 'the health check stopped before saying what it found';
  const took = result.ms !== undefined ? ` (after ${result.rounds ?? '?'} rounds in ${(result.ms / 1000).toFixed(1)}s)` : '';
  return `${failed.map(describeCheck).join('; ')}${took}`;
}

function splitName(name: string): [string, string | undefined] {
  const i = name.indexOf(':');
  return i < 0 ? [name, undefined] : [name.slice(0, i), name.slice(i + 1)];
}
