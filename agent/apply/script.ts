/**
 * The whole change set of one host as ONE shell script. It runs detached from the SSH channel (see
 * agent/remote/detached.ts: `sh script.sh HOME RUNDIR`, output to a log the controller follows), so
 * losing the controller never stops it between a commit and its restore:
 *
 *   0. lock      the host's apply lock (flock HOME/apply.lock) for the script's whole life: a second
 *                apply while this one runs is refused (exit 7), never interleaved
 *   1. prepare   packages, groups, users (commands; additive, not rolled back)
 *   2. mkdir     directories with owner/group/mode (never through a symbolic link)
 *   3. stage     every new file written completely (content, owner, mode) in a root-only staging
 *                directory on its destination's mount (./staging.ts) — a full disk fails here
 *   4. check     a file's own validator (`visudo -cf %s`) on the STAGED file: a failure never touches
 *                the live file (exit 3)
 *   5. commit    old files copied to RUNDIR/bak, staged files renamed over (rename(2) replaces a link
 *                planted at the destination, never follows it), symlinks switched, owner/mode-only
 *                changes made through an O_NOFOLLOW descriptor (lanes_attrs, agent/remote/sh.ts)
 *   6. validate  whole-configuration validators that only check the live tree (php-fpm -t, nginx -t,
 *                supervisorctl reread, systemd-analyze verify); on failure every touched path is
 *                restored and NOTHING is reloaded (exit 3)
 *   7. handlers  daemon-reload, set-property, units, supervisor, FPM reload + health, nginx; if one
 *                fails the files are restored and the handlers run again on the old files (exit 4)
 *   8. verify    the state is read again, for the caller to re-plan
 *
 * HUP, INT, TERM and PIPE restore whatever was committed (and re-run the handlers if they had
 * started); the EXIT trap always writes RUNDIR/rc. Prepare operations, validators and handlers each
 * run under `timeout` with their own limit (./limits.ts). Progress and outcome are frames of
 * agent/remote/frame.ts, read back by ./outcome.ts:
 *
 *   step PHASE INDEX LABEL       fail PHASE INDEX OUTPUT LIMIT|-     busy HOLDER
 *   signal NAME                  recover-failed                      done
 */
import { b64, frameShell } from '../remote/frame.js';
import type { Change, Operation, Validator } from '../resources/types.js';
import { shq } from '../transport/quote.js';
import { fpmReloadCall, fpmReloadShell } from '../remote/fpm-reload.js';
import { ATTRS_SHELL, fcgiShell, SHELL_HELPERS } from '../remote/sh.js';
import { describeHandler, orderHandlers, type PlannedHandler } from './handlers.js';
import { DEFAULT_LIMITS, type OperationLimits } from './limits.js';
import { STAGE_DIR_SHELL } from './staging.js';

export const EXIT_VALIDATION_FAILED = 3;
export const EXIT_HANDLER_FAILED = 4;
export const EXIT_PREPARE_FAILED = 5;
export const EXIT_COMMIT_FAILED = 6;
export const EXIT_BUSY = 7;

/** The host's apply lock, relative to the state directory the script gets as $1. */
export const APPLY_LOCK_NAME = 'apply.lock';

export interface ApplyScriptParts {
  script: string;
  /** Validator names by the index their frames carry (staged-file checks first, then the rest). */
  validators: string[];
  /** How many of `validators` run on the staged file, before the commit. */
  stagedChecks: number;
  handlers: PlannedHandler[];
  limits: OperationLimits;
}

/**
 * The script's frame: arguments, lock, traps, and the helpers every step uses. `lanes_op` runs one
 * operation (a sh command string) with its limit, output to RUNDIR/op.out, fd 8 (the lock) closed so
 * nothing it starts can hold the lock; on failure it says `fail` with the output's tail.
 */
