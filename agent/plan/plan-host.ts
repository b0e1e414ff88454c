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
  const own = resourceProbes(desired);
  return [...own, ...stagingProbes(own)];
}

function resourceProbes(desired: DesiredResource[]): Probe[] {
  return desired.flatMap((d) => typeOf(d).probes(d.spec));
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
