/** Text pieces shared by the plain and live renderers, so both print the same summary. */

import type { Paint } from './color.js';
import type { EventOf } from './events.js';
import { escapeControls } from './escape.js';

/** `35ms`, `12.3s`, `2m05s`: short, and stable enough to grep. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const total = Math.round(ms / 1000);
  return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
}

/** Multi-line text (remote stderr, say) folded onto one line, so one host stays one line. */
export function oneLine(text: string): string {
  return escapeControls(text)
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' | ');
}

/** A host's failure reason on one line, without a leading `host: ` (we print the host ourselves). */
export function hostReason(host: string, message: string): string {
  const line = oneLine(message);
  return line.startsWith(`${host}: `) ? line.slice(host.length + 2) : line;
}

/** Why a host failed, from its `host-end`. */
export function failureText(e: EventOf<'host-end'>): string {
  return hostReason(e.host, e.failure?.message ?? e.summary ?? 'failed');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * `ping: 2 ok, 1 failed (12.3s)` then `  lab3: <reason>` per failed host. Both counts are always
 * present so scripts can grep for them.
 */
export function summaryLines(command: string, e: EventOf<'run-end'>, paint: Paint = (_s, t) => t): string[] {
  const { ok, failed, failures } = e.summary;
  const counts = `${paint('green', `${ok} ok`)}, ${failed > 0 ? paint('red', `${failed} failed`) : `${failed} failed`}`;
  return [
    `${paint('bold', `${command}:`)} ${counts} (${formatMs(e.ms)})`,
    ...failures.map((f) => `  ${f.host}: ${hostReason(f.host, f.message)}`),
  ];
}
