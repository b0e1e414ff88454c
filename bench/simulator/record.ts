/**
 * Records what the simulator answers: lanes' own state read for a playbook (host facts and every
 * probe, the gather script plan and apply send), run once on a real lab host, split back into each
 * fact command's raw output and exit code (answer.ts replays them under any later script's nonce).
 */
import { randomBytes } from 'node:crypto';
import { gatherScript } from '../../agent/facts/gather.js';
import { stateFacts } from '../../agent/facts/probes.js';
import type { PreparedRun } from '../../agent/plan/prepare.js';
import { probesFor } from '../../agent/plan/plan-host.js';
import { STDIN_SCRIPT_COMMAND } from '../../agent/remote/sh.js';
import { EventBus } from '../../agent/report/events.js';
import { runFleet } from '../../agent/run/fleet.js';
import { splitGathered, type Recording } from './answer.js';

/** Host vars of the recorded host that the desired state depends on, given to every simulated host. */
const RECORDED_VARS = ['nginx_listen'];

export async function recordHost(prepared: PreparedRun, host: string): Promise<Recording> {
  const target = prepared.hosts.find((h) => h.name === host);
  if (!target) throw new Error(`host ${host} is not in the prepared run`);
  const script = gatherScript(stateFacts(probesFor(prepared.desired.get(host) ?? [])), randomBytes(6).toString('hex'));
  const result = await runFleet<string>(
    [target],
    async ({ conn }) => ({ data: (await conn.run(STDIN_SCRIPT_COMMAND, { stdin: script, become: true, explain: 'recording the state read' })).stdout }),
    { bus: new EventBus(), command: 'bench-record' },
  );
  const out = result.hosts[0];
  if (!out?.ok || out.data === undefined) throw new Error(`recording ${host} failed: ${String(out?.error)}`);
  const vars: Record<string, string> = {};
  for (const k of RECORDED_VARS) if (typeof target.vars[k] === 'string') vars[k] = target.vars[k];
  return { host, vars, facts: splitGathered(script, out.data) };
}
