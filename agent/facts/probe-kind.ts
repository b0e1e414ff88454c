/**
 * Probes are open: each kind of per-resource state is one ProbeKind (a file `probe-<kind>.ts` here),
 * registered in probes.ts. A kind reads ALL probes of its kind on a host with ONE fact (a batch: one
 * `systemctl show` for every unit, one `getent` for every user), returns its readings keyed by a stable
 * key, and says where they land in ActualState (which resources' plan() read). The saved-plan
 * fingerprint hashes every reading by key (plan-host.ts), so a new kind can never escape drift detection.
 *
 * A new kind: declare its probe shape by augmenting ProbeShapes (`declare module '../resources/types.js'`),
 * write its ProbeKind, add it to PROBE_KINDS in probes.ts (the compiler insists on the last step).
 */
import type { ActualState, Probe, ProbeShapes } from '../resources/types.js';
import type { Fact } from './fact.js';

export type ProbeOf<K extends keyof ProbeShapes> = Extract<Probe, { kind: K }>;

/** What a kind's fact returns: JSON-serialisable readings by key (e.g. `unit:x.service`). Absent key = nothing there. */
export type Readings<V> = Record<string, V>;

export interface ProbeKind<K extends keyof ProbeShapes, V> {
  kind: K;
  /** Stable identity: probes with equal keys read the same thing and are merged into one. */
  key(p: ProbeOf<K>): string;
  /** Merge two probes with the same key (e.g. the property lists of a unit). Default: keep the first. */
  merge?(a: ProbeOf<K>, b: ProbeOf<K>): ProbeOf<K>;
  /** ONE fact that reads every (deduplicated) probe of this kind on a host. */
  fact(probes: ProbeOf<K>[]): Fact<Readings<V>>;
  /** Put the readings where resources look for them. */
  assemble(readings: Readings<V>, state: ActualState): void;
}

/**
 * `@@P <i>` before probe i's output, for kinds that run one snippet per probe in their single fact:
 * each snippet's output must not contain such a line (file and package outputs are framed or fixed).
 */
export function perProbeCommand(commands: string[]): string {
  return commands.map((c, i) => `echo '@@P ${i}'\n( ${c}\n)`).join('\n');
}

/**
 * ONE fact for a kind that runs one snippet per probe (perProbeCommand): each probe's own output is
 * parsed alone and stored under the kind's key for that probe.
 */
export function perProbeFact<P, V>(name: string, probes: P[], key: (p: P) => string, command: (p: P) => string, parse: (out: string, p: P) => V): Fact<Readings<V>> {
  return {
    name,
    command: perProbeCommand(probes.map(command)),
    parse: (out) => {
      const texts = perProbeOutputs(out, probes.length);
      return Object.fromEntries(probes.map((p, i) => [key(p), parse(texts[i]!, p)]));
    },
  };
}

/** Split the output of perProbeCommand back into one text per probe index. */
export function perProbeOutputs(output: string, count: number): string[] {
  const texts: string[] = Array.from({ length: count }, () => '');
  let current = -1;
  for (const line of output.split('\n')) {
    const m = /^@@P (\d+)$/.exec(line);
    if (m) current = Number(m[1]);
    else if (current >= 0 && current < count) texts[current] += `${line}\n`;
  }
  return texts;
}
