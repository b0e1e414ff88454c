/**
 * The release, as data: one table of steps — its name, where it runs, what it does on a host, how it
 * is undone, and the code that does it — drives the run (agent/rollout/release.ts), `--dry-run`
 * (agent/rollout/dry-run.ts), the progress output (step names) and the README's list of steps
 * (checked by test/unit/rollout/steps-doc.test.ts). A hook point is one entry here.
 *
 * FLEET_STEPS are the phases of the whole run, in order; the `per host` phase is HOST_STEPS, run on
 * each host batch by batch; a host that fails any of them is put back by ROLLBACK_STEPS.
 */
import type { Hook, HookPoint } from './hooks.js';
import { hookLabel, hookText } from './hooks.js';
import type { ReleaseSpec } from './types.js';

/** What describes a step for a given release (dry-run): the spec and what is known before connecting. */
export interface DescribeContext {
  spec: ReleaseSpec;
  id: string;
  /** `lanes rollback`: no upload, no build; on_rollback hooks instead of before/after_switch. */
  rollback: boolean;
  /** The once host (first host of the first batch, or release.once_host). */
  onceHost?: string;
  /** The hosts a hook runs on (its `hosts:` pattern against the run's hosts). */
  hostsOf(hook: Hook): string[];
  /** release.config files per group of hosts with the same ones (dest, mode, size: never content). */
  config?: { on: string[]; files: string[] }[];
  /** The hosts fetch the artifact from this URL (shown without credentials) instead of an upload. */
  fetch?: { url: string; sha256: string };
}

export type FleetStepId = 'lock' | 'preflight' | 'upload' | 'build' | 'once' | 'per host' | 'after_release' | 'prune';
export type HostStepId = 'drain' | 'before_switch' | 'switch' | 'on_rollback' | 'reload' | 'health' | 'after_switch' | 'start workers' | 'record';
export type RollbackStepId = 'switch back' | 'on_rollback' | 'reload' | 'stop workers' | 'start workers' | 'health';

export interface StepDoc<Id extends string = string> {
  id: Id;
  /** Where it runs: 'every host', 'once host', 'per host'. */
  where: string;
  /** What it does, for people (README). */
  does: string;
  /** How it is undone when a later step fails ('' = nothing to undo). */
  undo: string;
  /** Only in a release, only in a rollback, or both. */
  in: 'release' | 'rollback' | 'both';
  /** The hook point this step runs, if it is one. */
  hook?: HookPoint;
  /** The lines --dry-run prints for this release (none: the step does nothing here). */
  describe(c: DescribeContext): string[];
}

function workerList(spec: ReleaseSpec): string {
  return [...spec.workers.supervisor.map((w) => `supervisor ${w}`), ...spec.workers.systemd.map((w) => `systemd ${w}`)].join(', ') || '(none declared)';
}

function hookLines(c: DescribeContext, point: HookPoint, where: (h: Hook) => string): string[] {
  return c.spec.hooks[point].map((h) => `hook ${hookLabel(h)} \`${hookText(h)}\` as ${h.user} (timeout ${Math.round(h.timeoutMs / 1000)}s) — ${where(h)}`);
}

const onHosts = (c: DescribeContext) => (h: Hook) => (h.hosts === undefined ? 'on every host' : `on ${c.hostsOf(h).join(', ')} (hosts: ${h.hosts})`);

export function healthChecks(spec: ReleaseSpec): string[] {
  return [
    'php-fpm master alive',
    ...spec.pools.flatMap((p) => [...(p.ping ? [`${p.name} ${p.ping.path} answers "${p.ping.response}"`] : []), ...(p.statusPath ? [`${p.name} ${p.statusPath} accepts work`] : [])]),
    ...(spec.health.http ? [`GET ${spec.health.http.url}${spec.health.http.expect ? ` contains "${spec.health.http.expect}"` : ''}`] : []),
  ];
}

