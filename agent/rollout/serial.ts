/**
 * Rollout batches with Ansible's `serial` semantics: a number is a host count, "25%" a percentage
 * of all hosts (rounded down, at least 1), and a list gives successive batch sizes, the last one
 * repeating until every host is done: `serial: [1, "50%", "100%"]` on 10 hosts → 1, 5, 4.
 * An empty list means one batch of all hosts.
 */
import { LanesError } from '../errors.js';

export type SerialValue = number | string;

const ALLOWED = 'a host count (1, 5) or a percentage of the hosts (25%, 100%), or a list of them such as 1,50%,100%';

/** The size of one batch for `total` hosts (total ≥ 1); refuses invalid values. */
export function batchSize(value: SerialValue, total: number): number {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1) throw invalid(value);
    return value;
  }
  if (typeof value !== 'string') throw invalid(value);
  const s = value.trim();
  if (/^\d+$/.test(s)) return batchSize(Number(s), total);
  const m = /^(\d+)\s*%$/.exec(s);
  if (!m) throw invalid(value);
  const pct = Number(m[1]);
  if (pct < 1 || pct > 100) throw invalid(value, 'a percentage must be between 1% and 100%');
  return Math.max(1, Math.floor((total * pct) / 100));
}

/** Successive batch sizes for `total` hosts (they add up to `total`). */
export function batchSizes(total: number, serial: readonly SerialValue[]): number[] {
  // Validate every value even when there are no hosts, so a typo fails at once.
  for (const v of serial) batchSize(v, Math.max(total, 1));
  if (total <= 0) return [];
  if (serial.length === 0) return [total];
  const sizes: number[] = [];
  let done = 0;
  for (let i = 0; done < total; i++) {
    const size = Math.min(batchSize(serial[Math.min(i, serial.length - 1)]!, total), total - done);
    sizes.push(size);
    done += size;
  }
  return sizes;
}

/** Split hosts into batches, in the given order. */
export function batches(hosts: string[], serial: readonly SerialValue[]): string[][] {
  const out: string[][] = [];
  let at = 0;
  for (const size of batchSizes(hosts.length, serial)) {
    out.push(hosts.slice(at, at + size));
    at += size;
  }
  return out;
}

/** `--serial 1,50%,100%` → [1, '50%', '100%']. */
export function parseSerial(cli: string): SerialValue[] {
  const parts = cli.split(',').map((p) => p.trim());
  if (cli.trim() === '' || parts.some((p) => p === '')) {
    throw new LanesError(`invalid --serial ${JSON.stringify(cli)}`, { hint: `give ${ALLOWED}` });
  }
  return parts.map((p) => {
    const v: SerialValue = /^\d+$/.test(p) ? Number(p) : p.replace(/\s+/g, '');
    try {
      batchSize(v, 1);
    } catch (e) {
      if (e instanceof LanesError) throw new LanesError(`invalid --serial ${JSON.stringify(cli)}: ${e.message}`, { hint: e.hint });
      throw e;
    }
    return v;
  });
}

function invalid(value: unknown, why?: string): LanesError {
  return new LanesError(`invalid serial value ${JSON.stringify(value) ?? String(value)}${why ? `: ${why}` : ''}`, { hint: `give ${ALLOWED}` });
}
