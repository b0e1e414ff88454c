/**
 * Release notifications (`release.notify: [URL…]`, `--notify URL`): a subscriber of the run's event
 * bus, like a renderer. The engine emits `release-event` messages (started, finished, failed, and
 * each automatic rollback); the notifier POSTs each one as JSON to every URL:
 *
 *   { tool: 'lanes', event, operation, release, previous, host, step, reason, hosts, ok, failed, who, at }
 *
 * A notification is never worth a failed release: a refused connection, a timeout, a non-2xx answer
 * or a redirect (not followed: it could carry the body elsewhere) is one `notify` warning, and the exit
 * code is untouched. Webhook URLs carry tokens in their path and query (and may come from vault
 * vars), so only a URL's origin (scheme://host:port) is ever shown. Every text of the body passes
 * the secret masker, so a secret in a failure reason never leaves the controller.
 */
import { LanesError } from '../errors.js';
import type { EventBus, EventOf, LanesEvent, ReleaseEventData } from '../report/events.js';
import { secrets, type SecretMasker } from '../report/mask.js';

export const NOTIFY_TIMEOUT_MS = 5000;
const FLUSH_GRACE_MS = 250;

export interface NotifierOptions {
  bus: EventBus;
  /** Per POST, and for the whole of flush(). */
  timeoutMs?: number;
  /** Who runs the release (`holder@controller`, as the history records it). */
  who?: string;
  masker?: SecretMasker;
}

/** A message event for the bus: the engine emits these and the notifier sends them. */
export function releaseEvent(data: ReleaseEventData): Omit<EventOf<'message'>, 'at'> {
  return { type: 'message', level: 'info', code: 'release-event', text: releaseEventText(data), data };
}

/** One human line for the event, as the renderers show it. */
export function releaseEventText(d: ReleaseEventData): string {
  const what = `${d.operation} ${d.release}`;
  switch (d.event) {
    case 'started':
      return `${what} started${d.hosts?.length ? ` on ${d.hosts.join(', ')}` : ''}`;
    case 'finished':
      return `${what} finished: ${d.ok ?? d.hosts?.length ?? 0} host(s) ok`;
    case 'failed':
      // Each failing host's reason has its own FAILED line; only a failure of no host (a cancel) says why here.
      return d.hosts?.length ? `${what} failed on ${d.hosts.join(', ')}` : `${what} failed${d.reason ? `: ${d.reason}` : ''}`;
    case 'rolled-back':
      return `${what}: ${d.host ?? 'a host'} rolled back${d.previous ? ` to ${d.previous}` : ''} after ${d.step ?? 'a failure'}`;
  }
}

/** `scheme://host:port` of a URL: all of it that may be printed (tokens live in the path and query). */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(an invalid URL)';
  }
}

/** Whether `url` is an absolute http:// or https:// URL. */
export function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** Refuses a URL that is not http(s), without printing it (it may carry a token). */
export function checkNotifyUrls(urls: string[], from: string): void {
  urls.forEach((u, i) => {
    if (!isHttpUrl(u)) {
      throw new LanesError(`${from} #${i + 1} is not an http:// or https:// URL (its value is not shown: webhook URLs carry tokens)`);
    }
  });
}

export class Notifier {
  private readonly urls: string[];
  private readonly bus: EventBus;
  private readonly timeoutMs: number;
  private readonly who: string | undefined;
  private readonly masker: SecretMasker;
  /** One chain per URL, so that each URL gets the events in the order they happened. */
  private readonly chains = new Map<string, Promise<void>>();
  /** Aborted when flush() runs out of time: whatever is still queued or in flight gives up. */
  private readonly cutoff = new AbortController();
  private detach: (() => void) | undefined;

  constructor(urls: string[], opts: NotifierOptions) {
    this.urls = [...new Set(urls)];
    this.bus = opts.bus;
    this.timeoutMs = opts.timeoutMs ?? NOTIFY_TIMEOUT_MS;
    this.who = opts.who;
    this.masker = opts.masker ?? secrets;
    if (this.urls.length > 0) this.attach(opts.bus);
  }

  attach(bus: EventBus): void {
    this.detach?.();
    this.detach = bus.on((e) => this.onEvent(e));
  }

