/**
 * The host lease, not a file that only a successful run removes (a cancelled CI job must not block
 * every later run: deployphp/deployer#3335). Every command that changes a host (apply, release,
 * rollback, drain, undrain) takes it, so it lives at a fixed host path, {@link LEASE_FILE}, not under
 * an application root (hosts without a release block need it too). It holds one JSON line naming who
 * holds it, from where, since when and until when:
 *
 *   {"holder":"alice","from":"laptop","pid":4242,"since":"…Z","expires":"…Z","operation":"release"}
 *
 * Scripts (POSIX sh, as root) built here. Each decides and writes inside a short critical section
 * (an atomic `mkdir` of `<lock>.guard`, held for milliseconds, taken over when a killed run left it
 * for a minute), and a lock file only ever appears whole (a temp file renamed into place):
 *   acquire  no lock → `acquired`; an unexpired lock of someone else → `held <b64 json>` (exit 0:
 *            the caller decides); an expired (or unreadable) one is replaced and reported →
 *            `acquired-expired <b64 old json>`. The lock is read back before success is reported.
 *   release  removes the lock only if it is ours (same holder, from, pid and since).
 *   renew    extends `expires` of our lock.
 *   break    removes whatever lock there is.
 *
 * Times are the deploying machine's clock, in UTC ISO form; the host compares them with its own
 * clock, so the lease length should be well above any clock skew.
 */
import os from 'node:os';
import { LanesError } from '../errors.js';
import { frameShell, newNonce, parseFrames, unb64 } from '../remote/frame.js';
import type { FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';

export interface Lease {
  /** Who: $USER, LANES_LOCK_HOLDER, or the CI job. */
  holder: string;
  /** The machine lanes runs on. */
  from: string;
  pid: number;
  /** UTC ISO time, seconds precision. */
  since: string;
  expires: string;
  /** What the holder is doing: release, rollback… */
  operation: string;
}

/** Where the lease lives on every host. */
export const LEASE_FILE = '/var/lib/lanes/lease';
/** Exit code of an acquire that kept losing races for the lock file. */
export const EXIT_LOCK_CONTENTION = 5;

/** A lease file path as the scripts need it: absolute, not a directory. */
export function checkLockFile(lock: string): string {
  if (!lock.startsWith('/') || lock.endsWith('/')) throw new LanesError(`lease file ${JSON.stringify(lock)} must be an absolute file path`, { kind: 'internal' });
  return lock;
}

/** Who takes the lock: LANES_LOCK_HOLDER, else the CI job (GitHub Actions, GitLab CI), else the user. */
export function lockHolder(env: NodeJS.ProcessEnv = process.env): string {
  const set = (k: string) => {
    const v = env[k]?.trim();
    return v ? v : undefined;
  };
  const explicit = set('LANES_LOCK_HOLDER');
  if (explicit) return explicit;
  const gh = set('GITHUB_RUN_ID');
  if (gh) {
    const repo = set('GITHUB_REPOSITORY');
    const actor = set('GITHUB_ACTOR');
    return `github:${repo ? `${repo}/` : ''}run/${gh}${actor ? ` (${actor})` : ''}`;
  }
  const gl = set('CI_JOB_ID');
  if (gl) {
    const project = set('CI_PROJECT_PATH');
    const user = set('GITLAB_USER_LOGIN');
    return `gitlab:${project ? `${project}/` : ''}job/${gl}${user ? ` (${user})` : ''}`;
  }
  return set('USER') ?? set('LOGNAME') ?? safeUsername() ?? 'unknown';
}

function safeUsername(): string | undefined {
  try {
    return os.userInfo().username || undefined;
  } catch {
    return undefined;
  }
}

/** ISO UTC without milliseconds: the form locks are written in (and compared by the host). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface NewLeaseOptions {
  operation: string;
  ttlMs: number;
  holder?: string;
  from?: string;
  pid?: number;
  /** Now, ms since the epoch (tests). */
  now?: number;
  env?: NodeJS.ProcessEnv;
}

