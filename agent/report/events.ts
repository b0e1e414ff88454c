/**
 * The typed event stream every command emits. Renderers (listr2 on a terminal, plain lines for CI
 * logs, JSON lines for machines) only ever consume these events, so the engine never prints.
 */

export interface HostFailure {
  /** One line, naming what failed and why. */
  message: string;
  kind: string;
}

export type LanesEvent =
  | { type: 'run-start'; command: string; hosts: string[]; at: number }
  | { type: 'host-start'; host: string; at: number }
  | { type: 'step-start'; host: string; step: string; at: number }
  | { type: 'step-end'; host: string; step: string; ok: boolean; ms: number; detail?: string; at: number }
  | { type: 'host-output'; host: string; text: string; at: number }
  | { type: 'host-end'; host: string; ok: boolean; ms: number; summary?: string; failure?: HostFailure; data?: unknown; at: number }
  | { type: 'message'; level: 'info' | 'warn'; text: string; host?: string; code?: MessageCode; data?: unknown; at: number }
  | { type: 'run-end'; ok: boolean; ms: number; summary: RunSummary; at: number };

/**
 * What a message is about, for machines reading `--json` (people read `text`):
 *   cancel          the first Ctrl-C / SIGTERM / SIGHUP: no new host or step starts
 *   host-state      after a cancelled run, where one host was left (`data`: {host, state})
 *   lease           the run's lease terms (`data`: {ttlMs, renewMs})
 *   lease-wait      waiting for another holder's lease (--lock-wait)
 *   lease-takeover  an expired lease of someone else was replaced (`data`: the previous lease)
 *   lease-broken    --break-lock removed a lease (`data`: the removed lease)
 *   lease-lost      a renewal found the lease gone or someone else's: work on that host stops
 *   lease-release   the unlock found the lease not ours, already absent, or could not run
 *   host-keys-unchecked  hosts whose SSH key is accepted without any check this run (`data`: {hosts})
 *   artifact        what a release ships (`data`: {id, sha256, source}; source.kind git has commit and ref)
 *   release-event   a release or rollback started, finished, failed, or rolled a host back (`data`:
 *                   {@link ReleaseEventData}); what `release.notify` / `--notify` POST (agent/rollout/notify.ts)
 *   notify          a notification could not be delivered (`data`: {origin}; never the URL's path or query)
 */
export type MessageCode =
  | 'cancel'
  | 'host-state'
  | 'lease'
  | 'lease-wait'
  | 'lease-takeover'
  | 'lease-broken'
  | 'lease-lost'
  | 'lease-release'
  | 'host-keys-unchecked'
  | 'artifact'
  | 'release-event'
  | 'notify';

/** The `data` of a `release-event` message: what a team's chat or APM is told about a release. */
export interface ReleaseEventData {
  event: 'started' | 'finished' | 'failed' | 'rolled-back';
  operation: 'release' | 'rollback';
  release: string;
  /** The release live before (for rolled-back: the one the host returned to). */
  previous?: string;
  /** rolled-back: the host rolled back. */
  host?: string;
  /** rolled-back: the step that failed. */
  step?: string;
  /** rolled-back and failed: why, one line. */
  reason?: string;
  /** started: every host; finished: every host; failed: the failing hosts. */
  hosts?: string[];
  ok?: number;
  failed?: number;
}

export interface RunSummary {
  ok: number;
  failed: number;
  /** Hosts that failed, each with its one-line reason. */
  failures: { host: string; message: string }[];
}

export type EventOf<T extends LanesEvent['type']> = Extract<LanesEvent, { type: T }>;

/** Distributes {@link LanesEvent}s to subscribers; a tiny synchronous bus. */
export class EventBus {
  private readonly listeners: ((e: LanesEvent) => void)[] = [];

  on(listener: (e: LanesEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  emit(event: DistributiveOmit<LanesEvent, 'at'>): void {
    const full = { ...event, at: Date.now() } as LanesEvent;
    for (const l of this.listeners) l(full);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
