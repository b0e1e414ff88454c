/**
 * `lanes release`: ship a new version with no failed request and no job killed mid-flight.
 *
 *   1. connect, lock every host (a lease naming the holder), reconcile the release layout
 *   2. upload + unpack the artifact to releases/<id> on ALL hosts before any switch
 *   3. batch by batch (serial): drain workers → switch `current` → graceful FPM reload (or OPcache
 *      reset) → health gate → start workers, proving they run the new release;
 *      a host failing any step is rolled back (previous `current`, reload, workers started);
 *      more failures than --max-fail stop the rollout, leaving untouched hosts untouched
 *   4. prune old releases, unlock
 *
 * Cancelled (the CLI's AbortSignal: Ctrl-C, SIGTERM, SIGHUP): no new host or step starts; a host
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
import type { FleetHost } from '../run/fleet.js';
import { FleetSession, type HostSession } from '../run/session.js';
import type { ConnectOptions } from '../transport/target.js';
import { currentReleaseScript, parseCurrentRelease, pruneScript, readArtifact, unpackScript, type Artifact } from './artifact.js';
import { healthFailureMessage, healthScript, parseHealth } from './health.js';
import { cancelledBy, isCancelled, throwIfCancelled } from '../run/cancel.js';
import { FleetLease } from '../run/lease.js';
import { drainLimitMs } from './drain-limit.js';
import { fpmReloadScript, opcacheFailureMessage, opcacheResetScript, parseOpcache, parseReload, reloadFailureMessage } from './reload.js';
import { batches, parseSerial } from './serial.js';
import { expectsRelease, releaseSpecFor } from './spec.js';
import { releaseDir, type ReleaseSpec } from './types.js';
import { drainScript, parseWorkers, undrainScript, workersFailureMessage } from './workers.js';
import { shq } from '../transport/quote.js';

export interface ReleaseOptions extends ConnectOptions {
  bus: EventBus;
  forks?: number;
  timeoutMs?: number;
  /** A directory or .tar.gz to ship; absent for a rollback. */
  artifact?: string;
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
  /** Limit for draining / starting workers: their own stop timeouts plus a margin (0: none). */
  drainMs: number;
  /** The host's switch began (for the state line of a cancelled run). */
  attempted?: boolean;
  current?: string;
  releases: { id: string; date: string }[];
  /** Releases that went live, oldest first (from <path>/.lanes-history). */
  history: string[];
  target?: string;
}

export interface ReleaseRun {
  ok: boolean;
  releaseId?: string;
  hosts: { host: string; ok: boolean; message?: string; result?: HostRelease }[];
  batches: string[][];
  stoppedEarly: boolean;
  /** The signal that cancelled the run; each host's `state` then says where it was left. */
  cancelled?: string;
  states?: { host: string; state: string }[];
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
  const artifact: Artifact | undefined = opts.artifact ? await readArtifact(opts.artifact) : undefined;

