/** `lanes facts`: read and show what lanes knows about each host, in one exec per host. */
import { gatherFacts, hostFacts, type HostFacts } from '../facts/gather.js';
import type { FleetHost, FleetOptions, FleetResult } from './fleet.js';
import { runFleet } from './fleet.js';

export async function readFacts(hosts: FleetHost[], opts: FleetOptions & { timeoutMs?: number }): Promise<FleetResult<HostFacts>> {
  return runFleet<HostFacts>(
    hosts,
    async ({ conn, step }) => {
      const facts = await step('facts', () => gatherFacts(conn, hostFacts, { timeoutMs: opts.timeoutMs }));
      return { data: facts, summary: describeFacts(facts) };
    },
    opts,
  );
}

/** One line per host: what it runs. */
export function describeFacts(f: HostFacts): string {
  const fpm = f.php_fpm.primary ? `php-fpm ${f.php_fpm.primary.fullVersion}` : 'no php-fpm';
  const sup = f.supervisor.installed ? `supervisor ${f.supervisor.version}` : 'no supervisor';
  const sd = f.systemd.pid1 ? `systemd ${f.systemd.version ?? '?'}` : 'no systemd';
  return `${f.os.prettyName}, ${f.hardware.cpus} CPU, ${f.hardware.memoryMiB} MiB, ${fpm}, ${sup}, ${sd}`;
}
