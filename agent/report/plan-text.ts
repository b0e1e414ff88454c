/**
 * The plan as a reviewer reads it: hosts whose changes are identical are shown once, as one block
 * with the list of hosts it applies to, so a 50-host fleet reads like one host. Each change shows
 * its structured before → after fields, its unified diff, its notes, and the block ends with the
 * handlers that will run. A fleet summary closes the plan. Above FLEET_THRESHOLD hosts the host lists
 * are abbreviated (`web001…web998 (998 hosts)`) and failures grouped by reason (agent/report/fleet.ts).
 */
import { describeHandler, orderHandlers } from '../apply/handlers.js';
import { countChanges } from '../plan/plan-host.js';
import type { Change } from '../resources/types.js';
import type { Paint } from './color.js';
import { escapeControls } from './escape.js';
import { abbreviateHosts, groupBy, isFleet, SHOWN_GROUPS } from './fleet.js';
import { redactChange } from './sensitive.js';

export interface PlanReportInput {
  title: string;
  /** 'plan' (default): what would change; 'applied': what did. */
  mode?: 'plan' | 'applied';
  /** Hosts that were planned, with their changes. */
  hosts: { host: string; changes: Change[] }[];
  /** Hosts that could not be planned, with the reason. */
  failed: { host: string; message: string }[];
}

const SIGN: Record<Change['action'], string> = { create: '+', update: '~', delete: '-' };

export function renderPlan(input: PlanReportInput, paint: Paint = (_s, t) => t): string {
  const out: string[] = [`${input.title}`, ''];
  const fleet = isFleet(input.hosts.length + input.failed.length);
  const names = (hosts: string[]) => (fleet ? abbreviateHosts(hosts) : hosts.join(', '));
  const groups = groupIdentical(input.hosts);
  for (const g of groups) {
    if (g.changes.length === 0) continue;
    out.push(paint('bold', `${names(g.hosts)}: ${g.changes.length} change${g.changes.length === 1 ? '' : 's'}`));
    for (const c of g.changes) out.push(...renderChange(c, paint));
    const handlers = orderHandlers(g.changes).map(describeHandler);
    if (handlers.length) {
      out.push('  then:');
      for (const h of handlers) out.push(`    - ${h}`);
    }
    out.push('');
  }
  const unchanged = input.hosts.filter((h) => h.changes.length === 0).map((h) => h.host);
  if (unchanged.length) out.push(paint('dim', `no changes: ${names(unchanged)}`), '');
  if (fleet) out.push(...failedGroups(input.failed, paint));
  else for (const f of input.failed) out.push(paint('red', `FAILED ${f.host}: ${escapeControls(f.message)}`));
  if (input.failed.length) out.push('');
  out.push(summaryLine(input));
  const counts = countChanges(input.hosts.flatMap((h) => h.changes));
  if (counts.size) {
    out.push(
      `changes: ${[...counts.entries()]
        .map(([type, c]) => `${type} ${(['create', 'update', 'delete'] as const).filter((a) => c[a]).map((a) => `${c[a]} ${a}`).join(', ')}`)
        .join('; ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** A large fleet's failures: one line per distinct reason (the host's own name taken out), then the rest counted. */
function failedGroups(failed: PlanReportInput['failed'], paint: Paint): string[] {
  const groups = groupBy(failed, (f) => escapeControls(f.message.startsWith(`${f.host}: `) ? f.message.slice(f.host.length + 2) : f.message));
  const lines = groups.slice(0, SHOWN_GROUPS).map((g) => paint('red', `FAILED ${abbreviateHosts(g.items.map((f) => f.host))}: ${g.key}`));
  const rest = groups.slice(SHOWN_GROUPS).flatMap((g) => g.items.map((f) => f.host));
  if (rest.length) lines.push(paint('red', `FAILED ${abbreviateHosts(rest)}, with ${groups.length - SHOWN_GROUPS} other reasons: see --json`));
  return lines;
}

export function summaryLine(input: PlanReportInput): string {
  const changed = input.hosts.filter((h) => h.changes.length > 0).length;
  const total = input.hosts.length + input.failed.length;
  const verb = input.mode === 'applied' ? 'changed' : 'to change';
  return `${total} host${total === 1 ? '' : 's'}: ${changed} ${verb}, ${input.hosts.length - changed} unchanged, ${input.failed.length} failed`;
}

function renderChange(change: Change, paint: Paint): string[] {
  // A sensitive change shows hashes, never values or diff lines (agent/report/sensitive.ts).
  const c = visible(redactChange(change));
  const color = c.action === 'create' ? 'green' : c.action === 'delete' ? 'red' : 'yellow';
  const lines = [`  ${paint(color, `${SIGN[c.action]} ${c.resource}`)}  ${c.summary}`];
  const fields = c.fields ?? [];
  if (c.action === 'create' && fields.every((f) => f.before === undefined)) {
    // A new thing has no "before": its settings read better on one line.
    if (fields.length) lines.push(`      ${fields.map((f) => `${f.name}=${f.after ?? ''}`).join('  ')}`);
  } else {
    for (const f of fields) lines.push(`      ${f.name}: ${f.before ?? '(none)'} → ${f.after ?? '(none)'}`);
  }
  for (const n of c.notes ?? []) lines.push(`      ${paint('yellow', `note: ${n}`)}`);
  if (c.diff?.trim()) {
    for (const l of c.diff.replace(/\n$/, '').split('\n')) {
      const painted = l.startsWith('+') && !l.startsWith('+++') ? paint('green', l) : l.startsWith('-') && !l.startsWith('---') ? paint('red', l) : paint('dim', l);
      lines.push(`      ${painted}`);
    }
  }
  return lines;
}

/** The change with every text a file or host supplied made visible (no terminal control sequences). */
function visible(c: Change): Change {
  return {
    ...c,
    summary: escapeControls(c.summary),
    ...(c.diff !== undefined ? { diff: escapeControls(c.diff) } : {}),
    ...(c.fields ? { fields: c.fields.map((f) => ({ name: escapeControls(f.name), before: f.before === undefined ? undefined : escapeControls(f.before), after: f.after === undefined ? undefined : escapeControls(f.after) })) } : {}),
    ...(c.notes ? { notes: c.notes.map(escapeControls) } : {}),
  };
}

/** Hosts with exactly the same changes (same resources, diffs, fields, handlers) form one group. */
export function groupIdentical(hosts: { host: string; changes: Change[] }[]): { hosts: string[]; changes: Change[] }[] {
  const groups = new Map<string, { hosts: string[]; changes: Change[] }>();
  for (const h of hosts) {
    const key = JSON.stringify(h.changes);
    const g = groups.get(key);
    if (g) g.hosts.push(h.host);
    else groups.set(key, { hosts: [h.host], changes: h.changes });
  }
  return [...groups.values()];
}
