/**
 * Runs one job on every selected host: all hosts in parallel (up to `forks`), one SSH connection per
 * host for the whole job, and a failure on one host never stops the others. Every step is reported on
 * the event bus, so renderers show live progress and the final summary names each failed host.
 */
import pLimit from 'p-limit';
import { LanesError, errorLineForHost } from '../errors.js';
import type { EventBus, RunSummary } from '../report/events.js';
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
  /** How many hosts at once (default 50, like `--forks`). */
  forks?: number;
  /** Aborted on the first Ctrl-C / SIGTERM / SIGHUP: hosts not started yet are not started. */
  signal?: AbortSignal;
}

export type HostJob<T> = (ctx: HostContext) => Promise<{ data?: T; summary?: string }>;

/** Resolve every host's connection settings first: a bad inventory value stops the run before any connection. */
export function resolveTargets(hosts: FleetHost[], opts: ConnectOptions): HostTarget[] {
  return hosts.map((h) => resolveTarget(h.name, h.vars, opts));
}

export async function runFleet<T>(hosts: FleetHost[], job: HostJob<T>, opts: FleetOptions): Promise<FleetResult<T>> {
  const forks = opts.forks ?? 50;
  if (!Number.isInteger(forks) || forks < 1) throw new LanesError(`--forks must be a whole number of at least 1, got ${forks}`);
  const targets = resolveTargets(hosts, opts);
  const hostKeys = await hostKeyPreflight(targets, opts.strictHostKeys === true);
  const { bus } = opts;
  const started = Date.now();
  bus.emit({ type: 'run-start', command: opts.command, hosts: hosts.map((h) => h.name) });
  if (hostKeys) bus.emit({ type: 'message', level: 'warn', code: 'host-keys-unchecked', text: hostKeys.text, data: { hosts: hostKeys.hosts } });
  const limit = pLimit(forks);
  const outcomes = await Promise.all(targets.map((t) => limit(() => runHost(t, job, bus, opts.signal))));
  const failures = outcomes.filter((o) => !o.ok).map((o) => ({ host: o.host, message: errorLineForHost(o.error, o.host) }));
  const summary: RunSummary = { ok: outcomes.length - failures.length, failed: failures.length, failures };
  const ms = Date.now() - started;
  bus.emit({ type: 'run-end', ok: failures.length === 0, ms, summary });
  return { ok: failures.length === 0, ms, hosts: outcomes, summary };
}

async function runHost<T>(target: HostTarget, job: HostJob<T>, bus: EventBus, signal?: AbortSignal): Promise<HostOutcome<T>> {
  const host = target.name;
  const started = Date.now();
  bus.emit({ type: 'host-start', host });
  const by = cancelledBy(signal);
  if (by) {
    const error = new CancelledError(by, host, 'not started, untouched: the run was cancelled');
    bus.emit({ type: 'host-end', host, ok: false, ms: 0, failure: { message: errorLineForHost(error, host), kind: error.kind } });
    return { host, ok: false, ms: 0, error };
  }
  const step = async <V>(name: string, fn: () => Promise<V>, detail?: (value: V) => string | undefined): Promise<V> => {
    const t0 = Date.now();
    bus.emit({ type: 'step-start', host, step: name });
    try {
      const value = await fn();
      bus.emit({ type: 'step-end', host, step: name, ok: true, ms: Date.now() - t0, detail: detail?.(value) });
      return value;
    } catch (err) {
      bus.emit({ type: 'step-end', host, step: name, ok: false, ms: Date.now() - t0, detail: errorLineForHost(err, host) });
      throw err;
    }
  };
  let conn: SshConnection | undefined;
  try {
    const t0 = Date.now();
    conn = await step('connect', () => SshConnection.open(target));
    const { data, summary } = await job({ host, bus, conn, connectMs: Date.now() - t0, step });
    const ms = Date.now() - started;
    bus.emit({ type: 'host-end', host, ok: true, ms, summary, data });
    return { host, ok: true, ms, data };
  } catch (error) {
    const ms = Date.now() - started;
    const kind = error instanceof LanesError ? error.kind : 'internal';
    // A failure may carry the host's result (`lanes run`: a non-zero exit with its output).
    const data = (error as { hostData?: unknown } | undefined)?.hostData;
    bus.emit({ type: 'host-end', host, ok: false, ms, failure: { message: errorLineForHost(error, host), kind }, data });
    return { host, ok: false, ms, error };
  } finally {
    conn?.close();
  }
}
