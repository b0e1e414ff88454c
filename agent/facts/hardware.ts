/** CPUs and memory, as the kernel reports them (cgroup limits are not applied here). */
import { keyLines, type Fact } from './fact.js';

export interface HardwareFact {
  cpus: number;
  memoryMiB: number;
}

export const hardwareFact: Fact<HardwareFact> = {
  name: 'hardware',
  command: `printf 'cpus %s\\n' "$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"; awk '/^MemTotal:/ { print "memkb " $2 }' /proc/meminfo`,
  parse(output) {
    const kv = new Map(keyLines(output));
    return {
      cpus: Number.parseInt(kv.get('cpus') ?? '0', 10) || 0,
      memoryMiB: Math.round((Number.parseInt(kv.get('memkb') ?? '0', 10) || 0) / 1024),
    };
  },
};
