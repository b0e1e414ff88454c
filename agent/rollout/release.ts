/**
 * `lanes release`: ship a new version with no failed request and no job killed mid-flight.
 *
 * The sequence is data: the step table in agent/rollout/steps.ts (FLEET_STEPS, HOST_STEPS,
 * ROLLBACK_STEPS) gives the order; this file has the code of each step, keyed by the table's ids.
 * In short: lock every host and preflight; upload to releases/<id> everywhere; build hooks
 * everywhere and the once hooks on one host — all before any switch; then batch by batch drain →
 * before_switch → switch → reload → health gate → after_switch → start workers; a host failing any
 * of them is rolled back by itself; after the last batch the after_release hooks; prune, unlock.
 *
 * Cancelled (the CLI's AbortSignal: Ctrl-C, SIGTERM, SIGHUP): no new host or step starts; a hook
 * before the switch (build, once, before_switch) is stopped with its process group; a host
 * mid-step finishes the step, then goes on to the end if it already passed the health gate on the
 * new release, or is rolled back to where it was (previous `current`, reload, workers started);
 * then the leases are released and one `host-state` message per host says where it is. A host
 * whose lease is lost (see agent/run/lease.ts) stops the same way.
 *
 * The same dance toward an existing release is `lanes rollback` (no upload).
 */
