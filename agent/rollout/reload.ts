/**
 * Making PHP-FPM serve a new release: a graceful reload (default) — the one reload-and-prove-alive
 * routine of agent/remote/fpm-reload.ts, re-exported here — or, for `reload: opcache-reset`, an
 * OPcache reset inside each pool over FastCGI (below). Both are framed scripts run as root on the host.
 */
import { parseFrames, unb64 } from '../remote/frame.js';
import { fcgiAddress, fcgiShell, framedScript, type FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';
import type { ReleasePool } from './types.js';

export {
  EXIT_FPM_RELOAD_FAILED,
  EXIT_FPM_TEST_FAILED,
  FPM_RELOAD_LOCK,
  fpmReloadScript,
  fpmTestErrors,
  parseReload,
  reloadFailureMessage,
  type FpmReloadOptions,
  type ReloadResult,
} from '../remote/fpm-reload.js';

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
lanes_op() { lanes_say opcache "$1" "$2" "$(lanes_b64 "$3")"; }
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
 * (`opts.dir`, root-owned and traversable by the pool user), requested over FastCGI on the pool's
 * socket, and removed. Frames `opcache <pool> ok|fail <b64>` and `opcache-done ok|fail`; exits 0 only
 * when every pool reset.
 */
export function opcacheResetScript(pools: ReleasePool[], opts: { dir?: string } = {}): FramedScript {
  const fail = `{ lanes_say opcache-done fail "$(lanes_b64 'cannot write the reset script')"; exit 1; }`;
  return framedScript(
    [
      `F=$(mktemp ${shq(`${opts.dir ?? '/run'}/lanes-opcache-XXXXXXXXXX`)}) || ${fail}`,
      `trap 'rm -rf "$LANES_W" "$F" "$F.php"' EXIT`,
      `mv -f "$F" "$F.php" && F="$F.php" || ${fail}`,
      'N=$(basename "$F" .php)',
      `printf '%s' ${shq(OPCACHE_PHP)} >"$F" && chmod 0644 "$F" || ${fail}`,
      'ALL=ok',
      ...pools.map((p) => `opcache_pool ${shq(p.name)} ${shq(fcgiAddress(p.listen))} || ALL=fail`),
      'lanes_say opcache-done "$ALL"',
      '[ "$ALL" = ok ]',
    ],
    { doneKind: 'opcache-done', tmpName: 'opcache', extra: [fcgiShell(), OPCACHE_FUNCS] },
  );
}

export interface OpcacheResult {
  ok: boolean;
  pools: { name: string; ok: boolean; detail: string }[];
  /** Why there is no per-pool result (the script could not run). */
  detail?: string;
}

export function parseOpcache(out: string, nonce: string): OpcacheResult {
  const frames = parseFrames(out, nonce);
  const pools = frames.filter((f) => f.kind === 'opcache').map(({ fields: [name = '', state = '', detail] }) => ({ name, ok: state === 'ok', detail: unb64(detail) }));
  const done = frames.filter((f) => f.kind === 'opcache-done').at(-1);
  const result: OpcacheResult = { ok: done?.fields[0] === 'ok' && pools.every((p) => p.ok), pools };
  const why = unb64(done?.fields[1]);
  if (why) result.detail = why;
  return result;
}

export function opcacheFailureMessage(r: OpcacheResult): string {
  const failed = r.pools.filter((p) => !p.ok);
  if (failed.length === 0) return r.ok ? 'OPcache reset in every pool' : r.detail ?? 'the OPcache reset stopped before saying what happened';
  return failed.map((p) => `pool ${p.name}: ${p.detail}`).join('; ');
}
