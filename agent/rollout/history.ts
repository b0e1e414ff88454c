/**
 * The release history each host keeps: `<release path>/releases/.history.jsonl`, append-only, one
 * JSON object per line, written by the release / rollback that made the change while it holds the
 * host's lease. It lives on the host (not the controller) so two controllers see the same history.
 *
 *   {"time":"2026-11-28T11:50:01Z","release":"r0123456789ab","event":"live","who":"alice@laptop",
 *    "command":"release","source":{"kind":"directory","path":"/src/app"},"previous":"r77…"}
 *
 *   event  live         `release` went live on the host (previous: what was live before, or null)
 *          rolled-back  `lanes rollback` made `release` live again, away from `previous`
 *          failed       `release` failed on the host and the host was rolled back to `previous`
 *                       (`reason`: one line saying why)
 *   time   the host's clock, UTC, seconds
 *   who    the lease holder (agent/rollout/lock.ts lockHolder) @ the controller's host name
 *   source where the release came from: {kind: directory|tarball|git|url, path?, commit?} (a URL without credentials) (absent for rollbacks)
 *
 * Each record is one short line appended with `>>`: a write of less than PIPE_BUF (4096) bytes to a
 * file opened with O_APPEND is atomic, so concurrent or interrupted appends never interleave lines.
 * Reading skips any line that is not a record (a truncated write, a hand edit) and counts it.
 */
import os from 'node:os';
import { LanesError } from '../errors.js';
import type { DesiredResource } from '../resources/types.js';
import type { ArtifactSource } from './artifact.js';
import { runFleet, type FleetHost, type FleetOptions } from '../run/fleet.js';
import { releaseSpecFor } from './spec.js';
import { lockHolder } from './lock.js';
import { RELEASE_MARKER } from './artifact.js';
import { frameShell, newNonce, parseFrames, unb64 } from '../remote/frame.js';
import { framedScript, type FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';
import type { ReleaseSpec } from './types.js';

export const HISTORY_FILE = '.history.jsonl';
/** Records are kept well under PIPE_BUF so each append is one atomic write. */
export const MAX_RECORD_BYTES = 1000;
/** How many of the last lines of the history are read (the file only grows). */
export const HISTORY_READ_LINES = 2000;

export type HistoryEvent = 'live' | 'rolled-back' | 'failed';
const EVENTS: readonly HistoryEvent[] = ['live', 'rolled-back', 'failed'];

export interface HistorySource {
  kind: ArtifactSource['kind'];
  path?: string;
  /** The git commit the release was packed from (kind git). */
  commit?: string;
}

export interface HistoryRecord {
  /** Host clock, UTC ISO (seconds). */
  time: string;
  release: string;
  event: HistoryEvent;
  who: string;
  /** The lanes command that made the change: release, rollback. */
  command: string;
  source?: HistorySource;
  /** What was live before (live, rolled-back) or what the host went back to (failed); null: nothing. */
  previous: string | null;
  /** Why a release failed (event failed). */
  reason?: string;
}

export function historyPath(spec: Pick<ReleaseSpec, 'path'>): string {
  return `${spec.path}/releases/${HISTORY_FILE}`;
}

/** Who makes this change, as the lease names its holder: `holder@controller`. */
export function historyWho(env: NodeJS.ProcessEnv = process.env): string {
  return `${lockHolder(env)}@${os.hostname()}`;
}

/** The source of an artifact as the history records it (a git artifact's path is its repository). */
export function sourceOf(artifact: { source: ArtifactSource } | undefined): HistorySource | undefined {
  if (!artifact) return undefined;
  const s = artifact.source;
  return s.kind === 'git' ? { kind: 'git', path: s.repo, commit: s.commit } : s.kind === 'url' ? { kind: 'url', path: s.url } : { kind: s.kind, path: s.path };
}

/** A source read back from a history line: only the known kinds and string fields. */
function parseSource(v: unknown): HistorySource | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (o.kind !== 'directory' && o.kind !== 'tarball' && o.kind !== 'git' && o.kind !== 'url') return undefined;
  const src: HistorySource = { kind: o.kind };
  if (typeof o.path === 'string') src.path = o.path;
  if (typeof o.commit === 'string') src.commit = o.commit;
  return src;
}