function prelude(nonce: string): string {
  return `set -u
umask 022
LANES_HOME=$1
LANES_R=$2
${frameShell(nonce)}
echo $$ > "$LANES_R/pid"
${STAGE_DIR_SHELL}
${ATTRS_SHELL}
LANES_PHASE=start
LANES_LOCKED=
lanes_out() { lanes_b64 "$(tail -c 4000 "$LANES_R/op.out" 2>/dev/null)"; }
LANES_TIMEOUT=
command -v timeout >/dev/null 2>&1 && LANES_TIMEOUT=timeout
LANES_OP_PID=
lanes_op() {
  ph=$1; ix=$2; lim=$3; cmd=$4; shift 4
  t0=$(date +%s)
  # In the background and waited for: a trapped signal interrupts \`wait\` at once (a foreground
  # command would delay the trap until it ends).
  if [ -n "$LANES_TIMEOUT" ]; then
    timeout -k 5 "$lim" /bin/sh -c "$cmd" lanes-op "$@" > "$LANES_R/op.out" 2>&1 8>&- < /dev/null &
  else
    /bin/sh -c "$cmd" lanes-op "$@" > "$LANES_R/op.out" 2>&1 8>&- < /dev/null &
  fi
  LANES_OP_PID=$!
  wait "$LANES_OP_PID"
  rc=$?
  LANES_OP_PID=
  [ $rc = 0 ] && return 0
  to=-
  # timeout exits 124 (or 137 after -k); only a run that lasted the limit counts as timed out.
  if [ -n "$LANES_TIMEOUT" ] && { [ $rc = 124 ] || [ $rc = 137 ]; } && [ $(( $(date +%s) - t0 + 1 )) -ge "$lim" ]; then to=$lim; fi
  lanes_say fail "$ph" "$ix" "$(lanes_out)" "$to"
  return 1
}
# A plain step (mkdir, stage, commit): its output to op.out, fail frame on error.
lanes_fail() { lanes_say fail "$1" "$2" "$(lanes_out)" -; }
lanes_exit() {
  trap '' HUP INT TERM PIPE
  [ -n "$LANES_LOCKED" ] && : > "$LANES_HOME/${APPLY_LOCK_NAME}"
  rm -rf "$LANES_R/bak" "$LANES_R/script.sh" "$LANES_R/op.out"
  lanes_stage_clean
  printf '%s\\n' "$1" > "$LANES_R/rc.tmp" && mv -f "$LANES_R/rc.tmp" "$LANES_R/rc"
}
trap 'lanes_exit $?' EXIT
lanes_signal() {
  trap '' HUP INT TERM PIPE
  lanes_say signal "$1"
  # Stop the operation in progress (timeout passes TERM on to it) before restoring under it.
  if [ -n "$LANES_OP_PID" ]; then kill -TERM "$LANES_OP_PID" 2>/dev/null; wait "$LANES_OP_PID" 2>/dev/null; LANES_OP_PID=; fi
  case $LANES_PHASE in
    staged) cleanup_tmp ;;
    committed) cleanup_tmp; restore; resync ;;
    handlers) restore; lanes_say step recover - -; run_handlers recover || lanes_say recover-failed ;;
  esac
  exit "$2"
}
trap 'lanes_signal HUP 129' HUP
trap 'lanes_signal INT 130' INT
trap 'lanes_signal PIPE 141' PIPE
trap 'lanes_signal TERM 143' TERM
if ! command -v flock >/dev/null 2>&1; then
  printf 'flock (util-linux) is not installed on the host; lanes needs it to keep applies apart\\n' > "$LANES_R/op.out"
  lanes_fail lock 0; exit ${EXIT_PREPARE_FAILED}
fi
exec 8<>"$LANES_HOME/${APPLY_LOCK_NAME}"
if ! flock -n 8; then
  lanes_say busy "$(lanes_b64 "$(head -c 300 "$LANES_HOME/${APPLY_LOCK_NAME}")")"
  exit ${EXIT_BUSY}
fi
LANES_LOCKED=1
printf 'run %s started %s by %s\\n' "$LANES_NONCE" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "\${SUDO_USER:-$(id -un)}" > "$LANES_HOME/${APPLY_LOCK_NAME}"
# Runs older than a day are gone: finished ones, and (since we hold the lock) any that died.
find "$LANES_HOME/runs" -mindepth 1 -maxdepth 1 -type d -mtime +0 ! -name "$LANES_NONCE" -exec rm -rf {} + 2>/dev/null
mkdir "$LANES_R/bak" || { lanes_fail lock 0; exit ${EXIT_PREPARE_FAILED}; }
`;
}

interface Touched {
  path: string;
  /** index of the backup slot */
  slot: number;
  kind: 'content' | 'attrs';
}

