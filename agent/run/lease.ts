/**
 * The one host lease every command that changes hosts takes (apply, release, rollback, drain,
 * undrain; `plan` takes none), at {@link LEASE_FILE} on each host, over the host's own connection:
 *
 *   acquire    on each host before any change; a lease of someone else is refused naming the holder,
 *              or waited for (`waitMs`, --lock-wait); an expired one is taken over and reported
 *              (a `lease-takeover` warning naming the previous holder); --break-lock removes any first
 *   heartbeat  while the run lives, every TTL/3, each held lease is renewed; a renewal that finds it
 *              gone or someone else's marks the host lost (`lease-lost`): the command stops starting
 *              steps there. A killed controller stops renewing, so its lease blocks for one TTL only.
 *   release    removes our lease; "not ours" / "absent" / an unlock that could not run are warnings
 *              naming the host (the lease then expires by itself within its TTL).
 *
 * The scripts themselves (atomic, guarded, host clock) are in agent/rollout/lock.ts.
 */
import { LanesError, errorLineForHost } from '../errors.js';
import type { EventBus } from '../report/events.js';
import {
  LEASE_FILE,
  acquireScript,
  breakScript,
  describeLease,
  lockHeldError,
  newLease,
  parseLockChange,
  parseLockOutput,
  releaseScript,
  renewLease,
  renewScript,
  type Lease,
  type LockScriptOutput,
} from '../rollout/lock.js';
import type { FramedScript } from '../remote/sh.js';
import type { SshConnection } from '../transport/connection.js';
import { pause, throwIfCancelled } from './cancel.js';
import type { HostContext, HostJob } from './fleet.js';

/** A controller that dies (SIGKILL, a lost CI runner) blocks the hosts this long at most. */
export const DEFAULT_LEASE_TTL_MS = 120_000;
/** How often a held lease is retried while waiting for another holder (--lock-wait). */
const WAIT_POLL_MS = 3_000;

export interface LeaseOptions {
  bus: EventBus;
  /** What the holder does: apply, release, rollback, drain, undrain (shown to whoever is refused). */
  operation: string;
  /** Lease length, default {@link DEFAULT_LEASE_TTL_MS}; a host may ask for its own in acquire(). */
  ttlMs?: number;
  /** How long to wait for another holder's lease before refusing (0: refuse at once). */
  waitMs?: number;
  /** Remove whatever lease a host has before taking ours (--break-lock). */
  breakLock?: boolean;
  signal?: AbortSignal;
  /** Limit for each lease script (they take milliseconds; the guard waits at most ~150 s). */
  timeoutMs?: number;
  /** Tests: another file than LEASE_FILE. */
  file?: string;
}

interface Held {
  host: string;
  conn: SshConnection;
  lease: Lease;
  ttlMs: number;
  /** Why the lease is no longer ours (set by the heartbeat). */
  lost?: string;
}

export class FleetLease {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private beatMs = Infinity;
  private beating: Promise<void> = Promise.resolve();
  private announced = false;
  private readonly file: string;

  constructor(private readonly opts: LeaseOptions) {
    this.file = opts.file ?? LEASE_FILE;
  }

  get ttlMs(): number {
    return this.opts.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  }