/**
 * The record's JSON without its time, split around where the host inserts its clock: the line is
 * `prefix + time + suffix`. Long free text (reason, paths) is shortened to keep the line atomic.
 */
export function recordParts(rec: Omit<HistoryRecord, 'time'>): { prefix: string; suffix: string } {
  const TIME = '0000-00-00T00:00:00Z';
  const build = (r: Omit<HistoryRecord, 'time'>) => {
    const ordered: Record<string, unknown> = { time: TIME, release: r.release, event: r.event, who: r.who, command: r.command };
    if (r.source) ordered.source = r.source;
    ordered.previous = r.previous;
    if (r.reason !== undefined) ordered.reason = r.reason;
    return JSON.stringify(ordered);
  };
  let r = { ...rec, who: clip(rec.who, 200), reason: rec.reason === undefined ? undefined : oneLine(rec.reason) };
  if (r.source?.path) r = { ...r, source: { ...r.source, path: clip(r.source.path, 300) } };
  let line = build(r);
  while (Buffer.byteLength(line) > MAX_RECORD_BYTES && r.reason && r.reason.length > 20) {
    r = { ...r, reason: clip(r.reason, Math.floor(r.reason.length * 0.8)) };
    line = build(r);
  }
  const at = line.indexOf(TIME);
  return { prefix: line.slice(0, at), suffix: line.slice(at + TIME.length) };
}

/** Append one record (frames `appended`); the time is the host's clock. Run as root under the lease. */
export function appendScript(spec: Pick<ReleaseSpec, 'path'>, rec: Omit<HistoryRecord, 'time'>): FramedScript {
  const { prefix, suffix } = recordParts(rec);
  const file = historyPath(spec);
  return framedScript(
    [
      `f=${shq(file)}`,
      // The line is built first and written by one printf: one write(2) of < PIPE_BUF bytes.
      `line=${shq(prefix)}"$(date -u +%Y-%m-%dT%H:%M:%SZ)"${shq(suffix)}`,
      `printf '%s\\n' "$line" >>"$f" || { lanes_say appended fail "$(lanes_b64 "cannot append to $f")"; exit 1; }`,
      'lanes_say appended ok',
    ],
    { doneKind: 'appended', tmpName: 'history' },
  );
}

export function parseAppend(out: string, nonce: string): { ok: boolean; message?: string } {
  const f = parseFrames(out, nonce).find((x) => x.kind === 'appended');
  if (!f) return { ok: false, message: 'the history append said nothing' };
  return f.fields[0] === 'ok' ? { ok: true } : { ok: false, message: unb64(f.fields[1]) || 'the history append failed' };
}

/** Parse the history file's text: records in file order, and how many lines were not records. */
export function parseHistory(text: string): { records: HistoryRecord[]; skipped: number } {
  const records: HistoryRecord[] = [];
  let skipped = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const rec = toRecord(line);
    if (rec) records.push(rec);
    else skipped++;
  }
  return { records, skipped };
}

function toRecord(line: string): HistoryRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.release !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(o.release)) return undefined;
  if (typeof o.event !== 'string' || !(EVENTS as readonly string[]).includes(o.event)) return undefined;
  if (typeof o.time !== 'string' || !/^\d{4}-\d{2}-\d{2}T/.test(o.time)) return undefined;
  const rec: HistoryRecord = {
    time: o.time,
    release: o.release,
    event: o.event as HistoryEvent,
    who: typeof o.who === 'string' ? o.who : '',
    command: typeof o.command === 'string' ? o.command : '',
    previous: typeof o.previous === 'string' ? o.previous : null,
  };
  const src = parseSource(o.source);
  if (src) rec.source = src;
  if (typeof o.reason === 'string') rec.reason = o.reason;
  return rec;
}

/**
 * One read-only exec per host: where `current` points, the complete releases on disk (with their
 * unpack date from the marker), and the last lines of the history (or that there is none).
 */
