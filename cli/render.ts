/** Wire a command's event bus to the renderer the output stream calls for, and map results to exit codes. */
import { EventBus } from '../agent/report/events.js';
import { chooseRenderer } from '../agent/report/choose.js';
import type { Renderer } from '../agent/report/renderer.js';

/**
 * Run `work` with a renderer attached to a fresh bus. Exit code: 0 when every host succeeded,
 * 1 when any failed (the renderer has already printed one line per failed host).
 */
export async function withRenderer(json: boolean, work: (bus: EventBus) => Promise<{ ok: boolean }>): Promise<number> {
  const result = await attach(chooseRenderer({ json }), work);
  return result.ok ? 0 : 1;
}

/**
 * For commands whose real output (a plan) is printed to stdout afterwards: progress goes to stderr
 * (live on a terminal, plain lines otherwise). With --json, stdout carries the event stream instead,
 * as for every command, and the per-host results are in the `host-end` events' `data`.
 */
export async function withProgress<T>(json: boolean, work: (bus: EventBus) => Promise<T>): Promise<T> {
  return attach(json ? chooseRenderer({ json: true }) : chooseRenderer({ stream: process.stderr }), work);
}

async function attach<T>(renderer: Renderer, work: (bus: EventBus) => Promise<T>): Promise<T> {
  const bus = new EventBus();
  renderer.attach(bus);
  // Ctrl-C: let the renderer close its display (hosts still running show as interrupted), then
  // exit; open SSH connections end with the process, and nothing half-written stays behind because
  // every remote write is a temp file plus rename.
  const onSigint = () => {
    void renderer.done().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  try {
    return await work(bus);
  } finally {
    process.off('SIGINT', onSigint);
    await renderer.done();
  }
}
