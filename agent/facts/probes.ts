/**
 * Probes: the per-resource reads turned into facts, so they run in the same single exec as the host
 * facts (see gather.ts). Each kind of probe (probe-*.ts) reads all probes of its kind on a host with
 * ONE fact; this file registers the kinds, deduplicates probes and assembles the ActualState.
 */
import type { ActualState, Probe, ProbeShapes } from '../resources/types.js';
import type { SshConnection } from '../transport/connection.js';
import type { Fact } from './fact.js';
import { gatherFacts, hostFacts, type HostFacts } from './gather.js';
import { groupProbes, userProbes } from './probe-account.js';
import { fileProbes } from './probe-file.js';
import type { ProbeKind, ProbeOf, Readings } from './probe-kind.js';
import { packageProbes } from './probe-package.js';
import { supervisorProbes } from './probe-supervisor.js';
import { unitProbes } from './probe-unit.js';

export { MAX_CONTENT_BYTES, globWord } from './probe-file.js';

/** Every kind of probe, by kind (a kind missing here is a compile error once its shape is declared). */
const PROBE_KINDS: { [K in keyof ProbeShapes]: ProbeKind<K, unknown> } = {
  file: fileProbes,
  user: userProbes,
  group: groupProbes,
  package: packageProbes,
  unit: unitProbes,
  supervisor: supervisorProbes,
};

/** The fact of kind K is gathered under this name (assembleState finds the probe readings by it). */
const FACT_PREFIX = 'probe_';

function kindOf<K extends keyof ProbeShapes>(kind: K): ProbeKind<K, unknown> {
  const k = PROBE_KINDS[kind] as ProbeKind<K, unknown> | undefined;
  if (!k) throw new Error(`no probe kind "${kind}" is registered`);
  return k;
}

export function probeKey(p: Probe): string {
  return kindOf(p.kind).key(p as never);
}

/** Merge probes that read the same thing (a kind's merge, e.g. unit probes merge their property lists). */
export function dedupeProbes(probes: Probe[]): Probe[] {
  const byKey = new Map<string, Probe>();
  for (const p of probes) {
    const kind = kindOf(p.kind);
    const key = kind.key(p as never);
    const prev = byKey.get(key);
    if (!prev) byKey.set(key, p);
    else if (kind.merge) byKey.set(key, kind.merge(prev as never, p as never));
  }
  return [...byKey.values()].sort((a, b) => probeKey(a).localeCompare(probeKey(b)));
}

/**
 * The facts of each probe list, once per list: the hosts of a play share one list (plan-host.ts
 * probesFor), and building its read snippets (one per file, unit, user…) per host was repeated work.
 * Keyed by the array's identity; probe lists are never changed in place.
 */
const factsOfList = new WeakMap<Probe[], Record<string, Fact<unknown>>>();

/** Host facts and ONE fact per kind of probe present; the apply engine re-reads with the same set to verify. */
export function stateFacts(probes: Probe[]): Record<string, Fact<unknown>> {
  let facts = factsOfList.get(probes);
  if (!facts) factsOfList.set(probes, (facts = buildStateFacts(probes)));
  return facts;
}

function buildStateFacts(probes: Probe[]): Record<string, Fact<unknown>> {
  const byKind = new Map<keyof ProbeShapes, Probe[]>();
  for (const p of dedupeProbes(probes)) {
    const same = byKind.get(p.kind);
    if (same) same.push(p);
    else byKind.set(p.kind, [p]);
  }
  const probeFacts: Record<string, Fact<unknown>> = {};
  for (const [kind, ps] of byKind) probeFacts[`${FACT_PREFIX}${kind}`] = kindOf(kind).fact(ps as ProbeOf<typeof kind>[] as never);
  return { ...hostFacts, ...probeFacts };
}

/** Host facts plus every probe, in ONE exec. */
export async function readState(conn: SshConnection, probes: Probe[], opts: { timeoutMs?: number } = {}): Promise<ActualState> {
  return assembleState(await gatherFacts(conn, stateFacts(probes), { timeoutMs: opts.timeoutMs }));
}

/** Turn gathered values (host facts + probe readings) into an ActualState, keeping every reading by key. */
export function assembleState(values: Record<string, unknown>): ActualState {
  const v = values as HostFacts & Record<string, unknown>;
  const facts: HostFacts = {
    os: v.os,
    hardware: v.hardware,
    php_fpm: v.php_fpm,
    supervisor: v.supervisor,
    systemd: v.systemd,
    package_manager: v.package_manager,
  };
  const readings: Record<string, unknown> = {};
  for (const key of Object.keys(hostFacts)) readings[`fact:${key}`] = values[key];
  const state: ActualState = { facts, files: new Map(), users: new Map(), groups: new Map(), packages: new Map(), units: new Map(), supervisor: undefined, readings };
  for (const [name, value] of Object.entries(values)) {
    if (!name.startsWith(FACT_PREFIX)) continue;
    const kindReadings = value as Readings<unknown>;
    kindOf(name.slice(FACT_PREFIX.length) as keyof ProbeShapes).assemble(kindReadings, state);
    Object.assign(readings, kindReadings);
  }
  return state;
}
