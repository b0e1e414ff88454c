/**
 * Text output for a large fleet. Up to {@link FLEET_THRESHOLD} hosts every renderer prints one line
 * per host, as it always has; above it a line per host stops being readable (1000 hosts, 998 of them
 * "no changes"), so hosts with the same outcome are grouped into one line with their names abbreviated
 * (`web001…web040 (40 hosts)`), and per-host failure lines stop at {@link LISTED_FAILURES}, pointing to
 * `--json`, which always carries one event per host.
 */

import type { Paint } from './color.js';
import type { EventOf } from './events.js';
import { formatMs, hostReason, oneLine } from './format.js';

/** Above this many hosts in a run, text output groups hosts (20: a screenful of one-line hosts). */
export const FLEET_THRESHOLD = 20;
/** Failed hosts named one per line in a large fleet's summary; the rest are counted and left to --json. */
export const LISTED_FAILURES = 50;
/** Distinct outcomes shown as groups; more distinct outcomes than this are counted instead. */
export const SHOWN_GROUPS = 10;
/** Names (or ranges) shown in one abbreviated host list before `… +N more`. */
const SHOWN_NAMES = 6;

export function isFleet(hostCount: number): boolean {
  return hostCount > FLEET_THRESHOLD;
}

const noPaint: Paint = (_s, t) => t;

/**
 * Host names, shortest exact form: runs of 3 or more consecutive numbered names become `first…last`
 * (`web001…web040` means exactly those 40), then at most `shown` items and `+N more`; the count
 * follows when there are several hosts. Order: natural (web2 before web10).
 */
export function abbreviateHosts(hosts: readonly string[], shown = SHOWN_NAMES): string {
  const sorted = [...new Set(hosts)].sort(naturalCompare);
  const items: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && follows(sorted[j]!, sorted[j + 1]!)) j++;
    if (j - i >= 2) items.push(`${sorted[i]}…${sorted[j]}`);
    else for (let k = i; k <= j; k++) items.push(sorted[k]!);
    i = j + 1;
  }
  const list = items.length > shown ? `${items.slice(0, shown).join(', ')}, … +${countOf(items.slice(shown), sorted)} more` : items.join(', ');
  return sorted.length > 1 ? `${list} (${sorted.length} hosts)` : list;
}

/** How many hosts the items left out stand for (a range `a…b` is several). */
function countOf(items: string[], sorted: string[]): number {
  let n = 0;
  for (const item of items) {
    const [a, b] = item.split('…');
    n += b === undefined ? 1 : sorted.indexOf(b) - sorted.indexOf(a!) + 1;
  }
  return n;
}

const NUMBERED = /^(.*?)(\d+)$/;

/** b is the name after a: same prefix and width, number one higher (`web009` → `web010`). */
function follows(a: string, b: string): boolean {
  const ma = NUMBERED.exec(a);
  const mb = NUMBERED.exec(b);
  if (!ma || !mb || ma[1] !== mb[1]) return false;
  const padded = ma[2]!.startsWith('0') || mb[2]!.startsWith('0');
  if (padded && ma[2]!.length !== mb[2]!.length) return false;
  return Number(mb[2]) === Number(ma[2]) + 1;
}

function naturalCompare(a: string, b: string): number {
  const ma = NUMBERED.exec(a);
  const mb = NUMBERED.exec(b);
  if (ma && mb && ma[1] === mb[1]) return Number(ma[2]) - Number(mb[2]) || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Items with the same key, in first-seen order, largest group first. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): { key: string; items: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return [...groups].map(([k, v]) => ({ key: k, items: v })).sort((a, b) => b.items.length - a.items.length);
}

/**
 * A large fleet's results, one line per distinct outcome: `ok: web001…web998 (998 hosts): no changes`…
 * Successes are grouped by their summary (when the summaries are per-host, like ping's timings, by
 * none: `ok: 1000 hosts`); failures by their reason without the host's name.
 */
export function fleetResultLines(ends: readonly EventOf<'host-end'>[], paint: Paint = noPaint): string[] {
  const lines: string[] = [];
  const ok = ends.filter((e) => e.ok);
  const okGroups = groupBy(ok, (e) => oneLine(e.summary ?? ''));
  if (okGroups.length > SHOWN_GROUPS) {
    // Summaries differ host by host (timings, names): a group per host would be a line per host again.
    lines.push(`${paint('green', 'ok')}: ${abbreviateHosts(ok.map((e) => e.host))}; each host's summary: see --json`);
  } else {
    for (const g of okGroups) lines.push(`${paint('green', 'ok')}: ${groupHead(g.items.map((e) => e.host), g.key)}`);
  }
  const failed = ends.filter((e) => !e.ok);
  const failGroups = groupBy(failed, (e) => hostReason(e.host, e.failure?.message ?? e.summary ?? 'failed'));
  for (const g of failGroups.slice(0, SHOWN_GROUPS)) lines.push(`${paint('red', 'FAILED')}: ${groupHead(g.items.map((e) => e.host), g.key)}`);
  const rest = failGroups.slice(SHOWN_GROUPS).flatMap((g) => g.items.map((e) => e.host));
  if (rest.length) lines.push(`${paint('red', 'FAILED')}: ${abbreviateHosts(rest)}, with ${failGroups.length - SHOWN_GROUPS} other reasons: see below or --json`);
  return lines;
}

function groupHead(hosts: string[], text: string): string {
  const names = abbreviateHosts(hosts);
  return text ? `${names}: ${text}` : names;
}

/**
 * The run summary of a large fleet: the counts line as for a small one, then one line per failed host
 * up to {@link LISTED_FAILURES}, then how many more and where to find them.
 */
export function fleetSummaryLines(command: string, e: EventOf<'run-end'>, paint: Paint = noPaint): string[] {
  const { ok, failed, failures } = e.summary;
  const counts = `${paint('green', `${ok} ok`)}, ${failed > 0 ? paint('red', `${failed} failed`) : `${failed} failed`}`;
  const lines = [`${paint('bold', `${command}:`)} ${counts} (${formatMs(e.ms)})`];
  for (const f of failures.slice(0, LISTED_FAILURES)) lines.push(`  ${f.host}: ${hostReason(f.host, f.message)}`);
  if (failures.length > LISTED_FAILURES) lines.push(`  and ${failures.length - LISTED_FAILURES} more failed hosts: see --json (one host-end event per host)`);
  return lines;
}
