/** `lanes drain` / `lanes undrain`: stop or start the release's declared workers on their own (maintenance). */
import { LanesError } from '../errors.js';
import type { DesiredResource } from '../resources/types.js';
import { throwIfCancelled } from '../run/cancel.js';
import { runFleet, type FleetHost, type FleetOptions, type FleetResult } from '../run/fleet.js';
import { FleetLease, underLease } from '../run/lease.js';
import { drainLimitMs } from './drain-limit.js';
import { releaseSpecFor } from './spec.js';
import { drainScript, parseWorkers, undrainScript, workersFailureMessage, type WorkersResult } from './workers.js';

export async function workersFleet(
  action: 'drain' | 'undrain',
  desired: Map<string, DesiredResource[]>,
  hosts: FleetHost[],
  opts: FleetOptions & { timeoutMs?: number; lockWaitMs?: number; lockTtlMs?: number; breakLock?: boolean },
): Promise<FleetResult<WorkersResult>> {
  const specs = new Map(hosts.map((h) => [h.name, releaseSpecFor(h.name, desired.get(h.name) ?? [])]));
  const lease = new FleetLease({ bus: opts.bus, operation: action, waitMs: opts.lockWaitMs, breakLock: opts.breakLock, signal: opts.signal, timeoutMs: opts.timeoutMs });
  // A drain waits for the job in progress: bounded by the workers' own stop timeouts, not --timeout.
  const limits = new Map(hosts.map((h) => [h.name, drainLimitMs(specs.get(h.name)!, desired.get(h.name) ?? [])]));
  const job = underLease<WorkersResult>(
    lease,
    async ({ host, conn, step }) => {
      const spec = specs.get(host)!;
      throwIfCancelled(opts.signal, host, 'not started, untouched: the run was cancelled');
      lease.assertHeld(host);
      // undrain: the workers must come up on whatever `current` points to now.
      const script = action === 'drain' ? drainScript(spec) : undrainScript(spec, { releaseDir: `${spec.path}/current`, switchedAt: 0 });
      const result = await step(action === 'drain' ? 'drain workers' : 'start workers', async () => {
        const r = await conn.exec(script.text, { become: true, timeoutMs: limits.get(host) });
        const w = parseWorkers(r.stdout, script.nonce);
        if (!w.ok || r.code !== 0) throw new LanesError(workersFailureMessage(w), { kind: 'exec', host });
        return w;
      });
      const names = result.workers.map((w) => (w.state === 'drained' ? `${w.name} stopped (${w.ms}ms)` : `${w.name} running (pid ${w.pid})`));
      return { data: result, summary: names.join(', ') || 'no workers declared' };
    },
    (host) => opts.lockTtlMs ?? specs.get(host)!.lockTtlMs,
  );
  try {
    return await runFleet<WorkersResult>(hosts, job, opts);
  } finally {
    await lease.releaseAll();
  }
}
