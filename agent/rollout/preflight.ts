/**
 * Preflight of a release or rollback on one host: run after the lock and before anything is uploaded
 * or switched anywhere, so that a release that cannot work is refused while every host is still
 * exactly as it was. Checked:
 *
 *   fpm        the FPM unit is active, its master process alive and initialised
 *   pool       every pool the release names answers FastCGI on its socket (any answer: it exists)
 *   worker     every Supervisor program/group and systemd unit the release names exists, and what it
 *              runs (Supervisor `command`/`directory`, systemd `ExecStart`/`WorkingDirectory`) is
 *              reported, so that the controller can check that the scripts a worker runs from under
 *              `<path>/current/` are in the release being shipped ({@link missingReleaseFiles})
 *
 * Frames: `fpm ok|fail <b64>`, `pool <name> ok|fail <b64>`,
 * `worker <name> ok <b64 command> <b64 directory>` / `worker <name> fail <b64 why>`, `preflight done`.
 */
import path from 'node:path';
import { parseFrames, unb64 } from '../remote/frame.js';
import { fcgiAddress, fcgiShell, framedScript, type FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';
import type { ReleaseSpec } from './types.js';
import { WORKER_FUNCS } from './workers.js';

const PREFLIGHT_FUNCS = `
pf_fpm() {
  _st=$(systemctl is-active "$1" 2>/dev/null)
  [ "$_st" = active ] || { lanes_say fpm fail "$(lanes_b64 "php-fpm ($1) is \${_st:-unknown}, not running")"; return; }
  _m=$(systemctl show -p MainPID --value "$1" 2>/dev/null)
  if [ "\${_m:-0}" = 0 ] || ! kill -0 "$_m" 2>/dev/null; then lanes_say fpm fail "$(lanes_b64 "$1 is active but its master process (MainPID \${_m:-0}) is not running")"; return; fi
  case $(tr '\\0' ' ' <"/proc/$_m/cmdline" 2>/dev/null) in
    *"master process"*) lanes_say fpm ok "$(lanes_b64 "master $_m")" ;;
    *) lanes_say fpm fail "$(lanes_b64 "the php-fpm master (pid $_m) has not finished starting")" ;;
  esac
}
pf_pool() {
  case $2 in /*) [ -S "$2" ] || { lanes_say pool "$1" fail "$(lanes_b64 "no FPM pool socket at $2")"; return; } ;; esac
  if fcgi_request "$2" /lanes-preflight /lanes-preflight "" "$LANES_W/pool"; then lanes_say pool "$1" ok -
  else lanes_say pool "$1" fail "$(lanes_b64 "$2 does not answer FastCGI: $(lanes_oneline "$(cat "$LANES_W/pool.err")")")"; fi
}
pf_supervisor() {
  lanes_sv_status
  if [ -z "$(lanes_sv_lines "$1")" ]; then
    case $LANES_SV_RC in
      0|3) lanes_say worker "$1" fail "$(lanes_b64 "Supervisor has no program or group named $1")" ;;
      *) lanes_say worker "$1" fail "$(lanes_b64 "supervisorctl status failed: $(lanes_oneline "$LANES_SV")")" ;;
    esac
    return
  fi
  lanes_say worker "$1" ok "$(lanes_b64 "$(lanes_sv_opt "$1" command '')")" "$(lanes_b64 "$(lanes_sv_opt "$1" directory '')")"
}
pf_systemd() {
  _load=$(systemctl show -p LoadState --value "$1" 2>/dev/null)
  [ "$_load" = loaded ] || { lanes_say worker "$1" fail "$(lanes_b64 "systemd has no unit named $1")"; return; }
  _x=$(systemctl show -p ExecStart --value "$1" 2>/dev/null | sed -n 's/.*argv\\[\\]=\\([^;]*\\) ;.*/\\1/p' | head -n 1)
  _d=$(systemctl show -p WorkingDirectory --value "$1" 2>/dev/null)
  lanes_say worker "$1" ok "$(lanes_b64 "$_x")" "$(lanes_b64 "\${_d#[-!]}")"
}
`;

/** The preflight script for one host (run as root). */
export function preflightScript(spec: Pick<ReleaseSpec, 'pools' | 'workers'>, opts: { fpmUnit: string }): FramedScript {
  return framedScript(
    [
      `pf_fpm ${shq(opts.fpmUnit)}`,
      ...spec.pools.map((p) => `pf_pool ${shq(p.name)} ${shq(fcgiAddress(p.listen))}`),
      ...spec.workers.supervisor.map((n) => `pf_supervisor ${shq(n)}`),
      ...spec.workers.systemd.map((n) => `pf_systemd ${shq(n)}`),
      'lanes_say preflight done',
    ],
    { doneKind: 'preflight', tmpName: 'preflight', extra: [fcgiShell(), WORKER_FUNCS, PREFLIGHT_FUNCS] },
  );
}

export interface WorkerCommand {
  name: string;
  command: string;
  directory: string;
}

export interface PreflightResult {
  /** Sentences, one per failed check ("Supervisor has no program or group named app-queu"). */
  problems: string[];
  workers: WorkerCommand[];
}

export function parsePreflight(out: string, nonce: string): PreflightResult {
  const frames = parseFrames(out, nonce);
  const problems: string[] = [];
  const workers: WorkerCommand[] = [];
  for (const { kind, fields } of frames) {
    if (kind === 'fpm' && fields[0] === 'fail') problems.push(unb64(fields[1]));
    else if (kind === 'pool' && fields[1] === 'fail') problems.push(`pool ${fields[0]}: ${unb64(fields[2])}`);
    else if (kind === 'worker' && fields[1] === 'fail') problems.push(unb64(fields[2]));
    else if (kind === 'worker' && fields[1] === 'ok') workers.push({ name: fields[0] ?? '', command: unb64(fields[2]), directory: unb64(fields[3]) });
  }
  const end = frames.filter((f) => f.kind === 'preflight').at(-1);
  if (end?.fields[0] !== 'done') problems.push(unb64(end?.fields[1]) || 'the preflight checks stopped before finishing');
  return { problems, workers };
}

/**
 * The files (relative to a release) a worker runs from under `<appPath>/current/`: absolute paths on
 * its command line below it, and relative ones (`artisan`, `bin/console`, `worker.php`) when its
 * working directory is below it. Options, bare words (`queue:work`) and the interpreter are not files.
 */
export function releaseFilesOf(appPath: string, w: Pick<WorkerCommand, 'command' | 'directory'>): string[] {
  const cur = `${appPath.replace(/\/+$/, '')}/current`;
  const under = (p: string): string | undefined => {
    const n = path.posix.normalize(p);
    return n.startsWith(`${cur}/`) ? n.slice(cur.length + 1) : undefined;
  };
  const dir = w.directory ? (w.directory === cur ? '' : under(w.directory)) : undefined;
  const out: string[] = [];
  const words = w.command.match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
  for (const [i, raw] of words.entries()) {
    const word = raw.replace(/^(["'])(.*)\1$/, '$2').replace(i === 0 ? /^[-@:+!]+/ : /^$/, '');
    if (word === '' || word.startsWith('-') || word.includes('=')) continue;
    if (word.startsWith('/')) {
      const rel = under(word);
      if (rel) out.push(rel);
    } else if (dir !== undefined && i > 0 && (word.includes('/') || /\.php$/.test(word) || word === 'artisan')) {
      out.push(path.posix.normalize(dir ? `${dir}/${word}` : word));
    }
  }
  return [...new Set(out)];
}

/** Of what the workers run, what the release does not have, as sentences ("app-queue runs worker.php, which …"). */
export function missingReleaseFiles(appPath: string, shared: string[], workers: WorkerCommand[], has: (rel: string) => boolean, release: string): string[] {
  const problems: string[] = [];
  for (const w of workers) {
    for (const rel of releaseFilesOf(appPath, w)) {
      if (shared.some((s) => rel === s || rel.startsWith(`${s}/`))) continue;
      if (!has(rel)) problems.push(`worker ${w.name} runs ${appPath.replace(/\/+$/, '')}/current/${rel}, which release ${release} does not contain`);
    }
  }
  return problems;
}