  const session = await FleetSession.open(hosts, { ...opts, command: opts.command ?? (artifact ? 'release' : 'rollback') });
  const state = new Map<string, HostState>();
  // Release scripts run as root and get their input (the artifact) on stdin.
  const run: Runner = (s, script, input, timeoutMs) => s.ctx.conn.exec(script, { become: true, stdin: input, timeoutMs: timeoutMs ?? opts.timeoutMs });
  let stoppedEarly = false;
  const cancelled = () => cancelledBy(opts.signal);
  const leases = new FleetLease({ bus: opts.bus, operation: session.command, waitMs: opts.lockWaitMs, breakLock: opts.breakLock, signal: opts.signal, timeoutMs: opts.timeoutMs });
  // Between steps on one host: stop when the run is cancelled or the host's lease was lost.
  const checkpoint = (host: string) => {
    throwIfCancelled(opts.signal, host);
    leases.assertHeld(host);
  };
  let states: { host: string; state: string }[] | undefined;
  try {
    // 1. lease + layout
    await session.each(async (s) => {
      const spec = specs.get(s.host)!;
      const st: HostState = { spec, desired: desired.get(s.host) ?? [], drainMs: drainLimitMs(spec, desired.get(s.host) ?? []), releases: [], history: [] };
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
      const cur = parseCurrentRelease((await s.ctx.step('read releases', () => run(s, currentReleaseScript(spec)))).stdout);
      st.current = cur.current;
      st.releases = cur.releases;
      st.history = (await run(s, `cat ${shq(historyFile(spec))} 2>/dev/null || true`)).stdout.split('\n').map((l) => l.split(' ')[1] ?? '').filter(Boolean);
    });

    // 2. upload everywhere before any switch
    if (artifact) {
      await session.each(async (s) => {
        const st = state.get(s.host)!;
        if (cancelled()) return;
        leases.assertHeld(s.host);
        await s.ctx.step(`upload ${artifact.id}`, async () => {
          const r = await run(s, unpackScript(st.spec, artifact), artifact.bytes);
          if (r.code !== 0) throw new LanesError(`upload of ${artifact.id} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`, { kind: 'exec', host: s.host });
        });
        st.target = artifact.id;
      });
    } else {
      await session.each(async (s) => {
        const st = state.get(s.host)!;
        if (cancelled()) return;
        st.target = opts.rollbackTo ?? previousRelease(st);
        if (!st.target) throw new LanesError('no earlier release to roll back to', { host: s.host });
        if (!st.releases.some((r) => r.id === st.target)) throw new LanesError(`release ${st.target} is not on this host (have: ${st.releases.map((r) => r.id).join(', ') || 'none'})`, { host: s.host });
      });
    }

    // 3. batches
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
      const members = session.live.filter((s) => batch.includes(s.host));
      await session.each(async (s) => {
        const st = state.get(s.host)!;
        if (cancelled() || !st.target) return;
        leases.assertHeld(s.host);
        st.attempted = true;
        await switchHost(s, st, run, expectsRelease(st.desired), () => checkpoint(s.host));
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

    if (cancelled()) states = await hostStates(session, state, run);

    // 4. prune, unlock
    await session.each(async (s) => {
      const st = state.get(s.host)!;
      if (cancelled()) return;
      const keep = [st.target, st.current].filter((x): x is string => !!x);
      await s.ctx.step('prune', () => run(s, pruneScript(st.spec, keep)));
    });
  } finally {
    await leases.releaseAll();
  }
  const end = session.end();
  return {
    ok: end.ok,
    releaseId: artifact?.id,
    batches: plan,
    stoppedEarly,
    cancelled: cancelled(),
    states,
    hosts: session.sessions.map((s) => ({
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

function historyFile(spec: ReleaseSpec): string {
  return `${spec.path}/.lanes-history`;
}

type Runner = (s: HostSession, script: string, input?: Buffer, timeoutMs?: number) => ReturnType<HostSession['ctx']['conn']['exec']>;

/** One host's switch, with rollback on any failure. */
async function switchHost(s: HostSession, st: HostState, run: Runner, expectRelease: boolean, checkpoint: () => void): Promise<void> {
  const target = st.target!;
  const previous = st.current;
  if (previous === target) {
    s.summary = `${target} already live`;
    s.data = { host: s.host, release: target, previous, outcome: 'already live' } satisfies HostRelease;
    return;
  }
  const fpm = st.fpm;
  if (!fpm) throw new LanesError('php-fpm is not installed', { host: s.host });
  const spec = withExpect(st.spec, expectRelease ? target : undefined);
  const step = async (name: string, script: string, check?: (out: string) => void, timeoutMs?: number) => {
    await s.ctx.step(name, async () => {
      const r = await run(s, script, undefined, timeoutMs);
      check?.(r.stdout);
      if (r.code !== 0) throw new LanesError(`${name} failed: ${lastLines(r.stderr || r.stdout)}`, { kind: 'exec', host: s.host });
    });
  };
  const reload = () =>
    spec.reload === 'opcache-reset'
      ? step('opcache reset', opcacheResetScript(spec.pools), (out) => {
          const o = parseOpcache(out);
          if (!o.ok) throw new LanesError(`OPcache reset failed: ${opcacheFailureMessage(o)}`, { kind: 'exec', host: s.host });
        })
      : step('reload php-fpm', fpmReloadScript({ fpmUnit: fpm.unit, fpmBinary: fpm.binary, confFile: fpm.confFile }), (out) => {
          const r = parseReload(out);
          if (!r.ok) throw new LanesError(`php-fpm reload failed: ${reloadFailureMessage(r)}`, { kind: 'exec', host: s.host });
        });
  // Drains and starts are bounded by the workers' own stopwaitsecs / TimeoutStopSec (plus a margin),
  // which may well be longer than --timeout (600 s in site.yml): never by --timeout.
  const NO_LIMIT = st.drainMs;
  let switched = false;
  let failedStep = '';
  try {
    failedStep = 'drain workers';
    await step(
      'drain workers',
      drainScript(spec),
      (out) => {
        const w = parseWorkers(out);
        if (!w.ok) throw new LanesError(`drain failed: ${workersFailureMessage(w)}`, { kind: 'exec', host: s.host });
      },
      NO_LIMIT,
    );
    checkpoint();
    failedStep = 'switch';
    let switchedAt = 0;
    await step(`switch current → ${target}`, switchScript(spec, target), (out) => {
      // The host's own clock: workers must have started after this moment to run the new code.
      switchedAt = Number(/^@@switched (\d+)$/m.exec(out)?.[1] ?? 0);
    });
    switched = true;
    checkpoint();
    failedStep = 'reload';
    await reload();
    checkpoint();
    failedStep = 'health gate';
    await s.ctx.step('health gate', async () => {
      const r = await run(s, healthScript(spec, { releaseId: target, fpmUnit: fpm.unit }));
      const h = parseHealth(r.stdout);
      if (!h.ok) throw new LanesError(`health gate failed: ${healthFailureMessage(h)}`, { kind: 'exec', host: s.host });
    });
    failedStep = 'start workers';
    await step(
      'start workers',
      undrainScript(spec, { releaseDir: releaseDir(spec, target), switchedAt }),
      (out) => {
        const w = parseWorkers(out);
        if (!w.ok) throw new LanesError(`workers: ${workersFailureMessage(w)}`, { kind: 'exec', host: s.host });
      },
      NO_LIMIT,
    );
    await run(s, `printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" ${shq(target)} >> ${shq(historyFile(spec))}`);
    st.current = target;
    s.summary = `${target} live${previous ? ` (was ${previous})` : ''}`;
    s.data = { host: s.host, release: target, previous, outcome: 'switched' } satisfies HostRelease;
  } catch (err) {
    const why = errorLineForHost(err, s.host);
    let rollback = 'nothing had changed';
    try {
      if (switched && previous) {
        await step(`rollback current → ${previous}`, switchScript(spec, previous));
        await reload();
        rollback = `rolled back to ${previous}`;
      } else if (switched) rollback = 'no previous release to roll back to';
      // Workers may already run on the failed release (when starting them was the failing step):
      // drain first — draining stopped workers is a no-op — then start them on the live release.
      await step('drain workers', drainScript(spec), undefined, NO_LIMIT);
      await step('start workers', undrainScript(spec, { releaseDir: `${spec.path}/current`, switchedAt: 0 }), undefined, NO_LIMIT);
    } catch (e) {
      rollback += `; rollback incomplete: ${errorLineForHost(e, s.host)}`;
    }
    throw new LanesError(`${failedStep}: ${why.replace(/^[a-z ]+failed: /, '')} — ${rollback}`, { kind: 'exec', host: s.host });
  }
}

/**
 * Where each host is after a cancelled run, read from the host itself (a rollback may not have
 * completed): "on <id>", "rolled back to <id>", "untouched (on <id>)"; one host-state message each.
 */
async function hostStates(session: FleetSession, state: Map<string, HostState>, run: Runner): Promise<{ host: string; state: string }[]> {
  const out: { host: string; state: string }[] = [];
  for (const s of session.sessions) {
    const st = state.get(s.host);
    let line: string;
    if (!s.ctx || !st) line = 'not reached (no connection): unchanged by this run';
    else {
      let now: string | undefined;
      try {
        now = parseCurrentRelease((await run(s, currentReleaseScript(st.spec))).stdout).current;
      } catch {
        now = undefined;
      }
      if (!now) line = `unknown: reading ${st.spec.path}/current failed${st.attempted ? ' (it was mid-release)' : ''}`;
      else if (st.attempted && now === st.target) line = `on ${now}`;
      else if (st.attempted) line = `rolled back to ${now}`;
      else line = `untouched (on ${now})`;
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

/** Atomic switch: a new symlink under a temp name, renamed over `current`. */
export function switchScript(spec: ReleaseSpec, id: string): string {
  const cur = `${spec.path}/current`;
  const tmp = `${spec.path}/.current.lanes-${process.pid}`;
  return [
    'set -e',
    `test -d ${shq(releaseDir(spec, id))}`,
    `ln -sfn ${shq(`releases/${id}`)} ${shq(tmp)}`,
    `mv -fT ${shq(tmp)} ${shq(cur)}`,
    `printf '@@switched %s\\n' "$(date +%s%3N)"`,
  ].join('\n');
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}