import { LanesError, errorLineForHost } from '../errors.js';
import { readState } from '../facts/probes.js';
import { applyHost } from '../apply/run.js';
import type { FpmInstall } from '../facts/php-fpm.js';
import { probesFor } from '../plan/plan-host.js';
import type { DesiredResource } from '../resources/types.js';
import type { EventBus } from '../report/events.js';
import { Fleet, type FleetHost, type HostSession } from '../run/fleet.js';
import type { ConnectOptions } from '../transport/target.js';
import { EXIT_CHECKSUM_MISMATCH, currentReleaseScript, parseCurrentRelease, parseUnpackOutput, pruneScript, resolveArtifact, sharedEntry, unpackScript, type ReleaseArtifact, type UrlArtifact } from './artifact.js';
import { parseFetched } from './artifact-fetch.js';
import { artifactInfo, describeArtifact, type ArtifactInfo } from './artifact-info.js';
import { healthFailureMessage, healthScript, parseHealth } from './health.js';
import { cancelledBy, isCancelled, throwIfCancelled } from '../run/cancel.js';
import { FleetLease } from '../run/lease.js';
import { drainLimitMs } from './drain-limit.js';
import { fpmReloadScript, opcacheFailureMessage, opcacheResetScript, parseOpcache, parseReload, reloadFailureMessage } from './reload.js';
import { batches, parseSerial } from './serial.js';
import { expectsRelease, releaseSpecFor } from './spec.js';
import { releaseDir, type ReleaseSpec } from './types.js';
import { drainScript, parseWorkers, undrainScript } from './workers.js';
import { missingReleaseFiles, parsePreflight, preflightScript, releaseFilesOf, type WorkerCommand } from './preflight.js';
import { parseFrames } from '../remote/frame.js';
import { STDIN_SCRIPT_COMMAND, framedScript, type FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';
import { createHash } from 'node:crypto';
import { secrets } from '../report/mask.js';
import type { Inventory } from '../inventory/index.js';
import { hookHostsFor, hostsOfHook, onceHostOf, runHook, type Hook, type HookContext, type HookHosts, type HookPoint } from './hooks.js';
import { FLEET_STEPS, HOST_STEPS, ROLLBACK_STEPS, applies, type FleetStepId, type HostStepId, type RollbackStepId } from './steps.js';
import { appendScript, historyWho, parseAppend, parseSwitchHistory, sourceOf, switchHistoryScript, type HistoryRecord } from './history.js';
import { releaseEvent, runOutcome } from './notify.js'; // notify:
import { releaseIdWithConfig, writeReleaseConfig } from './release-config.js'; // config:

export interface ReleaseOptions extends ConnectOptions {
  bus: EventBus;
  forks?: number;
  timeoutMs?: number;
  /** A directory, .tar.gz, `git:REF` or http(s) URL to ship; absent for a rollback. */
  artifact?: string;
  /** With an artifact URL: its sha256 (required) and the most a host downloads (artifact-fetch.ts). */
  artifactSha256?: string;
  artifactMaxBytes?: number;
  /** For `git:REF`: a directory of the repository to take REF from. */
  repo?: string;
  /** Rollback target; default the release before the live one. */
  rollbackTo?: string;
  serial?: string;
  maxFail?: number;
  breakLock?: boolean;
  /** Wait this long for another run's lease before refusing (--lock-wait). */
  lockWaitMs?: number;
  /** Lease length (--lock-ttl); default the release block's lock_ttl. */
  lockTtlMs?: number;
  /** Aborted by the CLI on the first Ctrl-C / SIGTERM / SIGHUP; its reason is the signal's name. */
  signal?: AbortSignal;
  command?: string;
  /** For hooks' `hosts:` and release.once_host patterns (default: the hosts by name only). */
  inventory?: Inventory;
  /** Show the output of hooks that passed too (-v). */
  verbose?: boolean;
}

export interface HostRelease {
  host: string;
  release: string;
  previous?: string;
  /** 'switched', 'already live', 'rolled back', 'untouched'. */
  outcome: string;
}

interface HostState {
  spec: ReleaseSpec;
  desired: DesiredResource[];
  fpm?: FpmInstall;
  /** Where `current` pointed when the run started (never updated: prune keeps it). */
  before?: string;
  /** Limit for draining / starting workers: their own stop timeouts plus a margin (0: none). */
  drainMs: number;
  /** The host's switch began (for the state line of a cancelled run). */
  attempted?: boolean;
  current?: string;
  releases: { id: string; date: string }[];
  /** Releases that went live, oldest first (from the host's release history). */
  history: string[];
  target?: string;
  /** This run unpacked the release (it was not on the host before): a failed build removes it. */
  unpackedNow?: boolean;
  /** What the workers run (from preflight): checked in a fetched release once it is unpacked. */
  workers?: WorkerCommand[];
  /** What the host history (agent/rollout/history.ts) records about this run's switch. */
  record: Pick<HistoryRecord, 'who' | 'command' | 'source'> & { liveEvent: 'live' | 'rolled-back' };
}

export interface ReleaseRun {
  ok: boolean;
  releaseId?: string;
  /** The artifact shipped (absent for a rollback): its id, sha256 and source (a git commit, a path). */
  artifact?: ArtifactInfo;
  hosts: { host: string; ok: boolean; message?: string; result?: HostRelease }[];
  batches: string[][];
  stoppedEarly: boolean;
  /** The signal that cancelled the run; each host's `state` then says where it was left. */
  cancelled?: string;
  states?: { host: string; state: string }[];
  /** The host the once hooks ran on (or were to run on). */
  onceHost?: string;
  /** What failed the run after every host was released (an after_release hook). */
  problem?: string;
}

export async function releaseFleet(desired: Map<string, DesiredResource[]>, hosts: FleetHost[], opts: ReleaseOptions): Promise<ReleaseRun> {
  // Everything that can be checked locally is checked before any connection.
  const specs = new Map(hosts.map((h) => [h.name, releaseSpecFor(h.name, desired.get(h.name) ?? [])]));
  const first = specs.get(hosts[0]!.name)!;
  const serial = opts.serial ? parseSerial(opts.serial) : first.serial;
  const maxFail = opts.maxFail ?? first.maxFail;
  const plan = batches(
    hosts.map((h) => h.name),
    serial,
  );
  const where = hookHostsFor(desired, plan.flat(), opts.inventory);
  const onceHost = onceHostOf(first.onceHost, where);
  const artifact: ReleaseArtifact | undefined = opts.artifact
    ? await resolveArtifact(opts.artifact, {
        repo: opts.repo,
        ...(opts.artifactSha256 !== undefined ? { sha256: opts.artifactSha256 } : {}),
        ...(opts.artifactMaxBytes !== undefined ? { maxBytes: opts.artifactMaxBytes } : {}),
      })
    : undefined;
  // config: the release id covers every host's release.config (the artifact's own id when none has any).
  if (artifact) artifact.id = releaseIdWithConfig(artifact, specs);
  const rollback = !artifact;

  const session = await Fleet.open(hosts, { ...opts, command: opts.command ?? (artifact ? 'release' : 'rollback') });
  if (artifact) opts.bus.emit({ type: 'message', level: 'info', code: 'artifact', text: describeArtifact(artifact), data: artifactInfo(artifact) });
  const state = new Map<string, HostState>();
  // Release scripts run as root and get their input (the artifact) on stdin.
  const run: Runner = (s, script, input, timeoutMs) => s.ctx.conn.exec(script, { become: true, stdin: input, timeoutMs: timeoutMs ?? opts.timeoutMs });
  let stoppedEarly = false;
  let halted = false;
  let skipHooks = false;
  let runProblem: string | undefined;
  const cancelled = () => cancelledBy(opts.signal);
  const leases = new FleetLease({ bus: opts.bus, operation: session.command, waitMs: opts.lockWaitMs, breakLock: opts.breakLock, signal: opts.signal, timeoutMs: opts.timeoutMs });
  // Between steps on one host: stop when the run is cancelled or the host's lease was lost.
  const checkpoint = (host: string) => {
    throwIfCancelled(opts.signal, host);
    leases.assertHeld(host);
  };
  const hookCtx = (host: string, dir: string, releaseId: string, previous: string | undefined): HookContext => ({
    host,
    releaseDir: dir,
    releaseId,
    ...(previous !== undefined ? { previous } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.verbose ? { verbose: true } : {}),
  });
  /** Hosts that have not failed are left where they are, each told why. */
  const leaveUntouched = (why: string) => {
    for (const s of session.live) {
      s.summary = `untouched: ${why}`;
      s.data = { host: s.host, release: state.get(s.host)?.current ?? '', outcome: 'untouched' } satisfies HostRelease;
    }
  };
  /** Run a fleet phase; a host it fails is failed. Returns the hosts that failed in it. */
  const phase = async (fn: (s: HostSession, st: HostState) => Promise<void>): Promise<string[]> => {
    const before = new Set(session.failures.map((s) => s.host));
    await session.each((s) => fn(s, state.get(s.host)!));
    return session.failures.filter((s) => !before.has(s.host)).map((s) => s.host);
  };
  // A build or once hook failed: the release this run unpacked goes again on every host (it never went
  // live anywhere), so no half-built release is left to switch to later.
  // Also on the host whose hook failed (its connection is fine); a removal that fails is a warning.
  const discardUnpacked = () =>
    session.each(
      async (s) => {
        const st = state.get(s.host);
        if (!st?.unpackedNow || !st.target || st.current === st.target) return;
        try {
          const r = await s.ctx.step(`remove ${st.target}`, () => run(s, `rm -rf -- ${shq(releaseDir(st.spec, st.target!))}`));
          if (r.code !== 0) throw new LanesError(humanLines(r.stderr) || `exit ${r.code}`, { host: s.host });
          st.releases = st.releases.filter((x) => x.id !== st.target);
          st.unpackedNow = false;
        } catch (err) {
          session.bus.emit({ type: 'message', level: 'warn', host: s.host, text: `release ${st.target} could not be removed: ${errorLineForHost(err, s.host)} (prune removes it later)` });
        }
      },
      session.hosts.filter((s) => s.ctx),
    );
  // Whether a host will switch in this run: its target is not live there already.
  const willSwitch = (st: HostState) => st.target !== undefined && st.target !== st.current;

  // The fleet phases, in the order of the step table (agent/rollout/steps.ts).
  const phases: Record<FleetStepId, () => Promise<void>> = {
    lock: async () => {
      await session.each(async (s) => {
        const spec = specs.get(s.host)!;
        const record: HostState['record'] = { who: historyWho(), command: session.command, source: sourceOf(artifact), liveEvent: artifact ? 'live' : 'rolled-back' };
        const st: HostState = { spec, desired: desired.get(s.host) ?? [], drainMs: drainLimitMs(spec, desired.get(s.host) ?? []), releases: [], history: [], record };
        state.set(s.host, st);
        try {
          await leases.acquire(s.ctx, opts.lockTtlMs ?? spec.lockTtlMs);
        } catch (err) {
          if (isCancelled(err)) return;
          throw err;
        }
        if (cancelled()) return;
        const layout = st.desired.filter((d) => d.type === 'release');
        await applyHost(s.ctx, layout, { timeoutMs: opts.timeoutMs });
        const actual = await readState(s.ctx.conn, probesFor(layout));
        st.fpm = actual.facts.php_fpm.primary;
        const read = currentReleaseScript(spec);
        const cur = parseCurrentRelease((await s.ctx.step('read releases', () => run(s, read.text))).stdout, read.nonce);
        st.current = cur.current;
        st.before = cur.current;
        st.releases = cur.releases;
        const hist = switchHistoryScript(spec);
        st.history = parseSwitchHistory((await run(s, hist.text)).stdout, hist.nonce);
        if (artifact) st.target = artifact.id;
      });
      if (rollback) {
        // What to switch back to, per host.
        await session.each(async (s) => {
          const st = state.get(s.host)!;
          st.target = opts.rollbackTo ?? previousRelease(st);
          if (!st.target) throw new LanesError('there is no earlier release to roll back to', { host: s.host });
          if (!st.releases.some((r) => r.id === st.target)) throw new LanesError(`release ${st.target} is not on this host (it has: ${st.releases.map((r) => r.id).join(', ') || 'none'})`, { host: s.host });
        });
      }
    },
    // A release that cannot work on one host is refused while all are still as they were.
    preflight: async () => {
      const refusedBy = await phase((s, st) => preflightHost(s, st, run, artifact));
      if (refusedBy.length > 0) {
        halted = true;
        leaveUntouched(`preflight failed on ${refusedBy.join(', ')}`);
        return;
      }
      // notify: started — preflight passed everywhere, nothing uploaded or switched yet
      const firstLive = state.get(session.live[0]?.host ?? '');
      session.bus.emit(releaseEvent({ event: 'started', operation: artifact ? 'release' : 'rollback', release: artifact?.id ?? firstLive?.target ?? '', ...(firstLive?.current ? { previous: firstLive.current } : {}), hosts: session.live.map((s) => s.host) }));
    },
    upload: async () => {
      if (!artifact) return;
      const failed = await phase(async (s, st) => {
        if (cancelled()) return;
        leases.assertHeld(s.host);
        if ('fetch' in artifact) return fetchOnHost(s, st, run, artifact, opts.timeoutMs);
        await s.ctx.step(`upload ${artifact.id}`, async () => {
          const unpack = unpackScript(st.spec, artifact);
          const r = await run(s, unpack.text, artifact.bytes);
          if (r.code !== 0) throw new LanesError(`the upload of release ${artifact.id} failed: ${humanLines(r.stderr) || `exit ${r.code}`}`, { kind: 'exec', host: s.host });
          st.unpackedNow = parseUnpackOutput(r.stdout, unpack.nonce).status === 'unpacked';
          // config: the host's configuration files, before anything else runs in the release.
          await writeReleaseConfig((cmd, input) => run(s, cmd, input), st.spec, artifact.id, s.host);
        });
      });
      // Too many failed uploads: the batches stop before the first (below), and nothing is built.
      if (failed.length > 0 && session.failures.length > maxFail) skipHooks = true;
    },
    // A failing build stops the release before any host switches anywhere.
    build: async () => {
      if (!artifact || cancelled() || skipHooks) return;
      const failed = await phase(async (s, st) => {
        if (!willSwitch(st)) return;
        const hooks = st.spec.hooks.build.filter((h) => hostsOfHook(h, where).includes(s.host));
        if (hooks.length === 0) return;
        checkpoint(s.host);
        await buildHost(s, st, hooks, run, hookCtx(s.host, releaseDir(st.spec, st.target!), st.target!, st.current), () => checkpoint(s.host));
      });
      if (failed.length > 0) {
        halted = true;
        await discardUnpacked();
        leaveUntouched(`the build failed on ${failed.join(', ')}: no host was switched`);
      }
    },
    // Exactly one host of the whole run, after every host has built, before the first switch.
    once: async () => {
      if (!artifact || cancelled() || skipHooks) return;
      const hooks = first.hooks.once;
      if (hooks.length === 0 || ![...state.values()].some(willSwitch)) return;
      const s = session.live.find((x) => x.host === onceHost);
      if (!s) {
        halted = true;
        leaveUntouched(`the once host ${onceHost ?? '(none)'} is not reachable: the once hooks could not run; no host was switched`);
        return;
      }
      const st = state.get(s.host)!;
      const failed = await phase(async (x) => {
        if (x !== s) return;
        for (const h of hooks) {
          checkpoint(s.host);
          await runHook(s, h, hookCtx(s.host, releaseDir(st.spec, artifact.id), artifact.id, st.current));
        }
      });
      if (failed.length > 0) {
        halted = true;
        await discardUnpacked();
        leaveUntouched(`the once hooks failed on ${onceHost}: no host was switched`);
      }
    },
    'per host': async () => {
      let failures = session.failures.length;
      for (const [i, batch] of plan.entries()) {
        if (cancelled()) {
          stoppedEarly = true;
          break;
        }
        if (failures > maxFail) {
          stoppedEarly = true;
          session.bus.emit({ type: 'message', level: 'warn', text: `stopping: ${failures} host(s) failed (max ${maxFail}); ${plan.slice(i).flat().join(', ')} untouched` });
          break;
        }
        session.bus.emit({ type: 'message', level: 'info', text: `batch ${i + 1}/${plan.length}: ${batch.join(', ')}` });
        // The batch's hosts switch together, at most --forks at once (a batch larger than forks goes
        // through in waves of forks); the next batch starts when all of them are done.
        const members = session.live.filter((s) => batch.includes(s.host));
        await session.each(async (s) => {
          const st = state.get(s.host)!;
          if (cancelled() || !st.target) return;
          leases.assertHeld(s.host);
          st.attempted = true;
          await switchHost(s, st, run, { expectRelease: expectsRelease(st.desired), rollback, where, checkpoint: () => checkpoint(s.host), hookCtx });
        }, members);
        failures = session.failures.length;
      }
      for (const s of session.live) {
        const st = state.get(s.host)!;
        if (!s.summary) {
          s.summary = `untouched: the ${cancelled() ? `run was cancelled (${cancelled()})` : 'rollout stopped'} before this host`;
          s.data = { host: s.host, release: st.current ?? '', outcome: 'untouched' } satisfies HostRelease;
        }
      }
    },
    // Once, after the last batch: on the once host if it is on the release, else the first that is.
    after_release: async () => {
      const hooks = first.hooks.after_release;
      if (!artifact || hooks.length === 0 || stoppedEarly || cancelled()) return;
      const onRelease = session.live.filter((s) => state.get(s.host)?.current === artifact.id);
      const s = onRelease.find((x) => x.host === onceHost) ?? onRelease[0];
      if (!s) return;
      const st = state.get(s.host)!;
      try {
        for (const h of hooks) await runHook(s, h, hookCtx(s.host, releaseDir(st.spec, artifact.id), artifact.id, st.before));
      } catch (err) {
        runProblem = `after_release on ${s.host}: ${errorLineForHost(err, s.host)} (every host stays on ${artifact.id})`;
        session.bus.emit({ type: 'message', level: 'warn', host: s.host, text: runProblem });
      }
    },
    // Never the live release nor the one live before it.
    prune: async () => {
      if (cancelled()) return;
      await session.each(async (s) => {
        const st = state.get(s.host)!;
        await s.ctx.step('prune', () => run(s, pruneScript(st.spec, pruneKeep(st.before, st.current, st.history)).text));
      });
    },
  };

  let states: { host: string; state: string }[] | undefined;
  try {
    for (const step of FLEET_STEPS.filter(applies({ rollback }))) {
      if (halted) break;
      if (step.id === 'prune' && cancelled()) states = await hostStates(session, state, run);
      await phases[step.id]();
    }
    if (halted && cancelled() && !states) states = await hostStates(session, state, run);
  } finally {
    // Unlock (in a finally: also after a refused preflight, an error or a cancel).
    await leases.releaseAll();
  }
  // notify: finished, or failed with the failing hosts (before run-end, so renderers still show it)
  const firstSt = state.get(hosts[0]!.name);
  session.bus.emit(releaseEvent(runOutcome({
    operation: artifact ? 'release' : 'rollback',
    release: artifact?.id ?? firstSt?.target ?? '',
    ...(firstSt?.before ? { previous: firstSt.before } : {}),
    hosts: session.hosts.map((s) => s.host),
    failures: session.failures.map((s) => ({ host: s.host, message: errorLineForHost(s.failed, s.host) })),
    cancelled: cancelled(),
    ...(runProblem ? { problem: runProblem } : {}),
  })));
  const end = session.end();
  return {
    ok: end.ok && !runProblem,
    ...(runProblem ? { problem: runProblem } : {}),
    releaseId: artifact?.id,
    artifact: artifact ? artifactInfo(artifact) : undefined,
    batches: plan,
    stoppedEarly,
    cancelled: cancelled(),
    states,
    ...(artifact && first.hooks.once.length ? { onceHost } : {}),
    hosts: session.hosts.map((s) => ({
      host: s.host,
      ok: !s.failed,
      message: s.failed ? errorLineForHost(s.failed, s.host) : s.summary,
      result: s.data as HostRelease | undefined,
    })),
  };
}

/**
 * The release that was live before the current one — from the history of switches, so a release that
 * was unpacked but never went live (a failed one) is never a rollback target.
 */
function previousRelease(st: HostState): string | undefined {
  return [...st.history].reverse().find((id) => id !== st.current && st.releases.some((r) => r.id === id));
}


type Runner = (s: HostSession, script: string, input?: Buffer, timeoutMs?: number) => ReturnType<HostSession['ctx']['conn']['exec']>;

/**
 * The releases prune must keep: the one live now, the one live when the run started, and the one live
 * before the live one (from the history of switches) — so `lanes rollback` always has a target.
 */
export function pruneKeep(before: string | undefined, live: string | undefined, history: string[]): string[] {
  const previous = [...history].reverse().find((id) => id !== live);
  return [...new Set([live, before, previous].filter((x): x is string => !!x))];
}

/**
 * Preflight of one host (agent/rollout/preflight.ts): the workers, pools and FPM the release names are
 * there and healthy, and the scripts the workers run are in the release being switched to.
 */
async function preflightHost(s: HostSession, st: HostState, run: Runner, artifact: ReleaseArtifact | undefined): Promise<void> {
  if (!st.fpm) throw new LanesError('php-fpm is not installed', { kind: 'exec', host: s.host });
  const fpmUnit = st.fpm.unit;
  await s.ctx.step('preflight', async () => {
    const script = preflightScript(st.spec, { fpmUnit });
    const r = await run(s, script.text);
    const p = parsePreflight(r.stdout, script.nonce);
    const problems = [...p.problems];
    const shared = st.spec.shared.map(sharedEntry);
    if (artifact && 'fetch' in artifact) {
      // The controller never sees a fetched artifact's listing: checked on the host once unpacked (fetchOnHost).
      st.workers = p.workers;
    } else if (artifact) {
      problems.push(...missingReleaseFiles(st.spec.path, shared, p.workers, (rel) => artifact.entries.has(rel), artifact.id));
    } else if (st.target && st.target !== st.current) {
      // A rollback target is on the host already: look there.
      problems.push(...(await missingOnHost(s, st, run, st.target, p.workers)));
    }
    if (problems.length > 0) throw new LanesError(`preflight refused the ${artifact ? 'release' : 'rollback'}, nothing was changed: ${problems.join('; ')}`, { kind: 'exec', host: s.host });
  });
}

/** The scripts `workers` run that release `target`, already on the host, does not contain. */
async function missingOnHost(s: HostSession, st: HostState, run: Runner, target: string, workers: WorkerCommand[]): Promise<string[]> {
  const wanted = [...new Set(workers.flatMap((w) => releaseFilesOf(st.spec.path, w)))];
  if (wanted.length === 0) return [];
  const check = framedScript(
    wanted.map((rel) => `[ -e ${shq(`${releaseDir(st.spec, target)}/${rel}`)} ] && lanes_say has ${shq(rel)}`).concat('lanes_say checked'),
    { doneKind: 'checked', tmpName: 'preflight' },
  );
  const out = parseFrames((await run(s, check.text)).stdout, check.nonce);
  const has = new Set(out.filter((f) => f.kind === 'has').map((f) => f.fields[0]));
  return missingReleaseFiles(st.spec.path, st.spec.shared.map(sharedEntry), workers, (rel) => has.has(rel), target);
}

/**
 * The host downloads the artifact from its URL (artifact-fetch.ts), checks the sha256 and unpacks it.
 * The script carries the URL, so it goes on stdin (no command line on the host shows it); the
 * download gets the run's --timeout less a margin for the unpack. The sum the host reports is
 * compared here too: a host that says nothing about it, or another sum, fails.
 */
async function fetchOnHost(s: HostSession, st: HostState, run: Runner, artifact: UrlArtifact, timeoutMs: number | undefined): Promise<void> {
  const seconds = timeoutMs && timeoutMs > 0 ? Math.max(5, Math.floor(timeoutMs / 1000) - 10) : undefined;
  await s.ctx.step(`fetch ${artifact.id}`, async () => {
    const unpack = unpackScript(st.spec, artifact, { fetch: artifact.fetch, ...(seconds !== undefined ? { fetchSeconds: seconds } : {}) });
    const r = await run(s, STDIN_SCRIPT_COMMAND, Buffer.from(unpack.text, 'utf8'));
    const got = parseFetched(r.stdout, unpack.nonce);
    const want = artifact.sha256;
    if (r.code === EXIT_CHECKSUM_MISMATCH && got && got.sha256 !== want) {
      throw new LanesError(`release ${artifact.id}: ${artifact.fetch.shown} has sha256 ${got.sha256} on this host, expected ${want} (--artifact-sha256); nothing was unpacked`, { kind: 'exec', host: s.host });
    }
    if (r.code !== 0) throw new LanesError(`the fetch of release ${artifact.id} failed: ${secrets.mask(humanLines(r.stderr)) || `exit ${r.code}`}`, { kind: 'exec', host: s.host });
    const outcome = parseUnpackOutput(r.stdout, unpack.nonce);
    if (outcome.status === 'unpacked' && got?.sha256 !== want) {
      throw new LanesError(`release ${artifact.id}: the host unpacked ${artifact.fetch.shown} without reporting the expected sha256 ${want} (it reported ${got?.sha256 ?? 'none'})`, { kind: 'exec', host: s.host });
    }
    st.unpackedNow = outcome.status === 'unpacked';
    const missing = await missingOnHost(s, st, run, artifact.id, st.workers ?? []);
    if (missing.length > 0) throw new LanesError(`release ${artifact.id} cannot run here: ${missing.join('; ')}`, { kind: 'exec', host: s.host });
    // config: the host's configuration files, before anything else runs in the release.
    await writeReleaseConfig((cmd, input) => run(s, cmd, input), st.spec, artifact.id, s.host);
  });
}

/** Only the declared workers whose names are in `names`. */
function onlyWorkers(spec: ReleaseSpec, names: string[]): ReleaseSpec['workers'] {
  return { supervisor: spec.workers.supervisor.filter((n) => names.includes(n)), systemd: spec.workers.systemd.filter((n) => names.includes(n)) };
}

function workerNames(w: ReleaseSpec['workers']): string {
  return [...w.supervisor, ...w.systemd].join(', ');
}

/** How a failed step is named in the host's failure line. */
const STEP_LABEL: Partial<Record<HostStepId, string>> = { drain: 'drain workers', health: 'health gate', before_switch: 'before_switch hook', after_switch: 'after_switch hook', on_rollback: 'on_rollback hook' };

interface SwitchOptions {
  expectRelease: boolean;
  /** `lanes rollback`: on_rollback hooks after the switch, no before/after_switch hooks. */
  rollback: boolean;
  where: HookHosts;
  checkpoint: () => void;
  hookCtx: (host: string, dir: string, releaseId: string, previous: string | undefined) => HookContext;
}

/**
 * Build hooks on one host, in releases/<id>: the directory belongs to release.user while they run, then
 * is sealed (owner:group, not writable by group or others, no set-id bits) and marked built with a
 * digest of the hooks, so a release built before with the same hooks is not built again. After a
 * failure the build phase removes the release wherever this run unpacked it (it never went live).
 */
async function buildHost(s: HostSession, st: HostState, hooks: Hook[], run: Runner, ctx: HookContext, checkpoint: () => void): Promise<void> {
  const dir = ctx.releaseDir;
  const digest = createHash('sha256').update(JSON.stringify(hooks.map((h) => [h.run, h.user, h.env]))).digest('hex').slice(0, 16);
  const marker = `${dir}/${BUILT_MARKER}`;
  const built = await run(s, `cat ${shq(marker)} 2>/dev/null || true`);
  if (built.stdout.trim() === digest) {
    s.ctx.bus.emit({ type: 'message', level: 'info', host: s.host, text: `build: ${st.target} was built before with the same hooks` });
    return;
  }
  const users = [...new Set(hooks.map((h) => h.user))].filter((u) => u !== st.spec.owner);
  if (users.length > 0) {
    // One user may own the release while it builds (the first that is not the owner).
    await s.ctx.step(`build: ${dir} to ${users[0]}`, async () => {
      const r = await run(s, `chown -hR ${shq(users[0]!)} ${shq(dir)}`);
      if (r.code !== 0) throw new LanesError(`cannot hand ${dir} to ${users[0]} for the build: ${humanLines(r.stderr) || `exit ${r.code}`}`, { kind: 'exec', host: s.host });
    });
  }
  for (const h of hooks) {
    checkpoint();
    await runHook(s, h, ctx);
  }
  await s.ctx.step(`seal ${st.target}`, async () => {
    const r = await run(s, sealScript(st.spec, dir, digest));
    if (r.code !== 0) throw new LanesError(`cannot seal ${dir}: ${humanLines(r.stderr) || `exit ${r.code}`}`, { kind: 'exec', host: s.host });
  });
}

/** The marker of a built release: the digest of the build hooks it was built with. */
export const BUILT_MARKER = '.lanes-built';

/** After the build: the release is the owner's again, read-only for group and others, no set-id bits. */
export function sealScript(spec: Pick<ReleaseSpec, 'owner' | 'group'>, dir: string, digest: string): string {
  return [
    'set -e',
    `chown -hR ${shq(`${spec.owner}:${spec.group}`)} ${shq(dir)}`,
    // -R does not follow links met on the way; the links themselves keep their (irrelevant) modes.
    `chmod -R go-w,ug-s,-t ${shq(dir)}`,
    `printf '%s\\n' ${shq(digest)} > ${shq(`${dir}/${BUILT_MARKER}`)}`,
  ].join('\n');
}

/**
 * One host's switch, with rollback on any failure: the per-host steps of the step table
 * (agent/rollout/steps.ts, HOST_STEPS) in order, then on failure ROLLBACK_STEPS. A failure at any step
 * leaves the host as it was before: the previous `current` (or none, for a first release), FPM
 * reloaded onto it, and exactly the workers that were running before the drain running again — then
 * proved by the health gate and the worker checks.
 */
async function switchHost(s: HostSession, st: HostState, run: Runner, o: SwitchOptions): Promise<void> {
  const target = st.target!;
  const previous = st.current;
  if (previous === target) {
    s.summary = `${target} already live`;
    s.data = { host: s.host, release: target, previous, outcome: 'already live' } satisfies HostRelease;
    return;
  }
  const fpm = st.fpm;
  if (!fpm) throw new LanesError('php-fpm is not installed', { host: s.host });
  const host = s.host;
  const spec = withExpect(st.spec, o.expectRelease ? target : undefined);
  // Drains and starts are bounded by the workers' own stopwaitsecs / TimeoutStopSec (plus a margin),
  // which may well be longer than --timeout (600 s in site.yml): never by --timeout.
  const NO_LIMIT = st.drainMs;
  // Runs a framed script as a step; `check` turns its frames into a sentence-bearing LanesError.
  const framed = async <T>(name: string, script: FramedScript, check: (out: string, nonce: string) => T, timeoutMs?: number): Promise<T> =>
    s.ctx.step(name, async () => {
      const r = await run(s, script.text, undefined, timeoutMs);
      const result = check(r.stdout, script.nonce);
      if (r.code !== 0) throw new LanesError(`${name} failed (exit ${r.code})${humanLines(r.stderr) ? `: ${humanLines(r.stderr)}` : ''}`, { kind: 'exec', host });
      return result;
    });
  const reload = (label: string) =>
    spec.reload === 'opcache-reset'
      ? framed(`opcache reset${label}`, opcacheResetScript(spec.pools), (out, n) => {
          const o = parseOpcache(out, n);
          if (!o.ok) throw new LanesError(`OPcache reset failed: ${opcacheFailureMessage(o)}`, { kind: 'exec', host });
        })
      : framed(`reload php-fpm${label}`, fpmReloadScript({ fpmUnit: fpm.unit, fpmBinary: fpm.binary, confFile: fpm.confFile }), (out, n) => {
          const r = parseReload(out, n);
          if (!r.ok) throw new LanesError(`php-fpm reload failed: ${reloadFailureMessage(r)}`, { kind: 'exec', host });
        });
  const gate = (label: string, releaseId: string, gspec: ReleaseSpec) =>
    framed(`health gate${label}`, healthScript(gspec, { releaseId, fpmUnit: fpm.unit }), (out, n) => {
      const h = parseHealth(out, n);
      if (!h.ok) throw new LanesError(`health gate failed: ${healthFailureMessage(h)}`, { kind: 'exec', host });
    });
  const workersStep = (name: string, script: FramedScript) =>
    framed(
      name,
      script,
      (out, n) => {
        const w = parseWorkers(out, n);
        if (!w.ok) throw new LanesError(`${name} failed: ${w.message}`, { kind: 'exec', host, cause: w });
        return w;
      },
      NO_LIMIT,
    );
  const hooksHere = (point: HookPoint) => st.spec.hooks[point].filter((h) => hostsOfHook(h, o.where).includes(host));
  const runHooks = async (point: HookPoint, releaseId: string, before: string | undefined) => {
    // Only a hook before the switch is stopped by a cancel; after it, the host goes on to the end
    // (after_switch) or back to where it was (on_rollback) whatever happens to the run.
    const ctx = o.hookCtx(host, releaseDir(spec, releaseId), releaseId, before);
    for (const h of hooksHere(point)) await runHook(s, h, point === 'before_switch' ? ctx : { ...ctx, signal: undefined });
  };
  // Which workers to bring back on failure: those running before the drain (all declared ones until
  // the drain has said, so that a lost connection mid-drain errs on the side of starting them).
  let restore = spec.workers;
  let switched = false;
  let startedOnTarget = false;
  let failedStep = '';
  const forward: Record<HostStepId, () => Promise<void>> = {
    drain: async () => {
      const drain = drainScript(spec);
      await s.ctx.step('drain workers', async () => {
        const r = await run(s, drain.text, undefined, NO_LIMIT);
        const w = parseWorkers(r.stdout, drain.nonce);
        if (w.workers.length > 0 || w.wasRunning.length > 0) restore = onlyWorkers(spec, w.wasRunning);
        if (!w.ok || r.code !== 0) throw new LanesError(`drain failed: ${w.message}`, { kind: 'exec', host });
      });
    },
    before_switch: () => runHooks('before_switch', target, previous),
    switch: async () => {
      const sw = switchScript(spec, target);
      await framed(`switch current → ${target}`, sw, (out, n) => {
        if (!parseFrames(out, n).some((f) => f.kind === 'switched')) throw new LanesError(`current could not be switched to ${target}`, { kind: 'exec', host });
      });
      switched = true;
    },
    on_rollback: () => runHooks('on_rollback', target, previous),
    reload: () => reload('').then(() => undefined),
    health: () => gate('', target, spec).then(() => undefined),
    after_switch: () => runHooks('after_switch', target, previous),
    'start workers': async () => {
      startedOnTarget = true;
      // The switch time is the `current` symlink's own mtime, read on the host by the undrain script.
      await workersStep('start workers', undrainScript(spec, { releaseDir: releaseDir(spec, target), switchedAt: 0 }));
    },
    record: async () => {
      await appendHistory(s, st, run, { release: target, event: st.record.liveEvent, previous: previous ?? null });
    },
  };
  try {
    for (const step of HOST_STEPS.filter(applies({ rollback: o.rollback }))) {
      // The health gate is not interrupted by a cancel: a host that passed it goes on to the end.
      if (step.id !== 'drain' && step.id !== 'after_switch' && step.id !== 'start workers' && step.id !== 'record') o.checkpoint();
      failedStep = STEP_LABEL[step.id] ?? step.id;
      await forward[step.id]();
    }
    st.current = target;
    st.history.push(target);
    s.summary = `${target} live${previous ? ` (was ${previous})` : ''}`;
    s.data = { host: s.host, release: target, previous, outcome: 'switched' } satisfies HostRelease;
  } catch (err) {
    const why = errorLineForHost(err, host);
    const done: string[] = [];
    const broken: string[] = [];
    // Each part of the rollback is tried even when an earlier one failed: a worker is never left
    // stopped because FPM did not reload, nor the reverse.
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (e) {
        broken.push(`${what}: ${errorLineForHost(e, host).replace(/^[a-z -]+ failed: /, '')}`);
        return false;
      }
    };
    let codeBack = !switched;
    const back: Record<RollbackStepId, () => Promise<void>> = {
      'switch back': async () => {
        if (switched && previous) {
          codeBack = await attempt(`switching current back to ${previous}`, () => framed(`rollback current → ${previous}`, switchScript(spec, previous), () => undefined));
          if (codeBack) done.push(`rolled back to ${previous}`);
        } else if (switched) {
          codeBack = await attempt('removing current (there was none before)', () => framed('rollback: remove current', unswitchScript(spec, target), () => undefined));
          if (codeBack) done.push('current removed again (there was no release before)');
        }
      },
      on_rollback: async () => {
        if (!(switched && previous && codeBack) || hooksHere('on_rollback').length === 0) return;
        if (await attempt('the on_rollback hooks', () => runHooks('on_rollback', previous, target))) done.push('on_rollback hooks ran');
      },
      reload: async () => {
        if (switched && codeBack && (await attempt('reloading php-fpm onto it', () => reload(' (rollback)')))) done.push('php-fpm reloaded');
      },
      // Workers may already run the failed release: stop every declared one (stopped ones are a no-op).
      'stop workers': async () => {
        if (startedOnTarget) await attempt('stopping workers started on the failed release', () => workersStep('drain workers (rollback)', drainScript(spec)));
      },
      'start workers': async () => {
        const restoreNames = workerNames(restore);
        if (!restoreNames) return;
        // Exactly the workers that ran before, on what is live again (nothing to prove when nothing is).
        const ok = await attempt(`starting ${restoreNames} again`, () =>
          workersStep('start workers (rollback)', undrainScript({ ...spec, workers: restore }, { releaseDir: previous ? `${spec.path}/current` : null, switchedAt: 0 })),
        );
        if (ok) done.push(`${restoreNames} running again`);
      },
      // The rollback is a release too: the previous release must pass the gate again.
      health: async () => {
        if (switched && previous && codeBack) {
          if (await attempt('health gate after the rollback', () => gate(' (rollback)', previous, withExpect(st.spec, o.expectRelease ? previous : undefined)))) done.push('health gate passed');
        }
      },
    };
    for (const step of ROLLBACK_STEPS.filter(applies({ rollback: o.rollback }))) await back[step.id]();
    const outcome = [...(switched ? [] : ['current was never switched']), ...done, ...(broken.length ? [`rollback incomplete: ${broken.join('; ')}`] : [])].join(', ');
    const message = `${failedStep}: ${why.replace(/^[a-z -]+ failed: /, '')} — ${outcome}`;
    await appendHistory(s, st, run, { release: target, event: 'failed', previous: previous ?? null, reason: message });
    // notify: an automatic rollback of this host
    s.ctx.bus.emit(releaseEvent({ event: 'rolled-back', operation: st.record.liveEvent === 'live' ? 'release' : 'rollback', release: target, ...(previous ? { previous } : {}), host, step: failedStep, reason: message }));
    throw new LanesError(message, { kind: 'exec', host });
  }
}

