/** `lanes ping`: connect to every host and run one trivial command, with timings. */
import type { FleetHost, FleetOptions, FleetResult } from './fleet.js';
import { runFleet } from './fleet.js';

export interface PingData {
  /** Remote user the command ran as (root when escalated) and the host's own name. */
  user: string;
  hostname: string;
  connectMs: number;
  execMs: number;
}

export async function ping(hosts: FleetHost[], opts: FleetOptions & { timeoutMs?: number }): Promise<FleetResult<PingData>> {
  return runFleet<PingData>(
    hosts,
    async ({ conn, connectMs, step }) => {
      const result = await step('exec', () => conn.run('id -un; uname -n', { timeoutMs: opts.timeoutMs }));
      const [user = '', hostname = ''] = result.stdout.trim().split('\n');
      const data = { user, hostname, connectMs, execMs: result.ms };
      return { data, summary: `${user}@${hostname} connect ${connectMs}ms, exec ${result.ms}ms` };
    },
    opts,
  );
}
