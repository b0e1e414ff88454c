/**
 * The whole change set of one host as ONE shell script, run in one exec (as root when escalating):
 *
 *   1. prepare   packages, groups, users (commands; additive, not rolled back)
 *   2. mkdir     directories with owner/group/mode
 *   3. stage     every new file written to a temp file in its own directory (owner, mode set) —
 *                a full disk fails here, before anything visible changed
 *   4. commit    old files copied to a backup dir, temp files renamed over, symlinks switched
 *   5. validate  php-fpm -t, nginx -t, supervisorctl reread, systemd-analyze verify, file validators;
 *                on failure every touched path is restored and NOTHING is reloaded (exit 3)
 *   6. handlers  daemon-reload, set-property, units, supervisor, FPM reload + health, nginx; if one
 *                fails the files are restored and the handlers run again on the old files (exit 4)
 *   7. verify    the state is read again in the same exec, for the caller to re-plan
 *
 * Progress lines `@@<nonce> …` are streamed so the caller can show steps live and parse the outcome.
 */
import type { Change, Operation, Validator } from '../resources/types.js';
import { shq } from '../transport/quote.js';
import { FPM_RELOAD_LOCK } from '../rollout/reload.js';
import { orderHandlers, type PlannedHandler } from './handlers.js';

export const EXIT_VALIDATION_FAILED = 3;
export const EXIT_HANDLER_FAILED = 4;
export const EXIT_PREPARE_FAILED = 5;
export const EXIT_COMMIT_FAILED = 6;

export interface ApplyScriptParts {
  script: string;
  /** Names of the steps, in order, for progress display. */
  validators: string[];
  handlers: PlannedHandler[];
}

/** FastCGI "are you there" for a pool socket, as root: any FastCGI answer counts (a 404 for a missing script too). */
const FCGI_PHP =
  '$a=$argv[1];$s=@stream_socket_client(($a[0]==="/"?"unix://":"tcp://").$a,$e,$es,3);if(!$s)exit(1);' +
  'function r($t,$c){return pack("CCnnCx",1,$t,1,strlen($c),0).$c;}function nv($k,$v){return chr(strlen($k)).chr(strlen($v)).$k.$v;}' +
  '$p=nv("SCRIPT_FILENAME","/lanes-health-check").nv("SCRIPT_NAME","/lanes-health-check").nv("REQUEST_METHOD","GET");' +
  'fwrite($s,r(1,pack("nCx5",1,0)).r(4,$p).r(4,"").r(5,""));stream_set_timeout($s,3);$x=stream_get_contents($s);exit(strlen($x)>8?0:1);';

const PRELUDE = `
set -u
umask 022
mark() { printf '@@%s %s\\n' "$LANES_N" "$*"; }
b64out() { base64 -w0 < "$LANES_B/out" 2>/dev/null; }
LANES_B=$(mktemp -d /var/tmp/lanes-apply.XXXXXX) || { echo "cannot create a work directory in /var/tmp" >&2; exit ${EXIT_PREPARE_FAILED}; }
trap 'rm -rf "$LANES_B"' EXIT
fcgi_ping() {
  if command -v cgi-fcgi >/dev/null 2>&1; then
    SCRIPT_NAME=/lanes-health-check SCRIPT_FILENAME=/lanes-health-check REQUEST_METHOD=GET \\
      cgi-fcgi -bind -connect "$1" 2>/dev/null | grep -qi '^\\(status\\|content-type\\|x-powered-by\\):'
  elif php=$(command -v php || ls /usr/bin/php[0-9]* 2>/dev/null | head -n 1) && [ -n "$php" ]; then
    "$php" -n -r ${shq(FCGI_PHP)} "$1"
  else
    case "$1" in /*) [ -S "$1" ] ;; *) return 0 ;; esac
  fi
}
# The master must be alive and every pool must answer; a reload "succeeds" even when FPM then dies.
fpm_healthy() {
  unit=$1; shift
  sleep 1
  i=0
  while [ $i -lt 40 ]; do
    if [ "$(systemctl is-active "$unit")" = active ]; then
      pid=$(systemctl show -p MainPID --value "$unit")
      if [ "\${pid:-0}" != 0 ] && kill -0 "$pid" 2>/dev/null; then
        ok=1
        for s in "$@"; do fcgi_ping "$s" || { ok=0; echo "pool socket $s does not answer"; }; done
        [ $ok = 1 ] && return 0
      fi
    else
      st=$(systemctl is-active "$unit")
      # A master that died does not come back by waiting: report at once.
      case "$st" in activating|reloading) ;; *) echo "$unit is $st after the reload"; systemctl status --no-pager -n 5 "$unit" 2>&1 | tail -n 6; return 1 ;; esac
    fi
    i=$((i + 1))
    sleep 0.25
  done
  systemctl status --no-pager -n 5 "$unit" 2>&1 | tail -n 6
  return 1
}
`;