/**
 * One record in the host's release history, under the lease this run holds. The switch (or its
 * rollback) already happened: a history that cannot be written is a warning, never a failed host.
 */
async function appendHistory(s: HostSession, st: HostState, run: Runner, rec: Pick<HistoryRecord, 'release' | 'event' | 'previous' | 'reason'>): Promise<void> {
  let problem: string | undefined;
  try {
    const script = appendScript(st.spec, { ...rec, who: st.record.who, command: st.record.command, ...(st.record.source ? { source: st.record.source } : {}) });
    const r = await run(s, script.text);
    const a = parseAppend(r.stdout, script.nonce);
    if (!a.ok) problem = a.message;
  } catch (err) {
    problem = errorLineForHost(err, s.host);
  }
  if (problem) s.ctx.bus.emit({ type: 'message', level: 'warn', host: s.host, text: `the release history could not be written: ${problem}` });
}

/**
 * Where each host is after a cancelled run, read from the host itself (a rollback may not have
 * completed): "on <id>", "rolled back to <id>", "untouched (on <id>)"; one host-state message each.
 */
async function hostStates(session: Fleet, state: Map<string, HostState>, run: Runner): Promise<{ host: string; state: string }[]> {
  const out: { host: string; state: string }[] = [];
  for (const s of session.hosts) {
    const st = state.get(s.host);
    let line: string;
    if (!s.ctx || !st) line = 'not reached (no connection): unchanged by this run';
    else {
      let now: string | undefined;
      let read = true;
      try {
        const script = currentReleaseScript(st.spec);
        now = parseCurrentRelease((await run(s, script.text)).stdout, script.nonce).current;
      } catch {
        read = false;
      }
      const on = now ?? 'no release (current absent)';
      if (!read) line = `unknown: reading ${st.spec.path}/current failed${st.attempted ? ' (it was mid-release)' : ''}`;
      else if (st.attempted && now !== undefined && now === st.target) line = `on ${now}`;
      else if (st.attempted) line = now === undefined ? 'rolled back: no release is live (there was none before)' : `rolled back to ${now}`;
      else line = `untouched (on ${on})`;
    }
    out.push({ host: s.host, state: line });
    session.bus.emit({ type: 'message', level: 'info', host: s.host, code: 'host-state', data: { host: s.host, state: line }, text: `state: ${line}` });
  }
  return out;
}