/** `tmpVar` holds the staged file's path, `dirVar` the staging directory of the destination's mount. */
type Staged = { op: Extract<Operation, { op: 'write' | 'symlink' | 'remove' | 'attrs' }>; tmpVar: string; dirVar: string; slot: number };

export function buildApplyScript(changes: Change[], nonce: string, verifyScript: string, limits: OperationLimits = DEFAULT_LIMITS): ApplyScriptParts {
  const ops = changes.flatMap((c) => c.operations);
  const handlers = orderHandlers(changes);
  const body: string[] = [];
  const step = (phase: string, index: number | undefined, label?: string) => `lanes_say step ${phase} ${index ?? '-'} ${b64(label ?? '')}`;

  // The staged and touched paths, by slot.
  const staged: Staged[] = [];
  const touched: Touched[] = [];
  for (const o of ops) {
    if (o.op !== 'write' && o.op !== 'symlink' && o.op !== 'remove' && o.op !== 'attrs') continue;
    const slot = staged.length;
    staged.push({ op: o, tmpVar: `LANES_T${slot}`, dirVar: `LANES_D${slot}`, slot });
    touched.push({ path: o.path, slot, kind: o.op === 'attrs' ? 'attrs' : 'content' });
  }
  const stagedWrite = new Map(staged.filter((s) => s.op.op === 'write').map((s) => [s.op.path, s]));

  // Validators: a file's own command naming the file (%s) checks the staged file; the rest (nginx -t,
  // php-fpm -t, a `validate` without %s) can only check the live tree, after the commit.
  const all = dedupeValidators(changes.flatMap((c) => c.validators ?? []));
  const checks = all.filter(
    (v): v is Extract<Validator, { kind: 'command' }> => v.kind === 'command' && v.path !== undefined && v.command.includes('%s') && stagedWrite.has(v.path),
  );
  const live = all.filter((v) => !checks.includes(v as Extract<Validator, { kind: 'command' }>));
  const validatorNames = [...checks, ...live].map(validatorName);

  // 1. prepare
  const prepare = ops.filter((o): o is Extract<Operation, { op: 'run' }> => o.op === 'run');
  prepare.forEach((o, i) => {
    body.push(step('prepare', i, o.describe), `lanes_op prepare ${i} ${limits.prepare} ${shq(o.script)} || exit ${EXIT_PREPARE_FAILED}`);
  });

  // 2. mkdir: `mkdir -p` creates what is missing and changes nothing that exists (install -d would
  // chown/chmod through a link planted at the path); owner and mode then go through lanes_attrs.
  ops.forEach((o, i) => {
    if (o.op !== 'mkdir') return;
    const attrs = o.owner || o.group || o.mode ? ` && ${attrsCall(o.owner, o.group, o.mode, o.path)}` : '';
    body.push(step('mkdir', i, o.path), `{ mkdir -p -- ${shq(o.path)}${attrs}; } > "$LANES_R/op.out" 2>&1 || { lanes_fail mkdir ${i}; exit ${EXIT_PREPARE_FAILED}; }`);
  });

  // 3. stage: complete files in root-only staging directories, on the mount of their destinations
  body.push(step('stage', undefined), 'LANES_PHASE=staged');
  for (const s of staged) {
    const o = s.op;
    const fail = `{ lanes_fail stage ${s.slot}; cleanup_tmp; exit ${EXIT_COMMIT_FAILED}; }`;
    // Every slot that replaces content gets the staging directory of its mount (restore uses it too).
    if (o.op !== 'attrs') body.push(`lanes_stage ${shq(parentDir(o.path))} > "$LANES_R/op.out" 2>&1 || ${fail}`, `${s.dirVar}=$LANES_S`);
    if (o.op === 'write') {
      const owner = o.owner || o.group ? `chown ${shq(`${o.owner ?? ''}${o.group ? `:${o.group}` : ''}`)} "$${s.tmpVar}" &&` : '';
      body.push(
        `${s.tmpVar}="$LANES_S/w${s.slot}"`,
        `base64 -d > "$${s.tmpVar}" 2>"$LANES_R/op.out" <<'LANES_EOF' && ${owner} chmod ${shq(o.mode ?? '0644')} "$${s.tmpVar}" 2>>"$LANES_R/op.out" || ${fail}`,
        wrapBase64(o.content),
        'LANES_EOF',
      );
    } else if (o.op === 'symlink') {
      body.push(`${s.tmpVar}="$LANES_S/l${s.slot}"`, `ln -sfn ${shq(o.target)} "$${s.tmpVar}" 2>"$LANES_R/op.out" || ${fail}`);
    }
  }

  // 4. check the staged files with their own validators: the live files are not touched yet
  checks.forEach((v, i) => {
    const s = stagedWrite.get(v.path!)!;
    body.push(
      step('check', i, validatorName(v)),
      `lanes_op check ${i} ${limits.validate} ${shq(v.command.replace(/%s/g, () => '"$1"'))} "$${s.tmpVar}" || { cleanup_tmp; exit ${EXIT_VALIDATION_FAILED}; }`,
    );
  });

  // 5. commit, with backups taken first (a signal during the backups only removes the staged files)
  body.push(step('commit', undefined));
  for (const t of touched) {
    body.push(
      t.kind === 'attrs'
        ? `stat -c '%u %g %a' -- ${shq(t.path)} > "$LANES_R/bak/attr.${t.slot}" 2>/dev/null`
        : `if [ -e ${shq(t.path)} ] || [ -L ${shq(t.path)} ]; then cp -a -- ${shq(t.path)} "$LANES_R/bak/${t.slot}" || { lanes_fail commit ${t.slot}; cleanup_tmp; exit ${EXIT_COMMIT_FAILED}; }; fi`,
    );
  }
  body.push('LANES_PHASE=committed');
  for (const s of staged) {
    const o = s.op;
    const fail = `{ lanes_fail commit ${s.slot}; cleanup_tmp; restore; exit ${EXIT_COMMIT_FAILED}; }`;
    if (o.op === 'write' || o.op === 'symlink') body.push(`mv -fT "$${s.tmpVar}" ${shq(o.path)} > "$LANES_R/op.out" 2>&1 || ${fail}`);
    else if (o.op === 'remove') body.push(`rm -f -- ${shq(o.path)} > "$LANES_R/op.out" 2>&1 || ${fail}`);
    else body.push(`${attrsCall(o.owner, o.group, o.mode, o.path)} > "$LANES_R/op.out" 2>&1 || ${fail}`);
  }

  // 6. validate the live tree
  live.forEach((v, j) => {
    const i = checks.length + j;
    body.push(step('validate', i, validatorName(v)), `lanes_op validate ${i} ${limits.validate} ${shq(validatorCommand(v))} || { restore; resync; exit ${EXIT_VALIDATION_FAILED}; }`);
  });

  // 7. handlers
  body.push(
    'LANES_PHASE=handlers',
    `if ! run_handlers handler; then`,
    `  restore`,
    `  ${step('recover', undefined)}`,
    `  run_handlers recover || lanes_say recover-failed`,
    `  exit ${EXIT_HANDLER_FAILED}`,
    `fi`,
  );

  // 8. verify
  body.push('LANES_PHASE=done', step('verify', undefined), `(\n${verifyScript}\n)`, 'lanes_say done');

  // Functions the traps may call at any time are defined before the lock is taken.
  const functions = [
    cleanupFunction(staged),
    restoreFunction(touched),
    `resync() { ${all.some((v) => v.kind === 'supervisor-reread') ? 'supervisorctl reread >/dev/null 2>&1 8>&-;' : ''} true; }`,
    handlersFunction(handlers, limits, nonce),
  ];
  return {
    script: [prelude(nonce), ...functions, ...body, ''].join('\n'),
    validators: validatorNames,
    stagedChecks: checks.length,
    handlers,
    limits,
  };
}