export function readHistoryScript(spec: Pick<ReleaseSpec, 'path'>): FramedScript {
  const nonce = newNonce();
  const base = spec.path;
  const text = `set -u
${frameShell(nonce)}
base=${shq(base)}
f=${shq(historyPath(spec))}
if [ -L "$base/current" ]; then lanes_say current "$(lanes_b64 "$(readlink "$base/current")")"; fi
if [ -f "$f" ]; then lanes_say history "$(tail -n ${HISTORY_READ_LINES} "$f" | base64 | tr -d '\\n')"; else lanes_say no-history; fi
if cd "$base/releases" 2>/dev/null; then
  for d in */; do
    d=\${d%/}
    case $d in *.tmp-*|'*') continue ;; esac
    [ -f "$d/${RELEASE_MARKER}" ] || continue
    lanes_say release "$(sed -n 's/^date=//p' "$d/${RELEASE_MARKER}" 2>/dev/null | head -n 1)" "$d"
  done
fi
lanes_say read-done
exit 0
`;
  return { text, nonce };
}

export interface HostHistoryRead {
  current?: string;
  /** Complete releases on disk with their unpack date. */
  onDisk: { id: string; date: string }[];
  /** False when the host has no history file (releases made before lanes kept one). */
  hasHistory: boolean;
  records: HistoryRecord[];
  skipped: number;
  complete: boolean;
}

export function parseHistoryRead(out: string, nonce: string): HostHistoryRead {
  const r: HostHistoryRead = { onDisk: [], hasHistory: false, records: [], skipped: 0, complete: false };
  for (const { kind, fields } of parseFrames(out, nonce)) {
    if (kind === 'current') r.current = unb64(fields[0]).replace(/\/+$/, '').split('/').pop() || undefined;
    else if (kind === 'history') {
      r.hasHistory = true;
      const p = parseHistory(unb64(fields[0]));
      r.records = p.records;
      r.skipped = p.skipped;
    } else if (kind === 'release') r.onDisk.push({ date: fields.length > 1 ? (fields[0] ?? '') : '', id: fields[fields.length - 1] ?? '' });
    else if (kind === 'read-done') r.complete = true;
  }
  return r;
}

export type ReleaseOutcome = 'live' | 'rolled back' | 'failed' | 'replaced' | 'no history';

export interface ReleaseEntry {
  id: string;
  /** live: what `current` points to; previous: what was live before it; kept: any other on disk. */
  role: 'live' | 'previous' | 'kept';
  outcome: ReleaseOutcome;
  onDisk: boolean;
  /** When it last went live (host clock), by whom, with which command. */
  wentLive?: string;
  who?: string;
  command?: string;
  source?: HistorySource;
  /** When it failed and why (outcome failed). */
  failedAt?: string;
  reason?: string;
  /** Unpack date from the release's marker. */
  unpacked?: string;
}

export interface HostReleases {
  host: string;
  current?: string;
  previous?: string;
  releases: ReleaseEntry[];
  /** False: no history file on the host (older releases), entries say "no history". */
  hasHistory: boolean;
  /** Lines of the history file that were not records and were skipped. */
  skipped: number;
  /** Every record read, oldest first. */
  records: HistoryRecord[];
}