function withExpect(spec: ReleaseSpec, releaseId?: string): ReleaseSpec {
  if (!spec.health.http || !releaseId) return spec;
  return { ...spec, health: { ...spec.health, http: { ...spec.health.http, expect: spec.health.http.expect ?? releaseId } } };
}

/** Atomic switch: a new symlink under a temp name, renamed over `current`. Frames `switched <ms>`. */
export function switchScript(spec: ReleaseSpec, id: string): FramedScript {
  const cur = `${spec.path}/current`;
  const tmp = `${spec.path}/.current.lanes-${process.pid}`;
  return framedScript(
    [
      `test -d ${shq(releaseDir(spec, id))} || { echo ${shq(`release directory ${releaseDir(spec, id)} does not exist`)} >&2; exit 1; }`,
      `ln -sfn ${shq(`releases/${id}`)} ${shq(tmp)} || exit 1`,
      `mv -fT ${shq(tmp)} ${shq(cur)} || exit 1`,
      `lanes_say switched "$(lanes_now_ms)"`,
    ],
    { doneKind: 'switched', tmpName: 'switch' },
  );
}

/** Undo a first release: remove `current` if it still points at `id` (there was none before). */
export function unswitchScript(spec: ReleaseSpec, id: string): FramedScript {
  const cur = `${spec.path}/current`;
  return framedScript(
    [`if [ "$(readlink ${shq(cur)})" = ${shq(`releases/${id}`)} ]; then rm -f ${shq(cur)} || exit 1; fi`, 'lanes_say unswitched'],
    { doneKind: 'unswitched', tmpName: 'switch' },
  );
}

/** The last lines of a command's stderr, on one line, for a sentence — never frames or base64. */
function humanLines(text: string): string {
  return text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('@@') && !/^[A-Za-z0-9+/=]{40,}$/.test(l.trim()))
    .slice(-2)
    .join(' | ');
}
