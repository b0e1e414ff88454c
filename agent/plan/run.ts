/** `lanes plan`: read every host's state in one exec each, plan purely, write nothing. */
import { readState } from '../facts/probes.js';
import type { Change, DesiredResource, Probe } from '../resources/types.js';
import { runFleet, type FleetHost, type FleetOptions, type FleetResult } from '../run/fleet.js';
import { planHost, probesFor, stateFingerprint } from './plan-host.js';

export interface HostPlan {
  host: string;
  changes: Change[];
  /** Digest of the state the plan was computed from (see stateFingerprint). */
  fingerprint: string;
  probes: Probe[];
  desired: DesiredResource[];
}

export interface PlanOptions extends FleetOptions {
  timeoutMs?: number;
}

export async function planFleet(desired: Map<string, DesiredResource[]>, hosts: FleetHost[], opts: PlanOptions): Promise<FleetResult<HostPlan>> {
  return runFleet<HostPlan>(
    hosts,
    async ({ host, conn, step }) => {
      const resources = desired.get(host) ?? [];
      const probes = probesFor(resources);
      const actual = await step('read state', () => readState(conn, probes, { timeoutMs: opts.timeoutMs }));
      const changes = await step('plan', async () => planHost(host, resources, actual), (c) => `${c.length} change${c.length === 1 ? '' : 's'}`);
      return {
        data: { host, changes, fingerprint: stateFingerprint(actual), probes, desired: resources },
        summary: changes.length ? `${changes.length} change${changes.length === 1 ? '' : 's'}` : 'no changes',
      };
    },
    opts,
  );
}