/** The phases of a run, in order. */
export const FLEET_STEPS: StepDoc<FleetStepId>[] = [
  {
    id: 'lock',
    where: 'every host',
    does: 'take the host lease (naming you, renewed while the run lives), reconcile the release layout, read the releases there',
    undo: 'the lease is released at the end of every run, whatever happened',
    in: 'both',
    describe: () => ['lock (a lease naming you); release layout; read the releases on the host'],
  },
  {
    id: 'preflight',
    where: 'every host',
    does: 'php-fpm master alive, pools answer, workers exist, the scripts they run are in the release; one failure refuses the run with nothing changed anywhere',
    undo: '',
    in: 'both',
    describe: () => ['preflight (php-fpm master, pools answer, workers exist, the scripts they run are in the release) — one failure refuses the run with nothing changed'],
  },
  {
    id: 'upload',
    where: 'every host',
    does: 'upload and unpack the artifact to releases/<id> (or, for an artifact URL, each host fetches it; checksum verified, links and devices refused), link the shared paths, write the release.config files',
    undo: 'a release that is not live changes nothing; prune removes it later',
    in: 'release',
    describe: (c) => [
      c.fetch
        ? `hosts fetch ${c.fetch.url} (sha256 ${c.fetch.sha256}), checksum verified, unpack to releases/${c.id}, shared links: ${c.spec.shared.join(', ') || '(none)'}`
        : `upload and unpack to releases/${c.id} (checksum verified), shared links: ${c.spec.shared.join(', ') || '(none)'}`,
      ...(c.config ?? []).flatMap((g) => [`configuration files into releases/${c.id} on ${g.on.join(', ')}:`, ...g.files.map((f) => `  ${f}`)]),
    ],
  },
  {
    id: 'build',
    where: 'every host',
    does: 'run the build hooks in releases/<id> as release.user (the directory is theirs during the build), then seal it: owner:group, not writable by others; skipped where that release was built before with the same hooks. A failure stops the run before any host switches',
    undo: 'a release unpacked by this run is removed again; nothing live changed',
    in: 'release',
    hook: 'build',
    describe: (c) => hookLines(c, 'build', onHosts(c)).concat(c.spec.hooks.build.length ? [`seal releases/${c.id}: ${c.spec.owner}:${c.spec.group}, go-w`] : []),
  },
  {
    id: 'once',
    where: 'once host',
    does: 'after every host has built, before the first switch: run the once hooks (migrations) on exactly one host, in releases/<id>. A failure stops the run before any host switches',
    undo: 'nothing live changed; a migration is yours to make backward compatible',
    in: 'release',
    hook: 'once',
    describe: (c) => hookLines(c, 'once', () => `on ${c.onceHost ?? '(no host)'} only`),
  },
  {
    id: 'per host',
    where: 'per host',
    does: 'batch by batch (serial), each host goes through the per-host steps below; more failed hosts than max_fail stop the rollout, leaving the hosts not reached untouched',
    undo: 'a failed host is rolled back by itself (below); hosts that passed stay on the new release',
    in: 'both',
    describe: () => [],
  },
  {
    id: 'after_release',
    where: 'once host',
    does: 'after the last batch, when the rollout was not stopped: run the after_release hooks once, in the live release of the once host (or of the first host on the release); a failure fails the run, every host stays live',
    undo: '',
    in: 'release',
    hook: 'after_release',
    describe: (c) => hookLines(c, 'after_release', () => `on ${c.onceHost ?? '(no host)'} only, after the last batch`),
  },
  {
    id: 'prune',
    where: 'every host',
    does: 'remove releases beyond release.keep (never the live one nor the one live before it), release the lease',
    undo: '',
    in: 'both',
    describe: (c) => [`prune releases beyond ${c.spec.keep} (never the live one nor the one live before it), unlock`],
  },
];