function cleanupFunction(staged: Staged[]): string {
  const vars = staged.filter((s) => s.op.op === 'write' || s.op.op === 'symlink').map((s) => `"\${${s.tmpVar}:-}"`);
  return `cleanup_tmp() { for t in ${vars.join(' ') || '""'}; do [ -n "$t" ] && rm -f -- "$t"; done; true; }`;
}

function restoreFunction(touched: Touched[]): string {
  const body = [...touched].reverse().map((t) => {
    if (t.kind === 'attrs') {
      return `  if [ -s "$LANES_R/bak/attr.${t.slot}" ]; then read -r u g m < "$LANES_R/bak/attr.${t.slot}"; lanes_attrs "$u" "$g" "$m" ${shq(t.path)}; fi`;
    }
    // The copy is made in the slot's root-only staging directory, then renamed over: never a file
    // beside the destination that another user could swap.
    const tmp = `"\${LANES_D${t.slot}:-$LANES_R}/r${t.slot}"`;
    return `  if [ -e "$LANES_R/bak/${t.slot}" ] || [ -L "$LANES_R/bak/${t.slot}" ]; then rm -rf -- ${tmp}; cp -a -- "$LANES_R/bak/${t.slot}" ${tmp} && mv -fT ${tmp} ${shq(t.path)}; else rm -f -- ${shq(t.path)}; fi`;
  });
  return ['restore() {', '  lanes_say step restore - -', ...body, '  true', '}'].join('\n');
}

