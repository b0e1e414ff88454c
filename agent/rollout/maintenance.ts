/** `lanes drain` / `lanes undrain`: stop or start the release's declared workers on their own (maintenance). */
import { LanesError } from '../errors.js';
import type { DesiredResource } from '../resources/types.js';
import { runFleet, type FleetHost, type FleetOptions, type FleetResult } from '../run/fleet.js';
import { releaseSpecFor } from './spec.js';
import { drainScript, parseWorkers, undrainScript, workersFailureMessage, type WorkersResult } from './workers.js';

export async function workersFleet(
  action: 'drain' | 'undrain',
  desired: Map<string, DesiredResource[]>,
  hosts: FleetHost[],
  opts: FleetOptions & { timeoutMs?: number },
): Promise<FleetResult<WorkersResult>> {
  const specs = new Map(hosts.map((h) => [h.name, releaseSpecFor(h.name, desired.get(h.name) ?? [])]));
  return runFleet<WorkersResult>(
    hosts,
    async ({ host, conn, step }) => {
      const spec = specs.get(host)!;
      // undrain: the workers must come up on whatever `current` points to now.
      const script = action === 'drain' ? drainScript(spec) : undrainScript(spec, { releaseDir: `${spec.path}/current`, switchedAt: 0 });
      const result = await step(action === 'drain' ? 'drain workers' : 'start workers', async () => {
        const r = await conn.exec(script.text, { become: true, timeoutMs: opts.timeoutMs });
        const w = parseWorkers(r.stdout, script.nonce);
        if (!w.ok || r.code !== 0) throw new LanesError(workersFailureMessage(w), { kind: 'exec', host });
        return w;
      });
      const names = result.workers.map((w) => (w.state === 'drained' ? `${w.name} stopped (${w.ms}ms)` : `${w.name} running (pid ${w.pid})`));
      return { data: result, summary: names.join(', ') || 'no workers declared' };
    },
    opts,
  );
}
