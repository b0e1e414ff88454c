/** Shared test material: in-memory streams and one scripted run (3 hosts, lab3 fails). */

import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { EventBus, type LanesEvent } from '../../../agent/report/events.js';
import { SecretMasker } from '../../../agent/report/mask.js';

/** A become password with a quote in it: JSON would escape it, so it checks masking happens first. */
export const SECRET = 'hun"ter2';
export const REASON = `sudo: password ${SECRET} rejected`;
export const MASKED_REASON = 'sudo: password ******** rejected';

export interface Capture {
  stream: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  chunks: string[];
  text(): string;
}

/** An in-memory Writable; `tty` makes it look like a terminal (own props, as listr copies them). */
export function capture(tty = false): Capture {
  const chunks: string[] = [];
  const stream: Capture['stream'] = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  if (tty) {
    stream.isTTY = true;
    stream.columns = 100;
    stream.rows = 40;
  }
  return { stream, chunks, text: () => chunks.join('') };
}

export function lines(text: string): string[] {
  return stripVTControlCharacters(text).split('\n').filter((l) => l !== '');
}

export function masker(): SecretMasker {
  const m = new SecretMasker();
  m.add(SECRET);
  return m;
}

type Emit = Parameters<EventBus['emit']>[0];

/** Up to and including run-start. */
export const START: Emit[] = [{ type: 'run-start', command: 'ping', hosts: ['lab1', 'lab2', 'lab3'] }];

/** Everything after run-start: steps with timings, output, a warning, one failure, the summary. */
export const REST: Emit[] = [
  { type: 'host-start', host: 'lab1' },
  { type: 'step-start', host: 'lab1', step: 'connect' },
  { type: 'host-start', host: 'lab2' },
  { type: 'step-start', host: 'lab2', step: 'connect' },
  { type: 'host-start', host: 'lab3' },
  { type: 'step-start', host: 'lab3', step: 'connect' },
  { type: 'step-end', host: 'lab1', step: 'connect', ok: true, ms: 35 },
  { type: 'step-end', host: 'lab2', step: 'connect', ok: true, ms: 40 },
  { type: 'step-start', host: 'lab2', step: 'uname' },
  { type: 'host-output', host: 'lab2', text: 'Linux\n' },
  { type: 'step-end', host: 'lab2', step: 'uname', ok: true, ms: 80 },
  { type: 'step-end', host: 'lab3', step: 'connect', ok: true, ms: 50 },
  { type: 'step-start', host: 'lab3', step: 'sudo' },
  { type: 'step-end', host: 'lab3', step: 'sudo', ok: false, ms: 12, detail: REASON },
  { type: 'message', level: 'warn', host: 'lab1', text: 'host key added to known_hosts' },
  { type: 'host-end', host: 'lab1', ok: true, ms: 35 },
  { type: 'host-end', host: 'lab2', ok: true, ms: 120, summary: 'uname: Linux' },
  // The engine may already name the host in the message; renderers must not print it twice.
  { type: 'host-end', host: 'lab3', ok: false, ms: 62, failure: { kind: 'sudo', message: `lab3: ${REASON}` } },
  {
    type: 'run-end',
    ok: false,
    ms: 12_300,
    summary: { ok: 2, failed: 1, failures: [{ host: 'lab3', message: REASON }] },
  },
];

/** A bus that also records every event as emitted (with `at`). */
export function recordingBus(): { bus: EventBus; seen: LanesEvent[] } {
  const bus = new EventBus();
  const seen: LanesEvent[] = [];
  bus.on((e) => seen.push(e));
  return { bus, seen };
}

export function emitAll(bus: EventBus, events: Emit[]): void {
  for (const e of events) bus.emit(e);
}

/** Polls until `check` holds; the live renderer draws after listr's async setup (its lazy import is slow on a loaded CI machine). */
export async function waitFor(check: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting for output');
    await new Promise((r) => setTimeout(r, 5));
  }
}