  /**
   * Take the lease on one host (a `lease` step). Throws a LanesError naming the holder when another
   * run holds it (after waiting up to `waitMs`), or a CancelledError when the run is cancelled first.
   */
  async acquire(ctx: Pick<HostContext, 'host' | 'conn' | 'step'>, ttlMs = this.ttlMs): Promise<void> {
    const { host, conn } = ctx;
    const { bus } = this.opts;
    throwIfCancelled(this.opts.signal, host, 'cancelled before the lease was taken');
    if (this.opts.breakLock) {
      const broken = await ctx.step('break lease', async () => this.exec(conn, breakScript(this.file), parseLockChange));
      if (broken.status === 'broken') {
        const who = broken.lease ? describeLease(broken.lease) : `an unreadable lease (${(broken.raw ?? '').slice(0, 120)})`;
        bus.emit({ type: 'message', level: 'warn', host, code: 'lease-broken', data: broken.lease, text: `--break-lock removed the lease of ${who}` });
      }
    }
    const deadline = Date.now() + (this.opts.waitMs ?? 0);
    let waited = false;
    for (;;) {
      const lease = newLease({ operation: this.opts.operation, ttlMs });
      const out = await ctx.step('lease', async () => this.exec(conn, acquireScript(this.file, lease), parseLockOutput));
      if (out.status !== 'held') {
        this.held.set(host, { host, conn, lease, ttlMs });
        if (out.status === 'acquired-expired') {
          const who = out.holder ? describeLease(out.holder) : `an unreadable lease (${(out.raw ?? '').slice(0, 120)})`;
          bus.emit({ type: 'message', level: 'warn', host, code: 'lease-takeover', data: out.holder, text: `took over an expired lease of ${who}` });
        }
        this.startHeartbeat(ttlMs);
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw lockHeldError(host, out.holder, out.raw);
      if (!waited) {
        waited = true;
        const who = out.holder ? describeLease(out.holder) : 'an unreadable lease';
        bus.emit({ type: 'message', level: 'info', host, code: 'lease-wait', data: out.holder, text: `waiting up to ${Math.ceil(left / 1000)}s for the lease held by ${who}` });
      }
      await pause(Math.min(WAIT_POLL_MS, left), this.opts.signal);
      throwIfCancelled(this.opts.signal, host, 'cancelled while waiting for the lease');
    }
  }

  /** Why work on `host` must stop (its lease was lost), or undefined while it is ours. */
  lostOn(host: string): string | undefined {
    return this.held.get(host)?.lost;
  }

  /** Throw when the lease on `host` was lost: no new step may start there. */
  assertHeld(host: string): void {
    const why = this.lostOn(host);
    if (why) throw new LanesError(`stopped: ${why}`, { kind: 'exec', host });
  }

  /** Remove our lease on one host (a `release lease` step), warning about anything but a clean release. */
  async release(host: string): Promise<void> {
    const h = this.held.get(host);
    if (!h) return;
    this.held.delete(host);
    if (this.held.size === 0) this.stopHeartbeat();
    await this.beating;
    const { bus } = this.opts;
    const t0 = Date.now();
    const end = (ok: boolean, detail: string) => bus.emit({ type: 'step-end', host, step: 'release lease', ok, ms: Date.now() - t0, detail });
    bus.emit({ type: 'step-start', host, step: 'release lease' });
    try {
      const r = await this.exec(h.conn, releaseScript(this.file, h.lease), parseLockChange);
      if (r.status === 'not-ours') {
        const who = r.lease ? describeLease(r.lease) : 'an unreadable lease';
        end(true, 'not ours any more');
        bus.emit({ type: 'message', level: 'warn', host, code: 'lease-release', data: r, text: `did not remove the lease: it is no longer ours but ${who}` });
      } else if (r.status === 'absent') {
        end(true, 'already gone');
        bus.emit({ type: 'message', level: 'warn', host, code: 'lease-release', data: r, text: 'the lease was already gone when this run ended (it had expired and was removed)' });
      } else end(true, 'released');
    } catch (err) {
      end(false, errorLineForHost(err, host));
      bus.emit({
        type: 'message',
        level: 'warn',
        host,
        code: 'lease-release',
        text: `could not remove the lease (${errorLineForHost(err, host)}); it expires by itself at ${h.lease.expires}`,
      });
    }
  }

  /** Release every lease still held (in parallel); stops the heartbeat. */
  async releaseAll(): Promise<void> {
    this.stopHeartbeat();
    await Promise.all([...this.held.keys()].map((h) => this.release(h)));
  }

  /** Run a lease script (as root) and read its frames. */
  private async exec<T>(conn: SshConnection, script: FramedScript, parse: (out: LockScriptOutput, nonce: string) => T): Promise<T> {
    return parse(await conn.exec(script.text, { become: true, timeoutMs: this.opts.timeoutMs }), script.nonce);
  }

  private startHeartbeat(ttlMs: number): void {
    if (!this.announced) {
      this.announced = true;
      this.opts.bus.emit({
        type: 'message',
        level: 'info',
        code: 'lease',
        data: { ttlMs, renewMs: Math.floor(ttlMs / 3) },
        text: `lease ${LEASE_FILE === this.file ? '' : `${this.file} `}held for ${Math.round(ttlMs / 1000)}s, renewed every ${Math.round(ttlMs / 3000)}s while this run lives`,
      });
    }
    // One beat for all hosts, at a third of the shortest lease: two renewals may fail before it expires.
    const every = Math.max(1000, Math.floor(Math.min(ttlMs, ...[...this.held.values()].map((h) => h.ttlMs)) / 3));
    if (this.timer && every >= this.beatMs) return;
    this.stopHeartbeat();
    this.beatMs = every;
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.renewAll());
    }, every);
    // A heartbeat must never keep a finished process alive.
    this.timer.unref();
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renewAll(): Promise<void> {
    await Promise.all([...this.held.values()].filter((h) => !h.lost).map((h) => this.renew(h)));
  }

  private async renew(h: Held): Promise<void> {
    const { bus } = this.opts;
    const renewed = renewLease(h.lease, h.ttlMs);
    try {
      const r = await this.exec(h.conn, renewScript(this.file, renewed), parseLockChange);
      if (r.status === 'renewed') {
        h.lease = renewed;
        return;
      }
      const now = r.lease ? `it is now held by ${describeLease(r.lease)}` : 'it is gone (expired and removed)';
      this.markLost(h, `the lease was lost: ${now}`);
    } catch (err) {
      // The host may be briefly unreachable; the lease survives two missed beats. Past its expiry
      // (by our clock) it must be taken as lost: another run may hold the host now.
      if (Date.parse(h.lease.expires) <= Date.now()) this.markLost(h, `the lease expired: renewing it failed (${errorLineForHost(err, h.host)})`);
      else bus.emit({ type: 'message', level: 'warn', host: h.host, code: 'lease-lost', text: `renewing the lease failed, retrying: ${errorLineForHost(err, h.host)}` });
    }
  }

  private markLost(h: Held, why: string): void {
    if (h.lost) return;
    h.lost = why;
    this.opts.bus.emit({ type: 'message', level: 'warn', host: h.host, code: 'lease-lost', text: `${why}; no new step starts on this host` });
  }
}

/**
 * A runFleet job run under the lease: taken on the host before `job` starts, released when it ends
 * (the host's connection closes with the job). `ttlMs` may depend on the host (its release block).
 */
export function underLease<T>(lease: FleetLease, job: HostJob<T>, ttlMs?: (host: string) => number | undefined): HostJob<T> {
  return async (ctx) => {
    await lease.acquire(ctx, ttlMs?.(ctx.host) ?? lease.ttlMs);
    try {
      return await job(ctx);
    } finally {
      await lease.release(ctx.host);
    }
  };
}
