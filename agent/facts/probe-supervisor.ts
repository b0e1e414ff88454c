/** The supervisor probe: ONE `supervisorctl status` per host covers every program. */
import type { SupervisorProcessState } from '../resources/types.js';
import type { ProbeKind } from './probe-kind.js';

/**
 * `supervisorctl status` lines: `name   STATE   description`. Exit 3 (some program not running) is
 * normal; "unix:///… no such file" or exit 4/7 means supervisord does not answer → undefined.
 */
export function parseSupervisorStatus(out: string): Map<string, SupervisorProcessState> | undefined {
  const rc = /^rc (\d+)$/m.exec(out);
  if (!rc) return undefined;
  const code = Number(rc[1]);
  if (code !== 0 && code !== 3) return undefined;
  const map = new Map<string, SupervisorProcessState>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+([A-Z]+)\b/.exec(line);
    if (m && m[1] !== 'rc') map.set(m[1]!, { name: m[1]!, state: m[2]! });
  }
  return map;
}

/** Readings: `supervisor` → every process (null: supervisord does not answer). */
export const supervisorProbes: ProbeKind<'supervisor', SupervisorProcessState[] | null> = {
  kind: 'supervisor',
  key: () => 'supervisor',
  fact: () => ({
    name: 'supervisor_status',
    command: 'command -v supervisorctl >/dev/null 2>&1 || exit 0; supervisorctl status; echo "rc $?"',
    parse: (out) => {
      const status = parseSupervisorStatus(out);
      return { supervisor: status ? [...status.values()] : null };
    },
  }),
  assemble(readings, state) {
    const processes = readings.supervisor;
    state.supervisor = processes ? new Map(processes.map((p) => [p.name, p])) : undefined;
  },
};
