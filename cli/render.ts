/** Wire a command's event bus to the renderer the output stream calls for, and map results to exit codes. */
import { EventBus } from '../agent/report/events.js';
import { chooseRenderer } from '../agent/report/choose.js';

/**
 * Run `work` with a renderer attached to a fresh bus. Exit code: 0 when every host succeeded,
 * 1 when any failed (the renderer has already printed one line per failed host).
 */
export async function withRenderer(json: boolean, work: (bus: EventBus) => Promise<{ ok: boolean }>): Promise<number> {
  const bus = new EventBus();
  const renderer = chooseRenderer({ json });
  renderer.attach(bus);
  // Ctrl-C: let the renderer close its display (hosts still running show as interrupted), then
  // exit; open SSH connections end with the process, and nothing half-written stays behind because
  // every remote write is a temp file plus rename.
  const onSigint = () => {
    void renderer.done().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  let ok = false;
  try {
    ok = (await work(bus)).ok;
  } finally {
    process.off('SIGINT', onSigint);
    await renderer.done();
  }
  return ok ? 0 : 1;
}
