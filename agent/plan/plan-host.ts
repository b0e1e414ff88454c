/**
 * Planning is pure: from the desired resources of a host and what was read from it, to the list of
 * changes. No I/O happens here, so the same function serves `plan`, `apply` and the verification
 * after apply (re-plan on the re-read state: a converged host plans zero changes).
 */
import { createHash } from 'node:crypto';
import { staleStagingChanges, stagingProbes } from '../apply/staging.js';
import { LanesError } from '../errors.js';
import type { HostFacts } from '../facts/gather.js';
import { isSensitiveSpec, markSensitive } from '../report/sensitive.js';
import { resourceType } from '../resources/index.js';
import type { ActualState, Change, DesiredResource, Probe } from '../resources/types.js';

/** What the resources read, plus any staging an interrupted apply left in the directories they manage. */
export function probesFor(desired: DesiredResource[]): Probe[] {
  return probeListsOf(desired).all;
}

function resourceProbes(desired: DesiredResource[]): Probe[] {
  return probeListsOf(desired).own;
}

/**
 * The probes of a list of resources depend only on their types and specs, and the hosts of a play
 * share their spec objects (the compiler validates each distinct spec once): hosts with the same
 * resources get the same probe lists, computed once, instead of one copy per host kept in the plan.
 * Keyed by spec identity (never by content), so a spec changed in place could not be served stale
 * lists; the cache is bounded (cleared past its size) for long-lived processes.
 */
const specIds = new WeakMap<object, number>();
let nextSpecId = 0;
const probeLists = new Map<string, { own: Probe[]; all: Probe[] }>();
const MAX_PROBE_LISTS = 256;

function probeListsOf(desired: DesiredResource[]): { own: Probe[]; all: Probe[] } {
  const key = listKey(desired);
  const cached = key === undefined ? undefined : probeLists.get(key);
  if (cached) return cached;
  const own = desired.flatMap((d) => typeOf(d).probes(d.spec));
  const lists = { own, all: [...own, ...stagingProbes(own)] };
  if (key !== undefined) {
    if (probeLists.size >= MAX_PROBE_LISTS) probeLists.clear();
    probeLists.set(key, lists);
  }
  return lists;
}

function listKey(desired: DesiredResource[]): string | undefined {
  const parts: string[] = [];
  for (const d of desired) {
    if (typeof d.spec !== 'object' || d.spec === null) return undefined;
    let id = specIds.get(d.spec);
    if (id === undefined) specIds.set(d.spec, (id = nextSpecId++));
    parts.push(`${d.type}#${id}`);
  }
  return parts.join(',');
}

export function planHost(host: string, desired: DesiredResource[], actual: ActualState): Change[] {
  const changes: Change[] = [];
  for (const d of desired) {
    const sensitive = isSensitiveSpec(d.spec);
    const planned = typeOf(d).plan(d.spec, actual, { host, source: d.source, all: desired, ...(sensitive ? { sensitive } : {}) });
    changes.push(...planned.map((c) => markSensitive(c, actual, sensitive)));
  }
  changes.push(...staleStagingChanges(resourceProbes(desired), actual));
  return changes;
}

function typeOf(d: DesiredResource) {
  const t = resourceType(d.type);
  if (!t) throw new LanesError(`unknown resource type "${d.type}"`, { location: d.source, kind: 'internal' });
  return t;
}

/**
 * A digest of everything a plan was computed from, so `lanes apply PLANFILE` can refuse to run a
 * plan whose host changed since it was reviewed: every reading, by key (host facts and every
 * probe's value, whatever its kind: a new kind of state is covered without a change here). Volatile
 * readings that plans do not depend on (systemd's overall state, hardware) are left out.
 */
export function stateFingerprint(actual: ActualState): string {
  const stable: Record<string, unknown> = { ...actual.readings };
  delete stable['fact:hardware'];
  const systemd = actual.readings['fact:systemd'] as HostFacts['systemd'] | undefined;
  if (systemd) stable['fact:systemd'] = { pid1: systemd.pid1, version: systemd.version };
  const entries = Object.keys(stable)
    .sort()
    .map((k) => [k, stable[k]]);
  return `sha256:${createHash('sha256').update(JSON.stringify(entries)).digest('hex')}`;
}

/** Changes per resource type and action, for the fleet summary ("fpm_pool: 3 create, 1 update"). */
export function countChanges(changes: Change[]): Map<string, Record<Change['action'], number>> {
  const counts = new Map<string, Record<Change['action'], number>>();
  for (const c of changes) {
    const type = c.resource.replace(/\[.*$/, '');
    const entry = counts.get(type) ?? { create: 0, update: 0, delete: 0 };
    entry[c.action]++;
    counts.set(type, entry);
  }
  return counts;
}
