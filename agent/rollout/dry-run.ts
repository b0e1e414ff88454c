/** `lanes release --dry-run`: the batch plan, the steps each host goes through, and the layout diffs. Touches nothing. */
import type { DesiredResource } from '../resources/types.js';
import { batches, parseSerial } from './serial.js';
import { expectsRelease, releaseSpecFor } from './spec.js';
import type { ReleaseSpec } from './types.js';
import { configLines, releaseIdWithConfig } from './release-config.js';

export function releaseSteps(spec: ReleaseSpec, id: string): string[] {
  const workers = [...spec.workers.supervisor.map((w) => `supervisor ${w}`), ...spec.workers.systemd.map((w) => `systemd ${w}`)];
  const checks = [
    'php-fpm master alive',
    ...spec.pools.flatMap((p) => [
      ...(p.ping ? [`${p.name} ${p.ping.path} answers "${p.ping.response}"`] : []),
      ...(p.statusPath ? [`${p.name} ${p.statusPath} accepts work`] : []),
    ]),
    ...(spec.health.http ? [`GET ${spec.health.http.url}${spec.health.http.expect ? ` contains "${spec.health.http.expect}"` : ''}`] : []),
  ];
  return [
    `drain workers: ${workers.join(', ') || '(none declared)'} — stop, wait until the job in progress finishes`,
    `switch ${spec.path}/current → releases/${id}`,
    spec.reload === 'reload' ? 'php-fpm -t, then graceful reload (SIGUSR2), one at a time' : `OPcache reset in ${spec.pools.map((p) => p.name).join(', ')} (no reload)`,
    `health gate (${Math.round(spec.health.timeoutMs / 1000)}s): ${checks.join('; ')}`,
    `start workers, check they run releases/${id}`,
    'on failure: switch back (or remove current when there was none), reload, stop workers started on the failed release, start exactly those that ran before, health gate and worker checks on the previous release; the host fails',
  ];
}

/** The release id a run of `artifact` on these hosts uses: with their release.config (agent/rollout/release-config.ts). */
export function releaseIdFor(desired: Map<string, DesiredResource[]>, hosts: string[], artifact: { id: string; sha256: string }): string {
  return releaseIdWithConfig(artifact, new Map(hosts.map((h) => [h, releaseSpecFor(h, desired.get(h) ?? [])])));
}

/**
 * The dry-run text. `opts.artifact` (its id and sha256) gives the release id the run would use: with
 * any host's release.config in it (agent/rollout/release-config.ts); `opts.id` is taken as it is.
 */
export function renderReleasePlan(
  desired: Map<string, DesiredResource[]>,
  hosts: string[],
  given: { id?: string; artifact?: { id: string; sha256: string }; serial?: string; maxFail?: number },
): string {
  const specs = new Map(hosts.map((h) => [h, releaseSpecFor(h, desired.get(h) ?? [])]));
  const opts = { ...given, id: given.artifact ? releaseIdWithConfig(given.artifact, specs) : (given.id ?? '') };
  const first = specs.get(hosts[0]!)!;
  const serial = opts.serial ? parseSerial(opts.serial) : first.serial;
  const plan = batches(hosts, serial);
  const lines = [`release ${opts.id} to ${hosts.length} host${hosts.length === 1 ? '' : 's'} in ${plan.length} batch${plan.length === 1 ? '' : 'es'} (serial ${serial.join(', ')}; stop after ${opts.maxFail ?? first.maxFail} failed host(s))`, ''];
  plan.forEach((b, i) => lines.push(`batch ${i + 1}: ${b.join(', ')}`));
  lines.push(
    '',
    'every host first: lock (a lease naming you); preflight (php-fpm master, pools answer, workers exist, the scripts they run are in the release) — one failure refuses the run with nothing changed',
    'then on every host: upload and unpack to releases/' + opts.id + ' (checksum verified), shared links',
  );
  // config: the release.config files per group of hosts with the same ones — dest, mode, size; never content.
  const groups = new Map<string, string[]>();
  for (const h of hosts) {
    const files = configLines(specs.get(h)?.config ?? []).join('\n');
    if (files !== '') groups.set(files, [...(groups.get(files) ?? []), h]);
  }
  for (const [files, on] of groups) lines.push(`  configuration files into releases/${opts.id} on ${on.join(', ')}:`, ...files.split('\n').map((f) => `    ${f}`));
  lines.push('then, batch by batch, on each host:');
  const http = first.health.http;
  const shown = http && expectsRelease(desired.get(hosts[0]!) ?? []) ? { ...first, health: { ...first.health, http: { ...http, expect: http.expect ?? opts.id } } } : first;
  for (const s of releaseSteps(shown, opts.id)) lines.push(`  - ${s}`);
  lines.push(`finally: prune releases beyond ${first.keep} (never the live one nor the one live before it), unlock`);
  return `${lines.join('\n')}\n`;
}
