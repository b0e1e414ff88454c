/**
 * `lanes run` output as a reader scans it: hosts whose command printed exactly the same (stdout,
 * stderr, exit code) form one group, shown once with the list of hosts, like the plan groups identical
 * changes; hosts that could not run it (unreachable, timed out, stopped) are shown with their reason.
 * Above FLEET_THRESHOLD hosts the host lists are abbreviated (`web001…web998 (998 hosts)`, fleet.ts).
 */
import { escapeControls } from './escape.js';
import type { Paint } from './color.js';
import { abbreviateHosts, isFleet } from './fleet.js';

export interface RunHostOutput {
  host: string;
  /** Present when the command ran to an exit (or a signal). */
  code?: number | null;
  signal?: string;
  stdout?: string;
  stderr?: string;
  /** Why the host has no result (unreachable, timed out, cancelled): one line. */
  error?: string;
}

interface Group {
  hosts: string[];
  sample: RunHostOutput;
}

/** Identical results (same exit, stdout, stderr, error) form one group, in the order hosts were given. */
export function groupOutputs(hosts: RunHostOutput[]): Group[] {
  const groups = new Map<string, Group>();
  for (const h of hosts) {
    const key = JSON.stringify([h.code ?? null, h.signal ?? null, h.stdout ?? '', h.stderr ?? '', h.error === undefined ? null : stripHost(h.error, h.host)]);
    const g = groups.get(key);
    if (g) g.hosts.push(h.host);
    else groups.set(key, { hosts: [h.host], sample: h });
  }
  return [...groups.values()];
}

export function renderRunOutput(hosts: RunHostOutput[], paint: Paint = (_s, t) => t): string {
  const out: string[] = [];
  const names = (list: string[]) => (isFleet(hosts.length) ? abbreviateHosts(list) : list.join(', '));
  for (const g of groupOutputs(hosts)) {
    const s = g.sample;
    const failed = s.error !== undefined || s.code !== 0;
    const status =
      s.error !== undefined && s.code === undefined
        ? `failed: ${escapeControls(stripHost(s.error, s.host))}`
        : s.code !== null && s.code !== undefined
          ? `exit ${s.code}`
          : `killed by ${s.signal ?? 'a signal'}`;
    out.push(paint(failed ? 'red' : 'bold', `${names(g.hosts)}: ${status}`));
    out.push(...block(s.stdout));
    const err = block(s.stderr, '    ');
    if (err.length) out.push(paint('dim', '  stderr:'), ...err);
  }
  const ok = hosts.filter((h) => h.error === undefined && h.code === 0).length;
  const bad = hosts.length - ok;
  out.push(`${ok} ok, ${bad} failed${bad ? ` (${names(hosts.filter((h) => !(h.error === undefined && h.code === 0)).map((h) => h.host))})` : ''}`);
  return `${out.join('\n')}\n`;
}

/** Output lines, indented, controls escaped; a missing final newline is not shown as an empty line. */
function block(text: string | undefined, indent = '  '): string[] {
  if (!text) return [];
  return escapeControls(text.replace(/\n$/, ''))
    .split('\n')
    .map((l) => `${indent}${l}`);
}

/** Failure lines start with the host's name; within a group the hosts are listed already. */
function stripHost(line: string, host: string): string {
  return line.startsWith(`${host}: `) ? line.slice(host.length + 2) : line;
}