  /** Wait for every POST queued or in flight; at most about the timeout, then those left are given up (with a warning). */
  async flush(): Promise<void> {
    this.detach?.();
    this.detach = undefined;
    const all = Promise.all([...this.chains.values()]);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      // A little past the per-POST timeout, so that a POST already in flight ends by its own timeout.
      timer = setTimeout(resolve, this.timeoutMs + FLUSH_GRACE_MS);
    });
    await Promise.race([all, deadline]);
    clearTimeout(timer);
    if (!this.cutoff.signal.aborted) this.cutoff.abort();
    // Aborted POSTs settle at once (each one warns); never wait longer than that.
    await all;
  }

  private onEvent(e: LanesEvent): void {
    if (e.type !== 'message' || e.code !== 'release-event' || typeof e.data !== 'object' || e.data === null) return;
    const body = JSON.stringify(this.body(e.data as ReleaseEventData, e.at));
    for (const url of this.urls) {
      const prev = this.chains.get(url) ?? Promise.resolve();
      this.chains.set(
        url,
        prev.then(() => this.post(url, body, (e.data as ReleaseEventData).event)),
      );
    }
  }

  private body(d: ReleaseEventData, at: number): Record<string, unknown> {
    return this.masker.maskValue({
      tool: 'lanes',
      event: d.event,
      operation: d.operation,
      release: d.release,
      previous: d.previous,
      host: d.host,
      step: d.step,
      reason: d.reason,
      hosts: d.hosts,
      ok: d.ok,
      failed: d.failed,
      who: this.who,
      at: new Date(at).toISOString(),
    });
  }

  /** One POST; never throws: a failure is a warning naming the origin only. */
  private async post(url: string, body: string, event: string): Promise<void> {
    const origin = urlOrigin(url);
    let problem: string | undefined;
    if (this.cutoff.signal.aborted) problem = 'not sent: the run was over and earlier notifications to it had not finished';
    else {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'lanes' },
          body,
          redirect: 'manual',
          signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.cutoff.signal]),
        });
        // The answer's body is of no interest; release the connection.
        await res.body?.cancel().catch(() => undefined);
        if (res.status < 200 || res.status > 299) {
          problem = res.status >= 300 && res.status < 400 ? `answered ${res.status} (a redirect, not followed)` : `answered HTTP ${res.status}`;
        }
      } catch (err) {
        problem = fetchProblem(err, this.timeoutMs);
      }
    }
    if (problem === undefined) return;
    this.bus.emit({
      type: 'message',
      level: 'warn',
      code: 'notify',
      data: { origin, event },
      text: `notify: the ${event} notification to ${origin} failed: ${problem} (the release is not affected)`,
    });
  }
}

/** Why a fetch failed, in words, without the URL (undici's messages and causes never carry it, but be sure). */
function fetchProblem(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string; name?: string } };
  if (e.name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs / 100) / 10}s`;
  if (e.name === 'AbortError') return 'given up: the run was over';
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code) return code;
  return 'request failed';
}

/** The event that ends a run: `finished` when every host is fine, else `failed` naming the failing hosts and why. */
export function runOutcome(run: {
  operation: ReleaseEventData['operation'];
  release: string;
  previous?: string;
  hosts: string[];
  failures: { host: string; message: string }[];
  cancelled?: string;
  /** What failed the run after every host was released (an after_release hook). */
  problem?: string;
}): ReleaseEventData {
  const base = { operation: run.operation, release: run.release, ...(run.previous ? { previous: run.previous } : {}) };
  const ok = run.hosts.length - run.failures.length;
  if (run.failures.length === 0 && !run.cancelled && !run.problem) return { event: 'finished', ...base, hosts: run.hosts, ok, failed: 0 };
  const reasons = run.failures.map((f) => `${f.host}: ${f.message}`);
  if (run.cancelled) reasons.unshift(`cancelled by ${run.cancelled}`);
  if (run.problem) reasons.push(run.problem);
  return { event: 'failed', ...base, hosts: run.failures.map((f) => f.host), reason: reasons.join('; '), ok, failed: run.failures.length };
}