/** Combine the history with what is on disk: the live release, the previous one, the others kept. */
export function hostReleases(host: string, read: HostHistoryRead): HostReleases {
  interface Acc {
    state?: ReleaseOutcome;
    wentLive?: HistoryRecord;
    failed?: HistoryRecord;
    source?: HistorySource;
    live?: boolean;
  }
  const acc = new Map<string, Acc>();
  const get = (id: string) => acc.get(id) ?? acc.set(id, {}).get(id)!;
  let lastLive: HistoryRecord | undefined;
  for (const r of read.records) {
    const a = get(r.release);
    if (r.source && !a.source) a.source = r.source;
    if (r.event === 'failed') {
      a.failed = r;
      a.state = 'failed';
      continue;
    }
    a.state = 'live';
    a.wentLive = r;
    lastLive = r;
    if (r.previous && r.previous !== r.release) get(r.previous).state = r.event === 'rolled-back' ? 'rolled back' : 'replaced';
  }
  const current = read.current;
  // The previous release: what was live before the record that made the current one live.
  const madeLive = [...read.records].reverse().find((r) => r.event !== 'failed' && r.release === current);
  const previous = (madeLive ?? (lastLive?.release === current ? lastLive : undefined))?.previous ?? undefined;
  const disk = new Map(read.onDisk.map((d) => [d.id, d.date]));
  const ids = [...new Set([...(current ? [current] : []), ...(previous ? [previous] : []), ...read.onDisk.map((d) => d.id)])];
  const entries = ids.map((id): ReleaseEntry => {
    const a = acc.get(id);
    let outcome: ReleaseOutcome = a?.state ?? 'no history';
    if (id === current) outcome = 'live';
    else if (outcome === 'live') outcome = 'replaced'; // history says live, `current` says otherwise: trust the host
    const e: ReleaseEntry = { id, role: id === current ? 'live' : id === previous ? 'previous' : 'kept', outcome, onDisk: disk.has(id) };
    if (a?.wentLive) Object.assign(e, { wentLive: a.wentLive.time, who: a.wentLive.who, command: a.wentLive.command });
    if (a?.source) e.source = a.source;
    if (outcome === 'failed' && a?.failed) Object.assign(e, { failedAt: a.failed.time, who: e.who ?? a.failed.who, command: e.command ?? a.failed.command, reason: a.failed.reason });
    if (disk.get(id)) e.unpacked = disk.get(id);
    return e;
  });
  const rank = { live: 0, previous: 1, kept: 2 } as const;
  const when = (e: ReleaseEntry) => e.wentLive ?? e.failedAt ?? e.unpacked ?? '';
  entries.sort((x, y) => rank[x.role] - rank[y.role] || (when(x) < when(y) ? 1 : when(x) > when(y) ? -1 : 0));
  return { host, current, previous, releases: entries, hasHistory: read.hasHistory, skipped: read.skipped, records: read.records };
}

export interface FleetSummary {
  /** Hosts per live release, most hosts first; `release` undefined: no release live. */
  groups: { release?: string; hosts: string[] }[];
  unreachable: string[];
  mixed: boolean;
  line: string;
}

/** `3 hosts on r4a…, 1 host on r77… (lab4)`: a mixed fleet names the hosts of every minority group. */
export function fleetSummary(hosts: { host: string; current?: string }[], unreachable: string[] = []): FleetSummary {
  const by = new Map<string | undefined, string[]>();
  for (const h of hosts) by.set(h.current, [...(by.get(h.current) ?? []), h.host]);
  const groups = [...by].map(([release, hs]) => ({ release, hosts: hs })).sort((a, b) => b.hosts.length - a.hosts.length || String(a.release).localeCompare(String(b.release)));
  const mixed = groups.length > 1;
  const n = (k: number) => `${k} host${k === 1 ? '' : 's'}`;
  const parts = groups.map((g, i) => `${n(g.hosts.length)} ${g.release ? `on ${g.release}` : 'with no live release'}${mixed && i > 0 ? ` (${g.hosts.join(', ')})` : ''}`);
  if (unreachable.length) parts.push(`${n(unreachable.length)} not read (${unreachable.join(', ')})`);
  const line = `${mixed ? 'mixed fleet: ' : 'fleet: '}${parts.join(', ') || 'no hosts'}`;
  return { groups, unreachable, mixed, line };
}

