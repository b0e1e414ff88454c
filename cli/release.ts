/** `lanes release`: a rolling, health-gated release of an artifact, with rollback. */
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { errorLineForHost } from '../agent/errors.js';
import type { PreparedRun } from '../agent/plan/prepare.js';
import type { HostPlan } from '../agent/plan/run.js';
import { colorEnabled, painter } from '../agent/report/color.js';
import type { ReleaseRun } from '../agent/rollout/release.js';
import type { DesiredResource } from '../agent/resources/types.js';
import { cancelExitCode, withProgress } from './render.js';
import { connectOptions, hostOptions, inventoryOptions, leaseOptions, leaseSettings, timeoutMs, type HostArgs, type LeaseArgs } from './options.js';
import { extraVars, playbookOptions, type PlaybookArgs } from './playbook-options.js';

export interface RolloutArgs extends HostArgs, PlaybookArgs, LeaseArgs {
  playbook: string;
  serial?: string;
  'max-fail'?: number;
  verbose?: boolean;
  notify?: string[];
}

export function rolloutOptions<T>(y: import('yargs').Argv<T>) {
  return leaseOptions(playbookOptions(hostOptions(y)))
    .positional('playbook', { type: 'string', demandOption: true, describe: 'playbook with a release: block' })
    .option('serial', { type: 'string', describe: 'batches, as Ansible serial: 1, 25%, or 1,50%,100% (default: the play\'s release.serial)' })
    .option('max-fail', { type: 'number', describe: 'failed hosts tolerated before the rollout stops (default: release.max_fail, 0)' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'show the output of every hook (a failing hook\'s output is always shown)' })
    .option('notify', { type: 'string', array: true, describe: 'POST a JSON event to this URL on started, finished, failed and each rollback (repeatable; adds to release.notify)' });
}

type Args = RolloutArgs & { artifact: string; repo?: string; 'artifact-sha256'?: string; 'artifact-max-bytes'?: number; 'dry-run': boolean };

export const releaseCommand: CommandModule<object, Args> = {
  command: 'release <playbook>',
  describe: 'Ship an artifact host by host: drain workers, switch, reload gracefully, health-check, roll back on failure',
  builder: (y) =>
    rolloutOptions(y)
      .option('artifact', { type: 'string', demandOption: true, describe: 'the release: a directory, a .tar.gz, git:REF (the tree of a commit), or an http(s) URL of a .tar.gz that each host fetches itself' })
      .option('artifact-sha256', { type: 'string', describe: 'with an artifact URL (required): the sha256 of the .tar.gz; it names the release and each host checks its download against it' })
      .option('artifact-max-bytes', { type: 'number', describe: 'with an artifact URL: the most a host downloads before refusing (default 2147483648, 2 GiB)' })
      .option('repo', { type: 'string', describe: 'for --artifact git:REF: a directory of the git repository (default: the playbook\'s)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the batch plan, the steps per host and the layout diffs; touch nothing' }) as never,
  handler: async (args) => {
    // The engine is loaded when the command runs, not when lanes starts.
    const { preparePlaybookRun } = await import('../agent/plan/prepare.js');
    const prepared = await preparePlaybookRun({ playbook: args.playbook, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args), inventoryOptions: inventoryOptions() });
    const opts = await connectOptions(args);
    if (args['dry-run']) {
      const [{ planFleet }, { renderPlan }, { resolveArtifact }, { describeArtifact }, { releaseIdFor, renderReleasePlan }, { urlOrigin }] = await Promise.all([
        import('../agent/plan/run.js'),
        import('../agent/report/plan-text.js'),
        import('../agent/rollout/artifact.js'),
        import('../agent/rollout/artifact-info.js'),
        import('../agent/rollout/dry-run.js'),
        import('../agent/rollout/notify.js'),
      ]);
      const artifact = await resolveArtifact(args.artifact, artifactOptions(args));
      // config: the id the release would use (with the hosts' release.config).
      if (artifact.source.kind === 'git') process.stdout.write(`${describeArtifact({ ...artifact, id: releaseIdFor(prepared.desired, prepared.hosts.map((h) => h.name), artifact) })}\n`);
      for (const url of await notifyUrls(args, prepared)) process.stdout.write(`notify: ${urlOrigin(url)} (started, finished, failed, rolled-back; nothing is sent in a dry run)\n`);
      process.stdout.write(renderReleasePlan(prepared.desired, prepared.hosts.map((h) => h.name), { artifact, serial: args.serial, maxFail: args['max-fail'], inventory: prepared.inventory }));
      const layout = new Map([...prepared.desired].map(([h, d]) => [h, d.filter((r) => r.type === 'release')]));
      const planned = await withProgress(args.json, (bus) => planFleet(layout, prepared.hosts, { ...opts, bus, command: 'plan', forks: args.forks, timeoutMs: timeoutMs(args) }));
      const hosts = planned.hosts.filter((h) => h.ok && h.data).map((h) => h.data!) as HostPlan[];
      const failed = planned.hosts.filter((h) => !h.ok).map((h) => ({ host: h.host, message: errorLineForHost(h.error, h.host) }));
      process.stdout.write(`\n${renderPlan({ title: 'release layout (applied first on every host):', hosts, failed }, painter(colorEnabled(process.stdout)))}`);
      process.exitCode = failed.length ? 1 : 0;
      return;
    }
    await runRollout(args, prepared, opts, { artifact: args.artifact, ...artifactOptions(args) });
  },
};