export function newLease(opts: NewLeaseOptions): Lease {
  if (!Number.isFinite(opts.ttlMs) || opts.ttlMs < 1000) {
    throw new LanesError(`lock lease must last at least 1s, got ${opts.ttlMs}ms`, { hint: 'e.g. lock_ttl: 2m' });
  }
  const now = Math.floor((opts.now ?? Date.now()) / 1000) * 1000;
  return {
    holder: opts.holder ?? lockHolder(opts.env),
    from: opts.from ?? os.hostname(),
    pid: opts.pid ?? process.pid,
    since: isoSeconds(now),
    expires: isoSeconds(now + Math.ceil(opts.ttlMs / 1000) * 1000),
    operation: opts.operation,
  };
}

/** The same lease, expiring `ttlMs` after `now`. */
export function renewLease(lease: Lease, ttlMs: number, now = Date.now()): Lease {
  return { ...lease, expires: isoSeconds(Math.floor(now / 1000) * 1000 + Math.ceil(ttlMs / 1000) * 1000) };
}

/** The lock file line, keys in a fixed order (the identity part is a prefix of it). */
export function serializeLease(lease: Lease): string {
  return `${identityPrefix(lease)}"expires":${JSON.stringify(lease.expires)},"operation":${JSON.stringify(lease.operation)}}`;
}

/** `{"holder":…,"from":…,"pid":…,"since":…,` — what makes a lock ours whatever its expiry. */
function identityPrefix(lease: Lease): string {
  if (!Number.isInteger(lease.pid)) throw new LanesError(`lock pid must be a whole number, got ${lease.pid}`, { kind: 'internal' });
  return `{"holder":${JSON.stringify(lease.holder)},"from":${JSON.stringify(lease.from)},"pid":${lease.pid},"since":${JSON.stringify(lease.since)},`;
}

/** A lock file line, or undefined when it is not one. */
export function parseLease(line: string): Lease | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const holder = s('holder');
  const since = s('since');
  const expires = s('expires');
  if (holder === undefined || since === undefined || expires === undefined) return undefined;
  return {
    holder,
    from: s('from') ?? '',
    pid: typeof o.pid === 'number' ? o.pid : 0,
    since,
    expires,
    operation: s('operation') ?? '',
  };
}

/** sh shared by the lock scripts: paths, the guard, a reader and the expiry test against the host clock. */
function prelude(lockFile: string, nonce: string): string {
  const lock = checkLockFile(lockFile);
  return `set -u
${frameShell(nonce)}
umask 022
dir=${shq(lock.replace(/\/[^/]*$/, '') || '/')}
lock=${shq(lock)}
guard_d="$lock.guard"
tmp="$lock.tmp.$$"
guarded=
trap 'rm -f "$tmp"; [ -z "$guarded" ] || rmdir "$guard_d" 2>/dev/null' EXIT
trap 'exit 130' INT TERM HUP
fail() { printf '%s\\n' "$*" >&2; exit 1; }
# guard: enter the critical section (an atomic mkdir, held for milliseconds). A guard older than a
# minute was left by a run killed inside it and is taken over.
guard() {
  n=0
  until mkdir "$guard_d" 2>/dev/null; do
    [ -d "$dir" ] || fail "$dir does not exist"
    n=$((n + 1))
    if [ "$n" -gt 3 ] && [ -n "$(find "$guard_d" -maxdepth 0 -mmin +1 2>/dev/null)" ]; then
      rmdir "$guard_d" 2>/dev/null
    fi
    if [ "$n" -gt 1500 ]; then
      printf '%s\\n' "timed out waiting for $guard_d (remove it if no lanes run is active)" >&2
      exit ${EXIT_LOCK_CONTENTION}
    fi
    sleep 0.1 2>/dev/null || sleep 1
  done
  guarded=1
}
# readlock FILE: its first line in $line; fails when there is no such file.
readlock() { line=; [ -f "$1" ] || return 1; { IFS= read -r line || :; } 2>/dev/null < "$1" || return 1; return 0; }
# expired LINE: its "expires" is before the host's clock (an unreadable lock counts as expired).
now=$(date -u +%Y%m%d%H%M%S)
expired() {
  e=$(printf '%s\\n' "$1" | sed -n 's/.*"expires":"\\([^"]*\\)".*/\\1/p' | tr -cd 0-9 | cut -c1-14)
  [ \${#e} -eq 14 ] || return 0
  [ "$now" -gt "$e" ]
}
`;
}

