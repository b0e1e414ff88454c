/**
 * `lanes release --dry-run`: the batch plan and, from the step table (agent/rollout/steps.ts), every
 * step in order with the hooks and the host(s) each runs on. Touches nothing.
 */
import type { Inventory } from '../inventory/index.js';
import type { DesiredResource } from '../resources/types.js';
import { checkHooks, hostsOfHook, namesOnlyInventory, onceHostOf, type HookHosts } from './hooks.js';
import { batches, parseSerial } from './serial.js';
import { expectsRelease, releaseSpecFor } from './spec.js';
import { FLEET_STEPS, HOST_STEPS, ROLLBACK_STEPS, applies, describeSteps, type DescribeContext } from './steps.js';

export function renderReleasePlan(
  desired: Map<string, DesiredResource[]>,
  hosts: string[],
  opts: { id: string; serial?: string; maxFail?: number; inventory?: Inventory; rollback?: boolean },
): string {
  const first = releaseSpecFor(hosts[0]!, desired.get(hosts[0]!) ?? []);
  const serial = opts.serial ? parseSerial(opts.serial) : first.serial;
  const plan = batches(hosts, serial);
  const where: HookHosts = { order: plan.flat(), inventory: opts.inventory ?? namesOnlyInventory(hosts) };
  for (const h of hosts) {
    const block = (desired.get(h) ?? []).find((d) => d.type === 'release');
    if (block) checkHooks(block, where);
  }
  const http = first.health.http;
  const shown = http && expectsRelease(desired.get(hosts[0]!) ?? []) ? { ...first, health: { ...first.health, http: { ...http, expect: http.expect ?? opts.id } } } : first;
  const onceHost = onceHostOf(first.onceHost, where);
  const ctx: DescribeContext = {
    spec: shown,
    id: opts.id,
    rollback: opts.rollback === true,
    ...(onceHost !== undefined ? { onceHost } : {}),
    hostsOf: (h) => hostsOfHook(h, where),
  };
  const lines = [
    `release ${opts.id} to ${hosts.length} host${hosts.length === 1 ? '' : 's'} in ${plan.length} batch${plan.length === 1 ? '' : 'es'} (serial ${serial.join(', ')}; stop after ${opts.maxFail ?? first.maxFail} failed host(s))`,
    '',
  ];
  plan.forEach((b, i) => lines.push(`batch ${i + 1}: ${b.join(', ')}`));
  lines.push('');
  for (const step of FLEET_STEPS.filter(applies(ctx))) {
    if (step.id === 'per host') {
      lines.push('then, batch by batch, on each host:');
      for (const l of describeSteps(HOST_STEPS, ctx)) lines.push(`  - ${l}`);
      lines.push(`  - on failure: ${describeRollback(ctx)}`);
      continue;
    }
    const described = step.describe(ctx);
    if (described.length === 0) continue;
    lines.push(`${step.where === 'every host' ? 'every host' : 'once host'} — ${step.id}:`);
    for (const l of described) lines.push(`  - ${l}`);
  }
  return `${lines.join('\n')}\n`;
}

function describeRollback(ctx: DescribeContext): string {
  return ROLLBACK_STEPS.filter(applies(ctx))
    .flatMap((s) => (s.hook && ctx.spec.hooks[s.hook].length === 0 ? [] : s.hook ? describeSteps([s], ctx) : [s.does]))
    .join('; ');
}