/** The text of `lanes releases` for one host. */
export function describeHost(h: HostReleases): string[] {
  const lines = [`${h.host}: ${h.current ? `on ${h.current}` : 'no live release'}${h.hasHistory ? '' : ' (no history on this host)'}`];
  for (const e of h.releases) {
    const bits: string[] = [];
    if (e.outcome === 'failed') bits.push(`failed ${e.failedAt ?? ''}`.trim());
    else if (e.wentLive) bits.push(`went live ${e.wentLive}`);
    else if (e.unpacked) bits.push(`unpacked ${e.unpacked}`);
    if (e.who) bits.push(`by ${e.who}${e.command ? ` (${e.command})` : ''}`);
    if (e.source) bits.push(`from ${e.source.kind}${e.source.path ? ` ${e.source.path}` : ''}${e.source.commit ? ` ${e.source.commit}` : ''}`);
    if (!e.onDisk) bits.push('not on disk');
    if (e.reason) bits.push(`reason: ${e.reason}`);
    lines.push(`  ${e.role.padEnd(8)} ${e.id.padEnd(14)} ${e.outcome.padEnd(11)} ${bits.join(', ')}`.trimEnd());
  }
  if (h.skipped > 0) lines.push(`  warning: ${h.skipped} unreadable line${h.skipped === 1 ? '' : 's'} of releases/${HISTORY_FILE} skipped`);
  return lines;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/**
 * `lanes releases`: read every host's history in one exec each, no lease (nothing changes). Hosts
 * that cannot be read are failed hosts of the run and named in the summary.
 */
export async function readReleasesFleet(
  desired: Map<string, DesiredResource[]>,
  hosts: FleetHost[],
  opts: FleetOptions & { timeoutMs?: number },
): Promise<{ ok: boolean; hosts: HostReleases[]; failed: { host: string; message: string }[]; summary: FleetSummary }> {
  // The release block is checked for every host before any connection.
  const specs = new Map(hosts.map((h) => [h.name, releaseSpecFor(h.name, desired.get(h.name) ?? [])]));
  const result = await runFleet<HostReleases>(
    hosts,
    async ({ host, conn, step }) => {
      const script = readHistoryScript(specs.get(host)!);
      const read = await step('read history', async () => {
        const r = await conn.exec(script.text, { become: true, timeoutMs: opts.timeoutMs });
        const p = parseHistoryRead(r.stdout, script.nonce);
        if (!p.complete) throw new LanesError(`reading the release history failed (exit ${r.code})`, { kind: 'exec', host });
        return p;
      });
      const h = hostReleases(host, read);
      return { data: h, summary: h.current ? `on ${h.current}` : 'no live release' };
    },
    opts,
  );
  const read = result.hosts.filter((o) => o.ok && o.data).map((o) => o.data!);
  const failed = result.summary.failures;
  return { ok: result.ok, hosts: read, failed, summary: fleetSummary(read, failed.map((f) => f.host)) };
}

/** The history file of releases made before the JSON history existed: `<time> <id>` lines, read only. */
export const LEGACY_HISTORY_FILE = '.lanes-history';

/**
 * One read of the releases that went live on a host, oldest first: the JSON history's `live` and
 * `rolled-back` records (the last HISTORY_READ_LINES), or, on a host released only by an older
 * lanes, its legacy `.lanes-history` — the rollback target and prune's keep list come from it.
 */
export function switchHistoryScript(spec: Pick<ReleaseSpec, 'path'>): FramedScript {
  const nonce = newNonce();
  const text = `set -u
${frameShell(nonce)}
f=${shq(historyPath(spec))}
legacy=${shq(`${spec.path}/${LEGACY_HISTORY_FILE}`)}
if [ -f "$f" ]; then lanes_say history "$(tail -n ${HISTORY_READ_LINES} "$f" | base64 | tr -d '\\n')"; fi
if [ -f "$legacy" ]; then lanes_say legacy "$(tail -n ${HISTORY_READ_LINES} "$legacy" | base64 | tr -d '\\n')"; fi
lanes_say read-done
exit 0
`;
  return { text, nonce };
}

/** The release ids that went live, oldest first, from {@link switchHistoryScript}'s output. */
export function parseSwitchHistory(out: string, nonce: string): string[] {
  const frames = parseFrames(out, nonce);
  const text = (kind: string) => unb64(frames.find((f) => f.kind === kind)?.fields[0]);
  const live = parseHistory(text('history'))
    .records.filter((r) => r.event === 'live' || r.event === 'rolled-back')
    .map((r) => r.release);
  if (live.length > 0) return live;
  return text('legacy')
    .split('\n')
    .map((l) => l.trim().split(' ')[1] ?? '')
    .filter((id) => /^[A-Za-z0-9._-]{1,100}$/.test(id));
}
