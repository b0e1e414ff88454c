/**
 * Handlers collected from all changes of a host, deduplicated and put in the order that keeps
 * services consistent: daemon-reload before units, set-property for live resource control, unit
 * state, Supervisor update (restarts exactly the changed programs), FPM reload — or restart when a
 * setting a reload ignores changed — and Nginx last, once its upstream sockets exist.
 */
import type { Change, Handler } from '../resources/types.js';

export type PlannedHandler =
  | { kind: 'daemon-reload' }
  | { kind: 'set-property'; unit: string; properties: Record<string, string> }
  | { kind: 'unit'; unit: string; action: 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable' }
  | { kind: 'supervisor-update' }
  | { kind: 'supervisor-start'; program: string }
  | { kind: 'fpm'; unit: string; binary: string; confFile: string; action: 'reload' | 'restart'; sockets: string[]; reasons: string[] };

export function orderHandlers(changes: Change[]): PlannedHandler[] {
  const all: Handler[] = changes.flatMap((c) => c.handlers ?? []);
  const out: PlannedHandler[] = [];
  if (all.some((h) => h.kind === 'daemon-reload')) out.push({ kind: 'daemon-reload' });

  const props = new Map<string, Record<string, string>>();
  for (const h of all) if (h.kind === 'set-property') props.set(h.unit, { ...(props.get(h.unit) ?? {}), ...h.properties });
  for (const [unit, properties] of props) out.push({ kind: 'set-property', unit, properties });

  // Unit actions: enable/disable first, then stop, then the strongest of restart > start > reload per unit.
  const unitActions = new Map<string, Set<string>>();
  for (const h of all) {
    if (h.kind === 'unit') unitActions.set(h.unit, (unitActions.get(h.unit) ?? new Set()).add(h.action));
    if (h.kind === 'nginx-reload') unitActions.set('nginx.service', (unitActions.get('nginx.service') ?? new Set()).add('reload'));
  }
  const nginxLast: PlannedHandler[] = [];
  for (const [unit, actions] of unitActions) {
    for (const a of ['enable', 'disable'] as const) if (actions.has(a)) out.push({ kind: 'unit', unit, action: a });
    if (actions.has('stop')) {
      out.push({ kind: 'unit', unit, action: 'stop' });
      continue;
    }
    const action = actions.has('restart') ? 'restart' : actions.has('start') ? 'start' : actions.has('reload') ? 'reload' : undefined;
    if (!action) continue;
    const h: PlannedHandler = { kind: 'unit', unit, action };
    if (/^nginx(\.service)?$/.test(unit)) nginxLast.push(h);
    else out.push(h);
  }

  if (all.some((h) => h.kind === 'supervisor-update')) out.push({ kind: 'supervisor-update' });
  for (const program of new Set(all.flatMap((h) => (h.kind === 'supervisor-start' ? [h.program] : [])))) {
    out.push({ kind: 'supervisor-start', program });
  }

  // One FPM action per unit, one at a time (concurrent reloads are unsafe).
  const fpm = new Map<string, { binary: string; confFile: string; action: 'reload' | 'restart'; sockets: Set<string>; reasons: string[] }>();
  for (const h of all) {
    if (h.kind !== 'fpm-reload' && h.kind !== 'fpm-restart') continue;
    const e = fpm.get(h.unit) ?? { binary: h.binary, confFile: h.confFile, action: 'reload' as const, sockets: new Set<string>(), reasons: [] };
    if (h.kind === 'fpm-restart') {
      e.action = 'restart';
      e.reasons.push(h.reason);
    }
    for (const s of h.sockets) e.sockets.add(s);
    fpm.set(h.unit, e);
  }
  for (const [unit, e] of fpm) out.push({ kind: 'fpm', unit, binary: e.binary, confFile: e.confFile, action: e.action, sockets: [...e.sockets].sort(), reasons: e.reasons });

  return [...out, ...nginxLast];
}

export function describeHandler(h: PlannedHandler): string {
  switch (h.kind) {
    case 'daemon-reload':
      return 'systemctl daemon-reload';
    case 'set-property':
      return `systemctl set-property --runtime ${h.unit} ${Object.entries(h.properties)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`;
    case 'unit':
      return `systemctl ${h.action} ${h.unit}`;
    case 'supervisor-update':
      return 'supervisorctl update (restarts changed programs once)';
    case 'supervisor-start':
      return `supervisorctl start ${h.program}`;
    case 'fpm':
      return h.action === 'reload'
        ? `graceful reload of ${h.unit}, then check the master and ${h.sockets.length} pool socket(s)`
        : `restart of ${h.unit} (${h.reasons.join('; ')}), then check the master and ${h.sockets.length} pool socket(s)`;
  }
}