/**
 * Script that takes the lock for `lease`. Frames (agent/remote/frame.ts) `acquired`, `held <b64 json>` or
 * `acquired-expired <b64 old json>`; exit 5 only when the guard could not be entered.
 */
export function acquireScript(lockFile: string, lease: Lease, nonce = newNonce()): FramedScript {
  return { nonce, text: `${prelude(lockFile, nonce)}
mine=${shq(identityPrefix(lease))}
mkdir -p "$dir" || fail "cannot create $dir"
printf '%s\\n' ${shq(serializeLease(lease))} > "$tmp" || fail "cannot write $tmp"
guard
old=
if readlock "$lock"; then
  case $line in "$mine"*) lanes_say acquired; exit 0 ;; esac
  if ! expired "$line"; then lanes_say held "$(lanes_b64 "$line")"; exit 0; fi
  old=$line
fi
# The new lock appears whole (rename), replacing an expired one if any; then read it back.
mv -f "$tmp" "$lock" || fail "cannot write $lock"
readlock "$lock" || line=
case $line in "$mine"*) ;; *) lanes_say held "$(lanes_b64 "$line")"; exit 0 ;; esac
if [ -n "$old" ]; then lanes_say acquired-expired "$(lanes_b64 "$old")"; else lanes_say acquired; fi
exit 0
` };
}

/** Script that removes the lock if it is `lease`'s. Frames (agent/remote/frame.ts) `released`, `absent` or `not-ours <b64 json>`. */
export function releaseScript(lockFile: string, lease: Lease, nonce = newNonce()): FramedScript {
  return { nonce, text: `${prelude(lockFile, nonce)}
mine=${shq(identityPrefix(lease))}
[ -e "$lock" ] || { lanes_say absent; exit 0; }
guard
readlock "$lock" || { lanes_say absent; exit 0; }
case $line in
  "$mine"*) rm -f "$lock" || fail "cannot remove $lock"; lanes_say released ;;
  *) lanes_say not-ours "$(lanes_b64 "$line")" ;;
esac
exit 0
` };
}

/**
 * Script that extends our lock to `renewed.expires` (see {@link renewLease}). Frames (agent/remote/frame.ts) `renewed`,
 * or `lost <b64 json>` / `absent` when the lock is no longer ours.
 */
export function renewScript(lockFile: string, renewed: Lease, nonce = newNonce()): FramedScript {
  return { nonce, text: `${prelude(lockFile, nonce)}
mine=${shq(identityPrefix(renewed))}
[ -e "$lock" ] || { lanes_say absent; exit 0; }
printf '%s\\n' ${shq(serializeLease(renewed))} > "$tmp" || fail "cannot write $tmp"
guard
readlock "$lock" || { lanes_say absent; exit 0; }
case $line in
  "$mine"*) mv -f "$tmp" "$lock" || fail "cannot write $lock"; lanes_say renewed ;;
  *) lanes_say lost "$(lanes_b64 "$line")" ;;
esac
exit 0
` };
}

/** Script that removes any lock. Frames (agent/remote/frame.ts) `broken <b64 json>` or `absent`. */
export function breakScript(lockFile: string, nonce = newNonce()): FramedScript {
  return { nonce, text: `${prelude(lockFile, nonce)}
[ -e "$lock" ] || { lanes_say absent; exit 0; }
guard
if readlock "$lock"; then
  rm -f "$lock" || fail "cannot remove $lock"
  lanes_say broken "$(lanes_b64 "$line")"
else
  lanes_say absent
fi
exit 0
` };
}