/** The steps each host goes through in its batch. */
export const HOST_STEPS: StepDoc<HostStepId>[] = [
  {
    id: 'drain',
    where: 'per host',
    does: 'stop the declared workers, waiting for the job in progress to finish (their own stop timeouts)',
    undo: 'start exactly the workers that ran before',
    in: 'both',
    describe: (c) => [`drain workers: ${workerList(c.spec)} — stop, wait until the job in progress finishes`],
  },
  {
    id: 'before_switch',
    where: 'per host',
    does: 'run the before_switch hooks in releases/<id> (workers are stopped, the old release still serves)',
    undo: '',
    in: 'release',
    hook: 'before_switch',
    describe: (c) => hookLines(c, 'before_switch', onHosts(c)),
  },
  {
    id: 'switch',
    where: 'per host',
    does: 'point current at releases/<id> (a new link renamed over it: atomic)',
    undo: 'point current back (remove it when there was none)',
    in: 'both',
    describe: (c) => [`switch ${c.spec.path}/current → releases/${c.id}`],
  },
  {
    id: 'on_rollback',
    where: 'per host',
    does: 'lanes rollback only: run the on_rollback hooks in the release returned to',
    undo: '',
    in: 'rollback',
    hook: 'on_rollback',
    describe: (c) => hookLines(c, 'on_rollback', onHosts(c)),
  },
  {
    id: 'reload',
    where: 'per host',
    does: 'php-fpm -t, then a graceful reload (SIGUSR2) that lets requests in flight finish — or an OPcache reset per pool (reload: opcache-reset)',
    undo: 'reload again onto the release returned to',
    in: 'both',
    describe: (c) => [c.spec.reload === 'reload' ? 'php-fpm -t, then graceful reload (SIGUSR2), one at a time' : `OPcache reset in ${c.spec.pools.map((p) => p.name).join(', ')} (no reload)`],
  },
  {
    id: 'health',
    where: 'per host',
    does: 'the health gate: php-fpm alive, every pool answers its ping and status, the HTTP check (with the release id in the body) — retried until release.health.timeout',
    undo: '',
    in: 'both',
    describe: (c) => [`health gate (${Math.round(c.spec.health.timeoutMs / 1000)}s): ${healthChecks(c.spec).join('; ')}`],
  },
  {
    id: 'after_switch',
    where: 'per host',
    does: 'run the after_switch hooks in the live release (it passed the health gate; workers are not started yet)',
    undo: '',
    in: 'release',
    hook: 'after_switch',
    describe: (c) => hookLines(c, 'after_switch', onHosts(c)),
  },
  {
    id: 'start workers',
    where: 'per host',
    does: 'start the workers, and check that they run the new release',
    undo: 'stop the workers started on the failed release',
    in: 'both',
    describe: (c) => [`start workers, check they run releases/${c.id}`],
  },
  {
    id: 'record',
    where: 'per host',
    does: 'append the switch to releases/.history.jsonl (who, when, source, outcome)',
    undo: 'the rollback is recorded too',
    in: 'both',
    describe: () => ['record it in the host\'s release history'],
  },
];

/** How a failed host is put back, in order; each part is tried even when an earlier one failed. */
export const ROLLBACK_STEPS: StepDoc<RollbackStepId>[] = [
  { id: 'switch back', where: 'per host', does: 'point current back at the release that was live (or remove it: there was none)', undo: '', in: 'both', describe: () => [] },
  {
    id: 'on_rollback',
    where: 'per host',
    does: 'run the on_rollback hooks in the release returned to',
    undo: '',
    in: 'release',
    hook: 'on_rollback',
    describe: (c) => hookLines(c, 'on_rollback', onHosts(c)),
  },
  { id: 'reload', where: 'per host', does: 'reload php-fpm onto it', undo: '', in: 'both', describe: () => [] },
  { id: 'stop workers', where: 'per host', does: 'stop the workers started on the failed release', undo: '', in: 'both', describe: () => [] },
  { id: 'start workers', where: 'per host', does: 'start exactly the workers that ran before', undo: '', in: 'both', describe: () => [] },
  { id: 'health', where: 'per host', does: 'the health gate and worker checks on the release returned to; the host counts as failed', undo: '', in: 'both', describe: () => [] },
];

export const applies = (c: Pick<DescribeContext, 'rollback'>) => (s: StepDoc) => s.in === 'both' || s.in === (c.rollback ? 'rollback' : 'release');

/** The dry-run lines of a table: each applicable step's description (hook steps without hooks vanish). */
export function describeSteps<Id extends string>(table: StepDoc<Id>[], c: DescribeContext): string[] {
  return table.filter(applies(c)).flatMap((s) => s.describe(c));
}

/** The README's list of steps (between `<!-- release-steps -->` markers), from the tables. */
export function stepsMarkdown(): string {
  const row = (s: StepDoc) => `| ${s.id} | ${s.where} | ${s.does} | ${s.undo || '—'} |`;
  return [
    '| step | where | what it does | how it is undone |',
    '| --- | --- | --- | --- |',
    ...FLEET_STEPS.filter((s) => s.id !== 'per host' && FLEET_STEPS.indexOf(s) < FLEET_STEPS.findIndex((x) => x.id === 'per host')).map(row),
    ...HOST_STEPS.map((s) => row({ ...s, id: `per host: ${s.id}` })),
    ...FLEET_STEPS.slice(FLEET_STEPS.findIndex((x) => x.id === 'per host') + 1).map(row),
    '',
    `A host that fails a per-host step is rolled back by itself: ${ROLLBACK_STEPS.map((s) => s.does).join('; ')}.`,
  ].join('\n');
}
