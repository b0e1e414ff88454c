/**
 * Cancellation of a run: the CLI turns the first Ctrl-C / SIGTERM / SIGHUP into an aborted
 * AbortSignal (its reason is the signal's name) and the engine checks it between hosts and between
 * steps. Nothing in flight is killed: a remote step that has started runs to its end, then the
 * engine brings the host to a consistent state and stops.
 */
import { LanesError } from '../errors.js';

/** The signal name a run was cancelled by ('SIGTERM'…), or undefined while it is not cancelled. */
export function cancelledBy(signal: AbortSignal | undefined): string | undefined {
  if (!signal?.aborted) return undefined;
  return typeof signal.reason === 'string' ? signal.reason : 'cancel';
}

/** Thrown at a checkpoint of a cancelled run; the host's work stops there. */
export class CancelledError extends LanesError {
  constructor(
    readonly by: string,
    host?: string,
    what = 'cancelled',
  ) {
    super(`${what} (${by})`, { kind: 'exec', host });
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal: AbortSignal | undefined, host?: string, what?: string): void {
  const by = cancelledBy(signal);
  if (by) throw new CancelledError(by, host, what);
}

export function isCancelled(err: unknown): err is CancelledError {
  return err instanceof CancelledError;
}

/** Wait `ms`, or less when the run is cancelled meanwhile (never rejects). */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