interface Touched {
  path: string;
  /** index of the backup slot */
  slot: number;
  kind: 'content' | 'attrs';
}

export function buildApplyScript(changes: Change[], nonce: string, verifyScript: string): ApplyScriptParts {
  const ops = changes.flatMap((c) => c.operations);
  const validators = dedupeValidators(changes.flatMap((c) => c.validators ?? []));
  const handlers = orderHandlers(changes);
  const lines: string[] = [`LANES_N=${shq(nonce)}`, PRELUDE];
  const touched: Touched[] = [];
  let slot = 0;

  // 1. prepare
  const prepare = ops.filter((o): o is Extract<Operation, { op: 'run' }> => o.op === 'run');
  prepare.forEach((o, i) => {
    lines.push(
      `mark step prepare ${i} ${b64(o.describe)}`,
      `{\n${o.script}\n} > "$LANES_B/out" 2>&1 || { mark fail prepare ${i} "$(b64out)"; exit ${EXIT_PREPARE_FAILED}; }`,
    );
  });

  // 2. mkdir
  for (const o of ops) {
    if (o.op !== 'mkdir') continue;
    const flags = [o.owner ? `-o ${shq(o.owner)}` : '', o.group ? `-g ${shq(o.group)}` : '', o.mode ? `-m ${shq(o.mode)}` : ''].filter(Boolean).join(' ');
    lines.push(`mark step mkdir ${b64(o.path)}`, `install -d ${flags} ${shq(o.path)} > "$LANES_B/out" 2>&1 || { mark fail mkdir 0 "$(b64out)"; exit ${EXIT_PREPARE_FAILED}; }`);
  }

  // 3. stage
  const staged: { op: Operation; tmpVar: string; slot: number }[] = [];
  lines.push('mark step stage');
  for (const o of ops) {
    if (o.op !== 'write' && o.op !== 'symlink' && o.op !== 'remove' && o.op !== 'attrs') continue;
    const s = slot++;
    const tmpVar = `LANES_T${s}`;
    staged.push({ op: o, tmpVar, slot: s });
    touched.push({ path: o.path, slot: s, kind: o.op === 'attrs' ? 'attrs' : 'content' });
    if (o.op === 'write') {
      const owner = o.owner || o.group ? `chown ${shq(`${o.owner ?? ''}${o.group ? `:${o.group}` : ''}`)} "$${tmpVar}" &&` : '';
      lines.push(
        `${tmpVar}=$(mktemp ${shq(`${o.path}.lanes-XXXXXX`)} 2>"$LANES_B/out") || { mark fail stage ${s} "$(b64out)"; cleanup_tmp; exit ${EXIT_COMMIT_FAILED}; }`,
        `base64 -d > "$${tmpVar}" <<'LANES_EOF' && ${owner} chmod ${shq(o.mode ?? '0644')} "$${tmpVar}" || { mark fail stage ${s} "$(printf 'writing %s failed' ${shq(o.path)} | base64 -w0)"; cleanup_tmp; exit ${EXIT_COMMIT_FAILED}; }`,
        wrapBase64(o.content),
        'LANES_EOF',
      );
    } else if (o.op === 'symlink') {
      lines.push(
        `${tmpVar}=${shq(`${o.path}.lanes-link-`)}"$LANES_N"`,
        `ln -sfn ${shq(o.target)} "$${tmpVar}" 2>"$LANES_B/out" || { mark fail stage ${s} "$(b64out)"; cleanup_tmp; exit ${EXIT_COMMIT_FAILED}; }`,
      );
    }
  }
  // cleanup_tmp must exist before it is called; define it at the top of the staged section.
  const tmpVars = staged.filter((s) => s.op.op === 'write' || s.op.op === 'symlink').map((s) => `"\${${s.tmpVar}:-}"`);
  lines.splice(lines.indexOf('mark step stage'), 0, `cleanup_tmp() { for t in ${tmpVars.join(' ') || '""'}; do [ -n "$t" ] && rm -f "$t"; done; }`);

  // 4. commit (with backups) and the restore function
  lines.push('mark step commit');
  for (const t of touched) {
    lines.push(
      t.kind === 'attrs'
        ? `stat -c '%U:%G %a' -- ${shq(t.path)} > "$LANES_B/attr.${t.slot}" 2>/dev/null`
        : `if [ -e ${shq(t.path)} ] || [ -L ${shq(t.path)} ]; then cp -a -- ${shq(t.path)} "$LANES_B/bak.${t.slot}"; fi`,
    );
  }
  lines.push(restoreFunction(touched));
  for (const s of staged) {
    const o = s.op;
    const fail = `{ mark fail commit ${s.slot} "$(b64out)"; restore; exit ${EXIT_COMMIT_FAILED}; }`;
    if (o.op === 'write' || o.op === 'symlink') lines.push(`mv -fT "$${s.tmpVar}" ${shq(o.path)} > "$LANES_B/out" 2>&1 || ${fail}`);
    else if (o.op === 'remove') lines.push(`rm -f -- ${shq(o.path)} > "$LANES_B/out" 2>&1 || ${fail}`);
    else if (o.op === 'attrs') {
      const own = o.owner || o.group ? `chown -h ${shq(`${o.owner ?? ''}${o.group ? `:${o.group}` : ''}`)} ${shq(o.path)} && ` : '';
      lines.push(`{ ${own}${o.mode ? `chmod ${shq(o.mode)} ${shq(o.path)}` : 'true'}; } > "$LANES_B/out" 2>&1 || ${fail}`);
    }
  }

  // 5. validate
  const validatorNames: string[] = [];
  validators.forEach((v, i) => {
    validatorNames.push(validatorName(v));
    lines.push(
      `mark step validate ${i} ${b64(validatorName(v))}`,
      `{ ${validatorCommand(v)}\n} > "$LANES_B/out" 2>&1 || { mark fail validate ${i} "$(b64out)"; restore; ${resyncAfterRestore(validators)} exit ${EXIT_VALIDATION_FAILED}; }`,
    );
  });

  // 6. handlers
  lines.push(`run_handlers() {`);
  handlers.forEach((h, i) => {
    lines.push(`  mark step handler ${i}`, `  { ${handlerCommand(h)}\n  } > "$LANES_B/out" 2>&1 || { mark fail handler ${i} "$(b64out)"; return 1; }`);
  });
  lines.push('  return 0', '}');
  lines.push(
    `if ! run_handlers; then`,
    `  restore`,
    `  mark step recover`,
    `  run_handlers >/dev/null 2>&1 || mark recover-failed`,
    `  exit ${EXIT_HANDLER_FAILED}`,
    `fi`,
  );

  // 7. verify
  lines.push('mark step verify', `(\n${verifyScript}\n)`, 'mark done');
  return { script: lines.join('\n'), validators: validatorNames, handlers };
}