function handlersFunction(handlers: PlannedHandler[], limits: OperationLimits, nonce: string): string {
  const lines = ['run_handlers() {'];
  handlers.forEach((h, i) => {
    lines.push(`  lanes_say step "$1" ${i} ${b64(describeHandler(h))}`);
    if (h.kind === 'fpm' && h.sockets.length > 0) {
      // Recovery runs the handlers on the restored files: the sockets of the failed change may not exist
      // there (a pool that moved or was added), so FPM must only be back and alive on the old files.
      const onOldFiles: PlannedHandler = { ...h, sockets: [] };
      lines.push(
        `  if [ "$1" = recover ]; then lanes_op "$1" ${i} ${limits.handler} ${shq(handlerCommand(onOldFiles, nonce))} || return 1`,
        `  else lanes_op "$1" ${i} ${limits.handler} ${shq(handlerCommand(h, nonce))} || return 1; fi`,
      );
    } else lines.push(`  lanes_op "$1" ${i} ${limits.handler} ${shq(handlerCommand(h, nonce))} || return 1`);
  });
  lines.push('  return 0', '}');
  return lines.join('\n');
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
      // A function, not a string: `$&` or `$'` in a path must stay text, not become replacement patterns.
      return v.path ? v.command.replace(/%s/g, () => v.path!) : v.command;
  }
}

/** A validator of the live tree, as a command for `sh -c`. */
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
      return v.path ? v.command.replace(/%s/g, () => shq(v.path!)) : v.command;
  }
}

function handlerCommand(h: PlannedHandler, nonce: string): string {
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
      // The one FPM routine of lanes (agent/remote/fpm-reload.ts), as in a release: php-fpm -t, one
      // reload at a time per host, a master that is not running is started instead, and the reload
      // must really have happened with the master alive and every pool answering. The handler runs in
      // a shell of its own (under its limit), so the routine and its helpers travel with it; its
      // frames go to the handler's output, which ./run.ts reads back into a sentence.
      return [
        frameShell(nonce),
        SHELL_HELPERS,
        fcgiShell(),
        fpmReloadShell(),
        `LANES_W=$(mktemp -d /tmp/lanes-fpm.XXXXXX) || { echo 'cannot create a work directory in /tmp'; exit 1; }`,
        `trap 'rm -rf "$LANES_W"' EXIT`,
        fpmReloadCall({ fpmUnit: h.unit, fpmBinary: h.binary, confFile: h.confFile, action: h.action, sockets: h.sockets }),
      ].join('\n');
  }
}

/**
 * A lanes_attrs call: owner and group resolved to numbers on the host first (an unknown one fails
 * the step, never a silent "unchanged"), then changed without following links.
 */
function attrsCall(owner: string | undefined, group: string | undefined, mode: string | undefined, path: string): string {
  const uid = owner ? `_u=$(lanes_uid ${shq(owner)})` : '_u=';
  const gid = group ? `_g=$(lanes_gid ${shq(group)})` : '_g=';
  return `{ ${uid} && ${gid} && lanes_attrs "$_u" "$_g" ${mode ? shq(mode) : "''"} ${shq(path)}; }`;
}

function parentDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

function wrapBase64(content: string): string {
  const enc = Buffer.from(content, 'utf8').toString('base64');
  const out: string[] = [];
  for (let i = 0; i < enc.length; i += 76) out.push(enc.slice(i, i + 76));
  return out.join('\n');
}
