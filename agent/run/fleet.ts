/**
 * The one fleet runner. A run resolves every host's connection settings first (a bad inventory value
 * stops it before any connection), then does its work host by host through ONE limiter of `--forks`:
 * connecting, and every later phase of a multi-phase run, so at most `forks` hosts do work at once
 * whatever the phase (connection starts are paced further, per jump host: connect-limit.ts). A host
 * that fails is failed alone; the others go on. Host-start, step and host-end events all come from
 * here, so every renderer shows every command the same way.
 *
 * Two ways in:
 *   runFleet    one job per host: connect, run the job, end the host (its connection closes at once,
 *               so at most `forks` connections are open);
 *   Fleet.open  a phased run (a release): every host connected, connections kept across phases, each
 *               phase `each()` over the live hosts; `end()` ends every host once.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { LanesError, errorLineForHost } from '../errors.js';
import type { EventBus, RunSummary } from '../report/events.js';
import { connectPacing, type ConnectPacing } from '../transport/connect-limit.js';
import { SshConnection } from '../transport/connection.js';
import { hostKeyPreflight } from '../transport/host-key-policy.js';
import { resolveTarget, type ConnectOptions, type HostTarget } from '../transport/target.js';
import { CancelledError, cancelledBy } from './cancel.js';

export interface FleetHost {
  name: string;
  vars: Record<string, unknown>;
}

export interface HostContext {
  host: string;
  /** For jobs that report sub-steps as they stream in (e.g. the phases of one apply exec). */
  bus: EventBus;
  conn: SshConnection;
  /** How long connecting (handshake, host key check, authentication) took. */
  connectMs: number;
  /** Run `fn` as a named, timed step of this host's progress. */
  step<T>(name: string, fn: () => Promise<T>, detail?: (value: T) => string | undefined): Promise<T>;
}

export interface HostOutcome<T> {
  host: string;
  ok: boolean;
  ms: number;
  data?: T;
  error?: unknown;
}

export interface FleetResult<T> {
  ok: boolean;
  ms: number;
  hosts: HostOutcome<T>[];
  summary: RunSummary;
}

export interface FleetOptions extends ConnectOptions {
  /** Name of the command, for the run-start event ("ping", "facts", …). */
  command: string;
  bus: EventBus;
  /** How many hosts do work at once, in every phase (default 50, like `--forks`). */
  forks?: number;
  /** Aborted on the first Ctrl-C / SIGTERM / SIGHUP: hosts not started yet are not started. */
  signal?: AbortSignal;
}

export type HostJob<T> = (ctx: HostContext) => Promise<{ data?: T; summary?: string }>;

/** One host of a run. */
export interface HostSession {
  host: string;
  /** Set once the host is connected. */
  ctx: HostContext;
  /** Set when the host failed; later phases skip it. */
  failed?: unknown;
  /** One line for the host-end event. */
  summary?: string;
  data?: unknown;
}

interface HostRun extends HostSession {
  target: HostTarget;
  startedAt?: number;
  ended?: { ms: number };
}

/** Resolve every host's connection settings first: a bad inventory value stops the run before any connection. */
export function resolveTargets(hosts: FleetHost[], opts: ConnectOptions): HostTarget[] {
  return hosts.map((h) => resolveTarget(h.name, h.vars, opts));
}

export class Fleet {
  private readonly started = Date.now();
  private ended = false;

  private constructor(
    readonly bus: EventBus,
    readonly command: string,
    /** Every host of the run, in inventory order. */
    private readonly runs: HostRun[],
    private readonly limit: LimitFunction,
    private readonly pacing: ConnectPacing,
  ) {}

  /** Resolve every target, check host keys up front, announce the run; nothing connected yet. */
  static async start(hosts: FleetHost[], opts: FleetOptions): Promise<Fleet> {
    const forks = opts.forks ?? 50;
    if (!Number.isInteger(forks) || forks < 1) throw new LanesError(`--forks must be a whole number of at least 1, got ${forks}`);
    const pacing = connectPacing(opts.connectRate, opts.connectRetries);
    const targets = resolveTargets(hosts, opts);
    const hostKeys = await hostKeyPreflight(targets, opts.strictHostKeys === true);
    const runs: HostRun[] = targets.map((target) => ({ host: target.name, target, ctx: undefined as unknown as HostContext }));
    const fleet = new Fleet(opts.bus, opts.command, runs, pLimit(forks), pacing);
    fleet.bus.emit({ type: 'run-start', command: opts.command, hosts: hosts.map((h) => h.name) });
    if (hostKeys) fleet.bus.emit({ type: 'message', level: 'warn', code: 'host-keys-unchecked', text: hostKeys.text, data: { hosts: hostKeys.hosts } });
    return fleet;
  }

  /** Start the run and connect every host (at most `forks` at once); connections stay open until end(). */
  static async open(hosts: FleetHost[], opts: FleetOptions): Promise<Fleet> {
    const fleet = await Fleet.start(hosts, opts);
    await fleet.each((h) => fleet.connect(h), fleet.hosts);
    return fleet;
  }

