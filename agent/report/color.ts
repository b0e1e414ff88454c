/**
 * Colour for the plain and live summaries. Raw ANSI rather than util.styleText: from Node 22 on
 * styleText second-guesses us by checking process.stdout, which is wrong when we print progress to a
 * terminal stderr while stdout is redirected. So we decide per stream, here, once.
 */

import type { Env, OutputStream } from './renderer.js';

/**
 * Whether to colour what goes to `stream`. Same precedence as Node's own getColorDepth():
 * FORCE_COLOR wins (''/1/2/3/true turn colour on, anything else off), then NO_COLOR (when set and
 * non-empty, per no-color.org), then TERM=dumb, then whether the stream is a terminal.
 */
export function colorEnabled(stream: OutputStream, env: Env = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return ['', '1', '2', '3', 'true'].includes(force);
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const CODES = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  dim: [2, 22],
  bold: [1, 22],
} as const;

export type Style = keyof typeof CODES;
export type Paint = (style: Style, text: string) => string;

/** A function that colours text, or leaves it alone when colour is off. */
export function painter(enabled: boolean): Paint {
  if (!enabled) return (_style, text) => text;
  return (style, text) => `\u001b[${CODES[style][0]}m${text}\u001b[${CODES[style][1]}m`;
}
