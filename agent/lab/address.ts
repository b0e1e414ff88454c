/**
 * Lab addresses. The containers share the machine's network namespace, where every address in
 * 127.0.0.0/8 is local, so host N of a lab owns 127.0.<block>.N. The default lab uses block 1;
 * any other lab gets the lowest free block in 2…254, recorded in its state so it stays stable.
 * Block 0 is never used: 127.0.0.1 belongs to the machine itself.
 */
import { LanesError } from '../errors.js';
import { DEFAULT_LAB_NAME, MAX_HOSTS } from './paths.js';

export const DEFAULT_BLOCK = 1;
const FIRST_OTHER_BLOCK = 2;
const LAST_BLOCK = 254;

/**
 * The address block (third octet) for a lab, given the blocks other labs already hold
 * (lab name → block). A lab that already holds one keeps it.
 */
export function allocateBlock(name: string, taken: ReadonlyMap<string, number>): number {
  const own = taken.get(name);
  if (own !== undefined) return own;
  if (name === DEFAULT_LAB_NAME) return DEFAULT_BLOCK;
  const used = new Set(taken.values());
  for (let block = FIRST_OTHER_BLOCK; block <= LAST_BLOCK; block++) {
    if (!used.has(block)) return block;
  }
  throw new LanesError(`no free address block for lab "${name}": ${used.size} labs exist`, {
    kind: 'lab',
    hint: 'remove an unused lab with `lanes lab down --name NAME` and delete its state directory',
  });
}

export function hostAddress(block: number, index: number): string {
  if (!Number.isInteger(block) || block < 1 || block > LAST_BLOCK) throw new Error(`bad address block ${block}`);
  if (!Number.isInteger(index) || index < 1 || index > MAX_HOSTS) throw new Error(`bad host index ${index}`);
  return `127.0.${block}.${index}`;
}

export interface Listener {
  /** Dotted IPv4, or an IPv6 address in full hex form (`::` is reported as '::'). */
  address: string;
  port: number;
}

/** Decode the LISTEN sockets of /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string): Listener[] {
  const out: Listener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    if (!local || state !== '0A') continue;
    const [hexAddr, hexPort] = local.split(':');
    if (!hexAddr || !hexPort) continue;
    out.push({ address: decodeAddress(hexAddr), port: parseInt(hexPort, 16) });
  }
  return out;
}

function decodeAddress(hex: string): string {
  if (hex.length === 8) {
    // One little-endian 32-bit word.
    const bytes = [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return bytes.join('.');
  }
  if (/^0+$/.test(hex)) return '::';
  // Four little-endian 32-bit words; enough to compare, not meant for display.
  const words: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    words.push([6, 4, 2, 0].map((i) => word.slice(i, i + 2)).join(''));
  }
  const full = words.join('').toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d) → dotted, so a v6 socket on a lab address is still found.
  if (full.startsWith('00000000000000000000ffff')) {
    const v4 = full.slice(24);
    return [0, 2, 4, 6].map((i) => parseInt(v4.slice(i, i + 2), 16)).join('.');
  }
  return full;
}

/**
 * The listeners that would stop a lab host from binding `address` on the given ports: one on
 * that very address, or one on the wildcard address (0.0.0.0 or ::).
 */
export function conflictingListeners(listeners: readonly Listener[], address: string, ports: readonly number[]): Listener[] {
  return listeners.filter(
    (l) => ports.includes(l.port) && (l.address === address || l.address === '0.0.0.0' || l.address === '::'),
  );
}
