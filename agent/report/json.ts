/**
 * `--json`: the events exactly as emitted (with their `at` timestamps), one JSON object per line, on
 * stdout and nothing else there, so `lanes ping --json | jq` always parses. Sensitive changes and
 * resources are shown as hashes (agent/report/sensitive.ts), and secrets are masked.
 */

import type { EventBus, LanesEvent } from './events.js';
import { secrets, type SecretMasker } from './mask.js';
import type { OutputStream, Renderer } from './renderer.js';
import { redactEvent } from './sensitive.js';
import { LineSink } from './sink.js';

export interface JsonRendererOptions {
  /** Default process.stdout. */
  stream?: OutputStream;
  masker?: SecretMasker;
}

export class JsonRenderer implements Renderer {
  private readonly sink: LineSink;
  private readonly masker: SecretMasker;
  private detach: (() => void) | undefined;

  constructor(options: JsonRendererOptions = {}) {
    this.sink = new LineSink(options.stream ?? process.stdout);
    this.masker = options.masker ?? secrets;
  }

  attach(bus: EventBus): void {
    // Sensitive changes and resources become hashes first (their hashes are of the real values), then the masker.
    this.detach = bus.on((e) => this.sink.line(toJsonLine(this.masker.maskEvent(redactEvent(e, this.masker)))));
  }

  async done(): Promise<void> {
    this.detach?.();
    this.detach = undefined;
    await this.sink.flush();
  }
}

/** One line of NDJSON. JSON.stringify never emits raw newlines, so the line stays one line. */
export function toJsonLine(e: LanesEvent): string {
  // `data` is engine-defined; a bigint in it must not take the whole run's output down.
  return JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