export interface LockOutcome {
  status: 'acquired' | 'held' | 'acquired-expired';
  /** The other lease: the one holding the lock ('held'), or the expired one taken over. */
  holder?: Lease;
  /** Its line as found, when it is not a valid lease. */
  raw?: string;
}

/** What a lease script printed: its stdout (frames of its nonce) and stderr (why, when it said nothing). */
export interface LockScriptOutput {
  stdout: string;
  stderr?: string;
}

/** The lease (or the raw line, when it is not one) carried base64 in a frame's field. */
function leaseField(field: string | undefined): { lease?: Lease; raw?: string } {
  const raw = unb64(field);
  const lease = parseLease(raw);
  return lease ? { lease } : { raw };
}

/** Read what {@link acquireScript} printed. */
export function parseLockOutput(out: LockScriptOutput, nonce: string): LockOutcome {
  for (const f of parseFrames(out.stdout, nonce)) {
    if (f.kind === 'acquired') return { status: 'acquired' };
    if (f.kind === 'held' || f.kind === 'acquired-expired') {
      const { lease, raw } = leaseField(f.fields[0]);
      return lease ? { status: f.kind, holder: lease } : { status: f.kind, raw };
    }
  }
  throw noOutcome(out.stderr ?? '');
}

const CHANGES = ['released', 'renewed', 'broken', 'absent', 'not-ours', 'lost'] as const;
export type LockChange = { status: (typeof CHANGES)[number]; lease?: Lease; raw?: string };

/** What {@link releaseScript}, {@link renewScript} or {@link breakScript} printed. */
export function parseLockChange(out: LockScriptOutput, nonce: string): LockChange {
  for (const f of parseFrames(out.stdout, nonce)) {
    const status = CHANGES.find((c) => c === f.kind);
    if (!status) continue;
    if (f.fields[0] === undefined) return { status };
    return { status, ...leaseField(f.fields[0]) };
  }
  throw noOutcome(out.stderr ?? '');
}

/** A lease script that said nothing: why, in its own words (the last line it wrote to stderr). */
function noOutcome(stderr: string): LanesError {
  const why = stderr.trim().split('\n').filter(Boolean).at(-1);
  return new LanesError(`the host lease could not be read or written${why ? `: ${why}` : ' (the lease script stopped without saying why)'}`, {
    kind: 'exec',
    hint: 'check that /var/lib/lanes is writable by root on the host',
  });
}

/** The error for a lock someone else holds (or an unreadable one). */
export function lockHeldError(host: string, lease: Lease | undefined, raw?: string): LanesError {
  const hint = 'wait for it with --lock-wait 5m, or remove it with --break-lock if that run is gone';
  if (!lease) {
    return new LanesError(`host locked by an unreadable lease file${raw ? ` (${raw.slice(0, 120)})` : ''}`, { kind: 'exec', host, hint });
  }
  return new LanesError(`host locked by ${describeLease(lease)}`, {
    kind: 'exec',
    host,
    hint,
  });
}

/** `alice@laptop (pid 42, operation release) since …, expires …`: who holds a lease, for people. */
export function describeLease(lease: Lease): string {
  const who = lease.from ? `${lease.holder}@${lease.from}` : lease.holder;
  const details = [lease.pid ? `pid ${lease.pid}` : '', lease.operation ? `operation ${lease.operation}` : ''].filter(Boolean).join(', ');
  const sameDay = lease.since.slice(0, 10) === lease.expires.slice(0, 10) && /^\d{4}-\d{2}-\d{2}T/.test(lease.expires);
  const expires = sameDay ? lease.expires.slice(11) : lease.expires;
  return `${who}${details ? ` (${details})` : ''} since ${lease.since}, expires ${expires}`;
}