  get hosts(): HostSession[] {
    return this.runs;
  }

  get live(): HostSession[] {
    return this.runs.filter((s) => !s.failed);
  }

  get failures(): HostSession[] {
    return this.runs.filter((s) => s.failed);
  }

  /** Connect one host (its `connect` step); the host's context is set on success. */
  async connect(s: HostSession): Promise<void> {
    const { target } = s as HostRun;
    const t0 = Date.now();
    const conn = await this.step(s.host, 'connect', () => SshConnection.open(target, this.pacing), (c) => (c.attempts > 1 ? `${c.attempts} attempts` : undefined));
    s.ctx = { host: s.host, bus: this.bus, conn, connectMs: Date.now() - t0, step: (name, fn, detail) => this.step(s.host, name, fn, detail) };
  }

  async step<T>(host: string, name: string, fn: () => Promise<T>, detail?: (v: T) => string | undefined): Promise<T> {
    const t0 = Date.now();
    this.bus.emit({ type: 'step-start', host, step: name });
    try {
      const v = await fn();
      this.bus.emit({ type: 'step-end', host, step: name, ok: true, ms: Date.now() - t0, detail: detail?.(v) });
      return v;
    } catch (err) {
      this.bus.emit({ type: 'step-end', host, step: name, ok: false, ms: Date.now() - t0, detail: errorLineForHost(err, host) });
      throw err;
    }
  }

  /**
   * Run `fn` on each host of `which` (default: the live ones), at most `forks` at once; a host that
   * throws is marked failed, the others go on. `endEach`: end each host as soon as its `fn` is done.
   */
  async each(fn: (s: HostSession) => Promise<void>, which: HostSession[] = this.live, endEach = false): Promise<void> {
    await Promise.all(
      which.map((s) =>
        this.limit(async () => {
          const run = s as HostRun;
          if (run.startedAt === undefined) {
            run.startedAt = Date.now();
            this.bus.emit({ type: 'host-start', host: s.host });
          }
          try {
            await fn(s);
          } catch (err) {
            s.failed = err;
          }
          if (endEach) {
            this.endHost(run);
            // Nothing uses an ended host's connection again: let its closed ssh2 client (cipher
            // state, buffers) be collected instead of keeping one per host until the run ends.
            run.ctx = undefined as unknown as HostContext;
          }
        }),
      ),
    );
  }

  /** End every host not ended yet, then the run; all connections are closed. */
  end(): { ok: boolean; summary: RunSummary; ms: number } {
    if (!this.ended) {
      this.ended = true;
      for (const s of this.runs) this.endHost(s);
    }
    const failures = this.failures.map((s) => ({ host: s.host, message: errorLineForHost(s.failed, s.host) }));
    const summary: RunSummary = { ok: this.runs.length - failures.length, failed: failures.length, failures };
    const ms = Date.now() - this.started;
    this.bus.emit({ type: 'run-end', ok: failures.length === 0, ms, summary });
    return { ok: failures.length === 0, summary, ms };
  }

  /** How long each host took, from its first work to its end. */
  msOf(s: HostSession): number {
    return (s as HostRun).ended?.ms ?? 0;
  }

  private endHost(s: HostRun): void {
    if (s.ended) return;
    const ms = Date.now() - (s.startedAt ?? this.started);
    s.ended = { ms };
    if (s.failed) {
      const kind = s.failed instanceof LanesError ? s.failed.kind : 'internal';
      // A failure may carry the host's result (`lanes run`: a non-zero exit with its output).
      const data = (s.failed as { hostData?: unknown } | undefined)?.hostData;
      this.bus.emit({ type: 'host-end', host: s.host, ok: false, ms, failure: { message: errorLineForHost(s.failed, s.host), kind }, data });
    } else this.bus.emit({ type: 'host-end', host: s.host, ok: true, ms, summary: s.summary, data: s.data });
    s.ctx?.conn?.close();
  }
}

/** One job on every host: connect, run it, end the host; at most `forks` hosts at once. */
export async function runFleet<T>(hosts: FleetHost[], job: HostJob<T>, opts: FleetOptions): Promise<FleetResult<T>> {
  const fleet = await Fleet.start(hosts, opts);
  await fleet.each(
    async (s) => {
      const by = cancelledBy(opts.signal);
      if (by) throw new CancelledError(by, s.host, 'not started, untouched: the run was cancelled');
      await fleet.connect(s);
      const { data, summary } = await job(s.ctx);
      s.data = data;
      s.summary = summary;
    },
    fleet.hosts,
    true,
  );
  const end = fleet.end();
  const hostOutcomes = fleet.hosts.map((s): HostOutcome<T> => (s.failed ? { host: s.host, ok: false, ms: fleet.msOf(s), error: s.failed } : { host: s.host, ok: true, ms: fleet.msOf(s), data: s.data as T }));
  return { ok: end.ok, ms: end.ms, hosts: hostOutcomes, summary: end.summary };
}
