/**
 * Unit probes: ONE `systemctl show` for every unit of a host, with only the properties asked for.
 * systemctl prints one block per unit, in argument order, separated by blank lines; a unit that does
 * not exist still prints its block (LoadState=not-found). Each unit keeps only the properties its
 * probes asked for, so the answer is what a `systemctl show` of that unit alone gave.
 */
import { LanesError } from '../errors.js';
import type { UnitState } from '../resources/types.js';
import { shq } from '../transport/quote.js';
import type { ProbeKind, ProbeOf } from './probe-kind.js';

const ALWAYS_UNIT_PROPS = ['Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'FragmentPath', 'NeedDaemonReload'];

function propsOf(p: ProbeOf<'unit'>): string[] {
  return [...new Set([...ALWAYS_UNIT_PROPS, ...(p.properties ?? [])])];
}

/** `systemctl show` output of N units → N property maps (none at all when systemctl is missing or failed). */
export function parseUnitBlocks(out: string, count: number): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let current: Record<string, string> | undefined;
  for (const line of out.split('\n')) {
    if (line === '') {
      current = undefined;
      continue;
    }
    const i = line.indexOf('=');
    if (i <= 0) continue;
    if (!current) blocks.push((current = {}));
    // Only the first `=` separates: values may contain `=` (ExecStart, Environment…).
    current[line.slice(0, i)] = line.slice(i + 1);
  }
  if (blocks.length === 0) return Array.from({ length: count }, () => ({}));
  if (blocks.length !== count) {
    throw new LanesError(`systemctl show printed ${blocks.length} unit blocks for ${count} units`, { kind: 'exec', hint: 'run systemctl show on the host to see why' });
  }
  return blocks;
}

/** Readings: `unit:<name>` → its properties. */
export const unitProbes: ProbeKind<'unit', UnitState> = {
  kind: 'unit',
  key: (p) => `unit:${p.name}`,
  merge: (a, b) => ({ kind: 'unit', name: a.name, properties: [...new Set([...(a.properties ?? []), ...(b.properties ?? [])])] }),
  fact: (probes) => {
    const all = [...new Set(probes.flatMap(propsOf))];
    return {
      name: 'units',
      command: `systemctl show --no-pager -p ${shq(all.join(','))} -- ${probes.map((p) => shq(p.name)).join(' ')}`,
      parse: (out) => {
        const blocks = parseUnitBlocks(out, probes.length);
        return Object.fromEntries(
          probes.map((p, i) => {
            const wanted = new Set(propsOf(p));
            // In systemctl's order, as a show of this unit alone printed them.
            const props = Object.fromEntries(Object.entries(blocks[i]!).filter(([k]) => wanted.has(k)));
            return [`unit:${p.name}`, { name: p.name, props }];
          }),
        );
      },
    };
  },
  assemble(readings, state) {
    for (const u of Object.values(readings)) state.units.set(u.name, u);
  },
};
