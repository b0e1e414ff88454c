/**
 * `lanes release --dry-run`: the batch plan and, from the step table (agent/rollout/steps.ts), every
 * step in order with the hooks and the host(s) each runs on. Touches nothing.
 */
import type { Inventory } from '../inventory/index.js';
import type { DesiredResource } from '../resources/types.js';
import { hookHostsFor, hostsOfHook, onceHostOf } from './hooks.js';
import { batches, parseSerial } from './serial.js';
import { expectsRelease, releaseSpecFor } from './spec.js';
import { FLEET_STEPS, HOST_STEPS, ROLLBACK_STEPS, applies, describeSteps, type DescribeContext } from './steps.js';
import { configLines, releaseIdWithConfig } from './release-config.js';

/** The release id a run of `artifact` on these hosts uses: with their release.config (agent/rollout/release-config.ts). */
export function releaseIdFor(desired: Map<string, DesiredResource[]>, hosts: string[], artifact: { id: string; sha256: string }): string {
  return releaseIdWithConfig(artifact, new Map(hosts.map((h) => [h, releaseSpecFor(h, desired.get(h) ?? [])])));
}

/**
 * The dry-run text. `given.artifact` (its id and sha256) gives the release id the run would use: with
 * any host's release.config in it (agent/rollout/release-config.ts); `given.id` is taken as it is.
 */
export function renderReleasePlan(
  desired: Map<string, DesiredResource[]>,
  hosts: string[],
  given: { id?: string; artifact?: { id: string; sha256: string; fetch?: { shown: string } }; serial?: string; maxFail?: number; inventory?: Inventory; rollback?: boolean },
): string {
  const specs = new Map(hosts.map((h) => [h, releaseSpecFor(h, desired.get(h) ?? [])]));
  const opts = { ...given, id: given.artifact ? releaseIdWithConfig(given.artifact, specs) : (given.id ?? '') };
  const first = specs.get(hosts[0]!)!;
  const serial = opts.serial ? parseSerial(opts.serial) : first.serial;
  const plan = batches(hosts, serial);
  const where = hookHostsFor(desired, plan.flat(), opts.inventory);
  // config: the release.config files per group of hosts with the same ones — dest, mode, size; never content.
  const groups = new Map<string, string[]>();
  for (const h of hosts) {
    const files = configLines(specs.get(h)?.config ?? []).join('\n');
    if (files !== '') groups.set(files, [...(groups.get(files) ?? []), h]);
  }
  const config = [...groups].map(([files, on]) => ({ on, files: files.split('\n') }));
  const http = first.health.http;
  const shown = http && expectsRelease(desired.get(hosts[0]!) ?? []) ? { ...first, health: { ...first.health, http: { ...http, expect: http.expect ?? opts.id } } } : first;
  const onceHost = onceHostOf(first.onceHost, where);
  const ctx: DescribeContext = {
    spec: shown,
    id: opts.id,
    config,
    rollback: opts.rollback === true,
    // An artifact URL: "hosts fetch <URL without credentials> (sha256 …)" instead of the upload.
    ...(given.artifact?.fetch ? { fetch: { url: given.artifact.fetch.shown, sha256: given.artifact.sha256 } } : {}),
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
    // A line indented by two spaces continues the one before (e.g. a file of a list).
    for (const l of described) lines.push(l.startsWith('  ') ? `    ${l.slice(2)}` : `  - ${l}`);
  }
  return `${lines.join('\n')}\n`;
}

function describeRollback(ctx: DescribeContext): string {
  return ROLLBACK_STEPS.filter(applies(ctx))
    .flatMap((s) => (s.hook && ctx.spec.hooks[s.hook].length === 0 ? [] : s.hook ? describeSteps([s], ctx) : [s.does]))
    .join('; ');
}
