/**
 * Pacing of SSH connection starts (TCP connect → authenticated), apart from --forks.
 *
 * sshd's default `MaxStartups 10:30:100` drops unauthenticated connections beyond 10 at once
 * (randomly, 30% rising to 100% at 100), so 50 forks through one bastion trip it. Two defences:
 *   - a limit of starts in flight per jump host (the first hop: the one every start goes through),
 *     `--connect-rate`, default 8. Given explicitly, the same number also caps all direct
 *     connections together; by default direct starts are bounded by --forks only, because each
 *     goes to its own sshd (a cap of 8 would make a 300-host fleet connect several times slower
 *     while no sshd ever sees more than one start);
 *   - a start reset before authentication (the drop looks like that to the client) is retried with
 *     exponential backoff and jitter, a bounded number of times (`LANES_CONNECT_RETRIES`). A failure
 *     after the key exchange (authentication refused, a host key mismatch) is never retried.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { LanesError } from '../errors.js';
import { DEFAULT_CONNECT_RATE, DEFAULT_CONNECT_RETRIES } from './connect-defaults.js';
import type { HostTarget } from './target.js';

export { DEFAULT_CONNECT_RATE, DEFAULT_CONNECT_RETRIES };

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 4000;

/** Starts in flight per key: `rate` per jump host, `directRate` for the direct pool; 0 means no limit. One p-limit per key. */
export class ConnectLimiter {
  private readonly limits = new Map<string, LimitFunction>();

  constructor(
    readonly rate: number,
    readonly directRate = rate,
  ) {
    if (!Number.isInteger(rate) || rate < 0) throw new LanesError(`--connect-rate must be a whole number of at least 0, got ${rate}`, { hint: '0 means no limit; the default is 8' });
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.limitOf(key)(fn);
  }

  /** How many starts under `key` are in flight now. */
  active(key: string): number {
    return this.limits.get(key)?.activeCount ?? 0;
  }

  private limitOf(key: string): LimitFunction {
    let limit = this.limits.get(key);
    if (!limit) {
      const cap = key === DIRECT ? this.directRate : this.rate;
      this.limits.set(key, (limit = pLimit(cap === 0 ? Infinity : cap)));
    }
    return limit;
  }
}

const DIRECT = 'direct';

/** What a start counts against: the first jump host it passes through, or the pool of direct starts. */
export function connectKey(target: HostTarget): string {
  const jump = target.jumps[0];
  return jump ? `jump ${jump.user}@${jump.address}:${jump.port}` : DIRECT;
}

/** How connection starts are paced in one run. */
export interface ConnectPacing {
  limiter: ConnectLimiter;
  retries: number;
  /** Tests: the jitter source and the wait. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** `rate` undefined: the default per jump host, direct starts unpaced; given: both capped at it. */
export function connectPacing(rate?: number, retries = DEFAULT_CONNECT_RETRIES): ConnectPacing {
  if (!Number.isInteger(retries) || retries < 0) throw new LanesError(`LANES_CONNECT_RETRIES must be a whole number of at least 0, got ${retries}`);
  return { limiter: rate === undefined ? new ConnectLimiter(DEFAULT_CONNECT_RATE, 0) : new ConnectLimiter(rate), retries };
}

/** A start the server (or something on the way) reset before authentication: worth another try. */
export class ConnectResetError extends LanesError {
  constructor(
    message: string,
    host: string,
    readonly attempts = 1,
  ) {
    super(message, { kind: 'connect', host, hint: 'sshd drops connection starts past its MaxStartups: lower --connect-rate' });
    this.name = 'ConnectResetError';
  }
}

/**
 * Whether an ssh2 connect error is a reset before authentication: the socket was reset or closed
 * before the key exchange completed. `handshakeDone`: the key exchange finished (authentication then
 * started; whatever fails after that is not a dropped start).
 */
export function isResetBeforeAuth(err: Error & { code?: string; level?: string }, handshakeDone: boolean): boolean {
  if (handshakeDone || err.level === 'client-authentication') return false;
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return true;
  return /Connection lost before handshake|connection closed during handshake|read ECONNRESET|socket hang up/i.test(err.message);
}

/** The wait before attempt `attempt + 1`: exponential from 250 ms, capped at 4 s, with the upper half jittered. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Run `start` (one whole connection attempt) under the limiter, again after a reset before
 * authentication, at most `retries` more times. Resolves with the value and the attempts it took;
 * a last reset names how many attempts were made.
 */
export async function paced<T>(pacing: ConnectPacing, key: string, start: () => Promise<T>): Promise<{ value: T; attempts: number }> {
  const sleep = pacing.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await pacing.limiter.run(key, start), attempts: attempt };
    } catch (err) {
      if (!(err instanceof ConnectResetError)) throw err;
      if (attempt > pacing.retries) {
        throw attempt === 1 ? err : new ConnectResetError(`${err.message} (${attempt} attempts)`, err.host ?? '', attempt);
      }
      // The wait is outside the limiter: others may start meanwhile.
      await sleep(backoffMs(attempt, pacing.random));
    }
  }
}
