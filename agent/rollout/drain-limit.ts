/**
 * How long a drain (or a start) of the release's workers may take: the workers' own stop timeouts
 * (Supervisor `stopwaitsecs`, systemd `TimeoutStopSec`) plus a margin — never `--timeout`, which is
 * for ordinary commands: a queue job with `stopwaitsecs: 600` must be allowed its ten minutes.
 * Workers are stopped one after another, so their timeouts add up.
 */
import type { DesiredResource } from '../resources/types.js';
import type { ReleaseSpec } from './types.js';

/** Supervisor's and systemd's own defaults, when the playbook declares the worker without a value. */
const SUPERVISOR_STOPWAITSECS = 10;
const SYSTEMD_TIMEOUT_STOP_MS = 90_000;
/** Per worker: the confirmation that every process is gone, starting, checking where it runs. */
const PER_WORKER_MARGIN_MS = 15_000;
const MARGIN_MS = 30_000;

/**
 * The limit in ms for draining (or starting) `spec.workers`, or 0 (no limit) when a worker's stop
 * timeout is unknown here (declared outside this playbook) or infinite: cutting a drain short would
 * kill the very job it waits for.
 */
export function drainLimitMs(spec: Pick<ReleaseSpec, 'workers'>, desired: DesiredResource[]): number {
  let total = MARGIN_MS;
  for (const name of spec.workers.supervisor) {
    const p = desired.find((d) => d.type === 'supervisor_program' && (d.spec as { name?: string }).name === name)?.spec as { stopwaitsecs?: number } | undefined;
    if (!p) return 0;
    total += (p.stopwaitsecs ?? SUPERVISOR_STOPWAITSECS) * 1000 + PER_WORKER_MARGIN_MS;
  }
  for (const unit of spec.workers.systemd) {
    const base = unit.replace(/\.service$/, '');
    const s = desired.find((d) => d.type === 'systemd_service' && [base, unit].includes((d.spec as { name?: string }).name ?? ''))?.spec as
      | { TimeoutStopSec?: string }
      | undefined;
    if (!s) return 0;
    const ms = s.TimeoutStopSec === undefined ? SYSTEMD_TIMEOUT_STOP_MS : timespanMs(s.TimeoutStopSec);
    if (ms === undefined) return 0;
    total += ms + PER_WORKER_MARGIN_MS;
  }
  return total;
}

const UNITS: Record<string, number> = { us: 0.001, usec: 0.001, ms: 1, msec: 1, s: 1000, sec: 1000, second: 1000, seconds: 1000, m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hr: 3_600_000, hour: 3_600_000, hours: 3_600_000, d: 86_400_000, day: 86_400_000, days: 86_400_000 };

/** A systemd time span ("60", "1min 30s", "500ms") in ms; undefined for "infinity" or anything else. */
export function timespanMs(span: string): number | undefined {
  const t = span.trim();
  if (t === '' || t === 'infinity') return undefined;
  let total = 0;
  let rest = t;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)\s*/.exec(rest);
    if (!m) return undefined;
    const unit = m[2] ? UNITS[m[2]] : 1000;
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    rest = rest.slice(m[0].length);
  }
  return Math.ceil(total);
}