function restoreFunction(touched: Touched[]): string {
  const body = [...touched].reverse().map((t) =>
    t.kind === 'attrs'
      ? `  if [ -s "$LANES_B/attr.${t.slot}" ]; then read -r og m < "$LANES_B/attr.${t.slot}"; chown -h "$og" ${shq(t.path)}; chmod "$m" ${shq(t.path)}; fi`
      : `  if [ -e "$LANES_B/bak.${t.slot}" ] || [ -L "$LANES_B/bak.${t.slot}" ]; then cp -a -- "$LANES_B/bak.${t.slot}" ${shq(`${t.path}.lanes-restore`)} && mv -fT ${shq(`${t.path}.lanes-restore`)} ${shq(t.path)}; else rm -f -- ${shq(t.path)}; fi`,
  );
  return ['restore() {', '  mark step restore', ...body, '  true', '}'].join('\n');
}

/** After a restore, let Supervisor re-read the restored files so its view matches the disk again. */
function resyncAfterRestore(validators: Validator[]): string {
  return validators.some((v) => v.kind === 'supervisor-reread') ? 'supervisorctl reread >/dev/null 2>&1;' : '';
}

function dedupeValidators(vs: Validator[]): Validator[] {
  const seen = new Set<string>();
  return vs.filter((v) => {
    const key = JSON.stringify(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function validatorName(v: Validator): string {
  switch (v.kind) {
    case 'fpm-test':
      return `${v.binary} -t`;
    case 'nginx-test':
      return 'nginx -t';
    case 'supervisor-reread':
      return 'supervisorctl reread';
    case 'systemd-verify':
      return `systemd-analyze verify ${v.path}`;
    case 'command':
      return v.path ? v.command.replace(/%s/g, v.path) : v.command;
  }
}

function validatorCommand(v: Validator): string {
  switch (v.kind) {
    case 'fpm-test':
      return `${shq(v.binary)} -t`;
    case 'nginx-test':
      return 'nginx -t';
    case 'supervisor-reread':
      // reread exits 0 even for some errors on old versions: also fail on its ERROR lines.
      return `out=$(supervisorctl reread 2>&1); rc=$?; printf '%s\\n' "$out"; [ $rc = 0 ] && ! printf '%s' "$out" | grep -q '^ERROR'`;
    case 'systemd-verify':
      return `systemd-analyze verify ${shq(v.path)}`;
    case 'command':
      // A user-declared validator is a shell command by design (like Ansible's `validate`); only the
      // path substituted for %s is quoted.
      return v.path ? v.command.replace(/%s/g, shq(v.path)) : v.command;
  }
}

function handlerCommand(h: PlannedHandler): string {
  switch (h.kind) {
    case 'daemon-reload':
      return 'systemctl daemon-reload';
    case 'set-property':
      return `systemctl set-property --runtime ${shq(h.unit)} ${Object.entries(h.properties)
        .map(([k, v]) => shq(`${k}=${v}`))
        .join(' ')}`;
    case 'unit':
      return `systemctl ${h.action} ${shq(h.unit)}`;
    case 'supervisor-update':
      return 'supervisorctl update';
    case 'supervisor-start':
      return `supervisorctl start ${shq(h.program)}`;
    case 'fpm':
      // A master that is not running (it died, or recovery runs after a failed reload) is started instead.
      // Never two FPM reloads at once on a host (php-src warns): the same lock file as lanes release.
      return [
        `if command -v flock >/dev/null 2>&1; then exec 9>>${shq(FPM_RELOAD_LOCK)}; flock -w 120 9; fi`,
        `if systemctl is-active -q ${shq(h.unit)}; then systemctl ${h.action} ${shq(h.unit)}; else systemctl reset-failed ${shq(h.unit)} 2>/dev/null; systemctl start ${shq(h.unit)}; fi && fpm_healthy ${[h.unit, ...h.sockets].map(shq).join(' ')}`,
        `rc=$?; command -v flock >/dev/null 2>&1 && flock -u 9; [ $rc = 0 ]`,
      ].join('\n');
  }
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

function wrapBase64(content: string): string {
  const enc = b64(content);
  const out: string[] = [];
  for (let i = 0; i < enc.length; i += 76) out.push(enc.slice(i, i + 76));
  return out.join('\n');
}
