/** Wire a command's event bus to the renderer the output stream calls for, and map results to exit codes. */
import { EventBus } from '../agent/report/events.js';
import type { ChooseRendererOptions } from '../agent/report/choose.js';
import type { Renderer } from '../agent/report/renderer.js';

/** Exit codes of a run ended by a signal (128 + its number, as shells report it). */
const SIGNAL_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type CancelSignal = keyof typeof SIGNAL_CODES;

/** The signal that cancelled this process's run, if any. */
let cancelledBy: CancelSignal | undefined;

/** The exit code a cancelled run must end with (130, 143, 129), or undefined when not cancelled. */
export function cancelExitCode(): number | undefined {
  return cancelledBy ? SIGNAL_CODES[cancelledBy] : undefined;
}

export interface RenderOptions {
  /**
   * The work takes the AbortSignal and brings hosts to a consistent state when it is aborted
   * (commands that change hosts). Otherwise (read-only commands) a signal ends the process at once.
   */
  cancellable?: boolean;
}

type Work<T> = (bus: EventBus, signal: AbortSignal) => Promise<T>;

/**
 * Run `work` with a renderer attached to a fresh bus. Exit code: 0 when every host succeeded,
 * 1 when any failed (the renderer has already printed one line per failed host), 130/143/129 when a
 * signal cancelled the run.
 */
export async function withRenderer(json: boolean, work: Work<{ ok: boolean }>, opts: RenderOptions = {}): Promise<number> {
  const result = await attach(await loadRenderer({ json }), work, opts);
  return cancelExitCode() ?? (result.ok ? 0 : 1);
}

/**
 * For commands whose real output (a plan) is printed to stdout afterwards: progress goes to stderr
 * (live on a terminal, plain lines otherwise). With --json, stdout carries the event stream instead,
 * as for every command, and the per-host results are in the `host-end` events' `data`.
 */
export async function withProgress<T>(json: boolean, work: Work<T>, opts: RenderOptions = {}): Promise<T> {
  return attach(await loadRenderer(json ? { json: true } : { stream: process.stderr }), work, opts);
}

/** The renderer is loaded when a command runs, not when lanes starts, and only the one chosen (listr2 only for a terminal). */
async function loadRenderer(options: ChooseRendererOptions): Promise<Renderer> {
  const { chooseRenderer } = await import('../agent/report/choose.js');
  return chooseRenderer(options);
}

async function attach<T>(renderer: Renderer, work: Work<T>, opts: RenderOptions): Promise<T> {
  const bus = new EventBus();
  renderer.attach(bus);
  const controller = new AbortController();
  // What the second signal must name: the step each host is in, and how long our leases outlive us.
  const midStep = new Map<string, string>();
  let leaseTtlMs: number | undefined;
  const stopTracking = bus.on((e) => {
    if (e.type === 'step-start') midStep.set(e.host, e.step);
    else if (e.type === 'step-end' && midStep.get(e.host) === e.step) midStep.delete(e.host);
    else if (e.type === 'host-end') midStep.delete(e.host);
    else if (e.type === 'message' && e.code === 'lease') leaseTtlMs = (e.data as { ttlMs?: number } | undefined)?.ttlMs;
  });
  const onSignal = (sig: CancelSignal) => {
    if (!opts.cancellable) {
      // Read-only work: nothing to bring back; let the renderer close its display, then exit.
      cancelledBy ??= sig;
      void renderer.done().finally(() => process.exit(SIGNAL_CODES[sig]));
      return;
    }
    if (!controller.signal.aborted) {
      // First signal: no process.exit (it would skip every finally): the engine stops starting
      // hosts and steps, brings hosts mid-step to a consistent state and releases the leases.
      cancelledBy = sig;
      bus.emit({
        type: 'message',
        level: 'warn',
        code: 'cancel',
        data: { signal: sig },
        text: `${sig}: cancelling: no new host or step starts; hosts mid-step are finished or rolled back, then the leases are released (${sig} again exits at once)`,
      });
      controller.abort(sig);
      return;
    }
    // Second signal: exit now, saying what may be left behind.
    const mid = [...midStep].map(([host, step]) => `${host} (${step})`);
    const ttl = leaseTtlMs ? `within ${Math.round(leaseTtlMs / 1000)}s` : 'within its TTL';
    process.stderr.write(
      `lanes: ${sig} again: exiting now. ${mid.length ? `Hosts mid-step, possibly left half-way: ${mid.join(', ')}.` : 'No host was mid-step.'} ` +
        `Leases this run holds are no longer renewed and expire ${ttl} (or remove them with --break-lock).\n`,
    );
    process.exit(SIGNAL_CODES[sig]);
  };
  const handlers = (Object.keys(SIGNAL_CODES) as CancelSignal[]).map((sig) => {
    const h = () => onSignal(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  try {
    return await work(bus, controller.signal);
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    stopTracking();
    await renderer.done();
  }
}
