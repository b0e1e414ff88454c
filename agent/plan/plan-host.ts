/**
 * Planning is pure: from the desired resources of a host and what was read from it, to the list of
 * changes. No I/O happens here, so the same function serves `plan`, `apply` and the verification
 * after apply (re-plan on the re-read state: a converged host plans zero changes).
 */
import { createHash } from 'node:crypto';
import { staleStagingChanges, stagingProbes } from '../apply/staging.js';
import { LanesError } from '../errors.js';
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
 * plan whose host changed since it was reviewed. Volatile readings that plans do not depend on
 * (systemd's overall state, hardware) are left out.
 */
export function stateFingerprint(actual: ActualState): string {
  const stable = {
    os: actual.facts.os,
    php_fpm: actual.facts.php_fpm,
    supervisor: actual.facts.supervisor,
    systemd: { pid1: actual.facts.systemd.pid1, version: actual.facts.systemd.version },
    package_manager: actual.facts.package_manager,
    files: sortedEntries(actual.files),
    users: sortedEntries(actual.users),
    groups: sortedEntries(actual.groups),
    packages: sortedEntries(actual.packages),
    units: sortedEntries(actual.units),
    supervisor_processes: actual.supervisor ? sortedEntries(actual.supervisor) : null,
  };
  return `sha256:${createHash('sha256').update(JSON.stringify(stable)).digest('hex')}`;
}

function sortedEntries<V>(m: Map<string, V>): [string, V][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
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
