/** Durations as plays write them: whole seconds, or a number with s, m, h or d ("10s", "5m"). */
import { LanesError } from '../errors.js';

export function durationMs(d: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(d);
  if (!m) throw new LanesError(`bad duration "${d}"`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit * 1000;
}
