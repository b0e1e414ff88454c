/**
 * A multi-phase run over many hosts: one connection per host kept open across phases (a release
 * locks, uploads, then switches batch by batch), with the same events as runFleet so the same
 * renderers show it. Each host ends once, with its own outcome.
 */
import pLimit from 'p-limit';
import { LanesError, errorLineForHost } from '../errors.js';
import type { EventBus, RunSummary } from '../report/events.js';
import { SshConnection } from '../transport/connection.js';
import { hostKeyPreflight } from '../transport/host-key-policy.js';
import { resolveTarget, type ConnectOptions } from '../transport/target.js';
import type { FleetHost, HostContext } from './fleet.js';

export interface HostSession {
  host: string;
  ctx: HostContext;
  /** Set when the host failed; later phases skip it. */
  failed?: unknown;
  /** One line for the host-end event. */
  summary?: string;
  data?: unknown;
}

export class FleetSession {
  readonly sessions: HostSession[] = [];
  private readonly started = Date.now();
  private readonly hostStarted = new Map<string, number>();
  private ended = false;

  private constructor(
    readonly bus: EventBus,
    readonly command: string,
  ) {}

  /** Resolve every target first (bad input stops everything), then connect to all hosts in parallel. */
  static async open(hosts: FleetHost[], opts: ConnectOptions & { bus: EventBus; command: string; forks?: number }): Promise<FleetSession> {
    const targets = hosts.map((h) => resolveTarget(h.name, h.vars, opts));
    const hostKeys = await hostKeyPreflight(targets, opts.strictHostKeys === true);
    const s = new FleetSession(opts.bus, opts.command);
    s.bus.emit({ type: 'run-start', command: opts.command, hosts: hosts.map((h) => h.name) });
    if (hostKeys) s.bus.emit({ type: 'message', level: 'warn', code: 'host-keys-unchecked', text: hostKeys.text, data: { hosts: hostKeys.hosts } });
    const limit = pLimit(opts.forks ?? 50);
    await Promise.all(
      targets.map((t) =>
        limit(async () => {
          s.hostStarted.set(t.name, Date.now());
          s.bus.emit({ type: 'host-start', host: t.name });
          const session: HostSession = { host: t.name, ctx: undefined as unknown as HostContext };
          s.sessions.push(session);
          try {
            const t0 = Date.now();
            const conn = await s.step(t.name, 'connect', () => SshConnection.open(t));
            session.ctx = { host: t.name, bus: s.bus, conn, connectMs: Date.now() - t0, step: (name, fn, detail) => s.step(t.name, name, fn, detail) };
          } catch (err) {
            session.failed = err;
          }
        }),
      ),
    );
    // Keep the inventory order, whatever order connections finished in.
    s.sessions.sort((a, b) => hosts.findIndex((h) => h.name === a.host) - hosts.findIndex((h) => h.name === b.host));
    return s;
  }

  get live(): HostSession[] {
    return this.sessions.filter((s) => !s.failed);
  }

  get failures(): HostSession[] {
    return this.sessions.filter((s) => s.failed);
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

  /** Run `fn` on every live host in parallel; a host that throws is marked failed. */
  async each(fn: (s: HostSession) => Promise<void>, which: HostSession[] = this.live): Promise<void> {
    await Promise.all(
      which.map(async (s) => {
        try {
          await fn(s);
        } catch (err) {
          s.failed = err;
        }
      }),
    );
  }

  /** End every host (once) and the run; close all connections. */
  end(): { ok: boolean; summary: RunSummary; ms: number } {
    const failures = this.failures.map((s) => ({ host: s.host, message: errorLineForHost(s.failed, s.host) }));
    if (!this.ended) {
      this.ended = true;
      for (const s of this.sessions) {
        const ms = Date.now() - (this.hostStarted.get(s.host) ?? this.started);
        if (s.failed) {
          const kind = s.failed instanceof LanesError ? s.failed.kind : 'internal';
          this.bus.emit({ type: 'host-end', host: s.host, ok: false, ms, failure: { message: errorLineForHost(s.failed, s.host), kind } });
        } else this.bus.emit({ type: 'host-end', host: s.host, ok: true, ms, summary: s.summary, data: s.data });
        s.ctx?.conn?.close();
      }
    }
    const summary: RunSummary = { ok: this.sessions.length - failures.length, failed: failures.length, failures };
    const ms = Date.now() - this.started;
    this.bus.emit({ type: 'run-end', ok: failures.length === 0, ms, summary });
    return { ok: failures.length === 0, summary, ms };
  }
}