/** Where --artifact is read from (git:REF) and, for a URL, its sha256 and size cap. */
function artifactOptions(args: Args): { repo: string; sha256?: string; maxBytes?: number } {
  return {
    repo: repoOf(args),
    ...(args['artifact-sha256'] !== undefined ? { sha256: String(args['artifact-sha256']) } : {}),
    ...(args['artifact-max-bytes'] !== undefined ? { maxBytes: args['artifact-max-bytes'] } : {}),
  };
}

/** The repository a git:REF artifact is taken from: --repo, else the one the playbook lives in. */
function repoOf(args: Args): string {
  return args.repo ?? path.dirname(path.resolve(args.playbook));
}

/**
 * Run a release or rollback (the same dance; `target` says which) under the cancellable renderer,
 * print the per-host outcome and set the exit code: the signal's after a cancel, else 0 or 1.
 */
export async function runRollout(
  args: RolloutArgs,
  prepared: PreparedRun,
  opts: Awaited<ReturnType<typeof connectOptions>>,
  target: { artifact: string; repo?: string; sha256?: string; maxBytes?: number } | { rollbackTo: string | undefined; command: 'rollback' },
): Promise<void> {
  const urls = await notifyUrls(args, prepared);
  const [{ releaseFleet }, { historyWho }, { Notifier }] = await Promise.all([import('../agent/rollout/release.js'), import('../agent/rollout/history.js'), import('../agent/rollout/notify.js')]);
  const result = await withProgress(
    args.json,
    async (bus, signal) => {
      // Subscribed before the run; flushed while the renderer still shows its warnings.
      const notifier = new Notifier(urls, { bus, who: historyWho() });
      try {
        return await releaseFleet(prepared.desired, prepared.hosts, {
          ...opts,
          ...leaseSettings(args),
          ...('artifact' in target ? { artifact: target.artifact, repo: target.repo, artifactSha256: target.sha256, artifactMaxBytes: target.maxBytes } : target),
          bus,
          signal,
          forks: args.forks,
          timeoutMs: timeoutMs(args),
          serial: args.serial,
          maxFail: args['max-fail'],
          inventory: prepared.inventory,
          verbose: args.verbose === true,
        });
      } finally {
        await notifier.flush();
      }
    },
    { cancellable: true },
  );
  // A host's failure line may quote a downloader's message: an artifact URL's credentials are masked.
  const { secrets } = await import('../agent/report/mask.js');
  if (!args.json) process.stdout.write(secrets.mask(renderRun(result)));
  process.exitCode = cancelExitCode() ?? (result.ok ? 0 : 1);
}

/** The webhooks told about this run: the play's release.notify (first host's) plus --notify. */
async function notifyUrls(args: RolloutArgs, prepared: { hosts: { name: string }[]; desired: Map<string, DesiredResource[]> }): Promise<string[]> {
  const [{ checkNotifyUrls }, { releaseSpecFor }] = await Promise.all([import('../agent/rollout/notify.js'), import('../agent/rollout/spec.js')]);
  const fromCli = (args.notify ?? []).map(String);
  checkNotifyUrls(fromCli, '--notify');
  const first = prepared.hosts[0];
  const fromPlay = first ? releaseSpecFor(first.name, prepared.desired.get(first.name) ?? []).notify : [];
  return [...new Set([...fromPlay, ...fromCli])];
}

export function renderRun(r: ReleaseRun): string {
  const lines = r.hosts.map((h) => `${h.ok ? 'ok    ' : 'FAILED'} ${h.host}: ${h.message ?? ''}`);
  const failed = r.hosts.filter((h) => !h.ok).length;
  if (r.cancelled) {
    lines.push('', `cancelled by ${r.cancelled}; where each host is now:`);
    for (const s of r.states ?? []) lines.push(`  ${s.host}: ${s.state}`);
  }
  if (r.problem) lines.push('', `FAILED after the release: ${r.problem}`);
  lines.push(
    '',
    `${r.releaseId ? `release ${r.releaseId}${r.artifact?.source.kind === 'git' ? ` (git commit ${r.artifact.source.commit})` : ''}` : 'rollback'}: ${r.hosts.length - failed} ok, ${failed} failed${r.stoppedEarly ? '; the rollout stopped (more failures than --max-fail), later batches untouched' : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
