/**
 * Host names as inventories write them: an optional `:port` suffix and `[a:b]` / `[a:b:step]`
 * ranges. A port of Ansible's parse_address() and expand_hostname_range(), so that a range or a
 * port expands to exactly the hosts Ansible would create.
 */
import { LanesError, type SourceLocation } from '../errors.js';

// Range forms allowed inside each kind of address (Ansible's addresses.py).
const numericRange = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const hexRange = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const alnumRange = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const i6 = `(?:[0-9a-f]{1,4}|${hexRange})`;
const i4 = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${numericRange})`;
// Python's \w with re.UNICODE: letters, digits and underscore in any script.
const w = String.raw`[\p{L}\p{N}_]`;
const label = `(?:${w}|${alnumRange})(?:${w}|-|${alnumRange})*(?<![_-])`;

/** Exported for its unit test (asciiHostname must take nothing hostname refuses). */
export const patterns = {
  // The common case, checked first: an ASCII host name. Every name it takes, `hostname` takes too;
  // it exists because `hostname` (Unicode properties, look-behind) runs interpreted for its first few
  // hundred matches (~1.5 ms each), which was ~40 ms of every CLI start.
  asciiHostname: /^(?:[a-z0-9]|[a-z0-9_][a-z0-9_-]*[a-z0-9])(?:\.(?:[a-z0-9]|[a-z0-9_][a-z0-9_-]*[a-z0-9]))*$/i,
  bracketedHostport: /^\[(.+)\]:([0-9]+)$/,
  hostport: /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/,
  ipv4: new RegExp(`^(?:${i4}\\.){3}${i4}$`, 'i'),
  ipv6: new RegExp(
    '^(?:' +
      [
        `(?:${i6}:){7}${i6}`,
        `(?:${i6}:){1,6}:`,
        `(?:${i6}:)(?::${i6}){1,6}`,
        `(?:${i6}:){2}(?::${i6}){1,5}`,
        `(?:${i6}:){3}(?::${i6}){1,4}`,
        `(?:${i6}:){4}(?::${i6}){1,3}`,
        `(?:${i6}:){5}(?::${i6}){1,2}`,
        `(?:${i6}:){6}(?::${i6})`,
        `:(?::${i6}){1,6}`,
        `${i6}?::`,
        `(?:0:){6}(?:${i6}\\.){3}${i6}`,
        `::(?:ffff:)?(?:${i6}\\.){3}${i6}`,
        `(?:0:){5}ffff:(?:${i6}\\.){3}${i6}`,
      ].join('|') +
      ')$',
    'i',
  ),
  hostname: new RegExp(`^${label}(?:\\.${label})*$`, 'iu'),
};

export interface ParsedAddress {
  host: string;
  port?: number;
}

/**
 * Split `host:port` / `[v6]:port` and check the host is a hostname or IP address (ranges allowed).
 * Returns undefined when it is not an address, as Ansible's parse_address would raise.
 */
export function parseAddress(address: string): ParsedAddress | undefined {
  let rest = address;
  let port: number | undefined;
  // Ansible tries both forms in turn, the second on what the first left.
  for (const re of [patterns.bracketedHostport, patterns.hostport]) {
    const m = re.exec(rest);
    if (m) {
      rest = m[1] as string;
      port = Number.parseInt(m[2] as string, 10);
    }
  }
  if (patterns.asciiHostname.test(rest) || patterns.ipv4.test(rest) || patterns.ipv6.test(rest) || patterns.hostname.test(rest)) {
    return port === undefined ? { host: rest } : { host: rest, port };
  }
  return undefined;
}

export interface ExpandedHosts {
  hosts: string[];
  port?: number;
}

const RANGE_HINT = 'ranges look like web[01:10].example.com, web[1:9:2] or db-[a:f]';

/**
 * Expand one inventory host entry into host names and an optional port (Ansible's
 * _expand_hostpattern). Something that is not a valid address is kept whole, as Ansible does.
 */
export function expandHostPattern(pattern: string, loc?: SourceLocation): ExpandedHosts {
  const parsed = parseAddress(pattern);
  const base = parsed ? parsed.host : pattern;
  const hosts = base.includes('[') ? expandHostnameRange(base, loc) : [base];
  return parsed?.port === undefined ? { hosts } : { hosts, port: parsed.port };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A host pattern naming more hosts than this is refused (a typo, or a file meant to exhaust lanes). */
export const MAX_RANGE_HOSTS = 100_000;

/** Expand the first `[begin:end(:step)]` in `line`, then any further ones, left to right. */
export function expandHostnameRange(line: string, loc?: SourceLocation): string[] {
  const fail = (why: string): never => {
    throw new LanesError(`invalid host range in "${line}": ${why}`, { location: loc, hint: RANGE_HINT });
  };
  // Ansible swaps the first '[' and the first ']' for '|' and splits on '|'.
  const parts = line.replace('[', '|').replace(']', '|').split('|');
  if (parts.length !== 3) fail('expected one [begin:end] expression');
  const [head, range, tail] = parts as [string, string, string];
  const bounds = range.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) fail('host range must be begin:end or begin:end:step');
  const beg = bounds[0] === '' ? '0' : (bounds[0] as string);
  const end = bounds[1] as string;
  if (end === '') fail('host range must specify end value');
  const stepText = bounds[2] ?? '1';
  if (!/^\d+$/.test(stepText) || Number(stepText) === 0) fail(`step must be a positive integer, got "${stepText}"`);
  const step = Number(stepText);

  // A zero-padded begin ("01") pads every number to its width, and then end must be as wide.
  let fill = (x: string): string => x;
  if (beg[0] === '0' && beg.length > 1) {
    if (beg.length !== end.length) fail('host range must specify equal-length begin and end formats');
    fill = (x) => x.padStart(beg.length, '0');
  }

  const seq: string[] = [];
  const ib = LETTERS.indexOf(beg);
  const ie = LETTERS.indexOf(end);
  if (beg.length === 1 && end.length === 1 && ib >= 0 && ie >= 0) {
    if (ib > ie) fail('host range must have begin <= end');
    for (let i = ib; i <= ie; i += step) seq.push(LETTERS[i] as string);
  } else {
    if (!/^\d+$/.test(beg) || !/^\d+$/.test(end)) fail('begin and end must both be numbers or both single letters');
    const b = Number(beg);
    const e = Number(end);
    // Ansible would silently produce no host here; an empty range is always a typo.
    if (b > e) fail('host range must have begin <= end');
    const n = Math.floor((e - b) / step) + 1;
    if (n > MAX_RANGE_HOSTS) fail(`it names ${n.toLocaleString('en')} hosts; lanes expands at most ${MAX_RANGE_HOSTS.toLocaleString('en')} per pattern`);
    for (let i = b; i <= e; i += step) seq.push(String(i));
  }

  const out: string[] = [];
  for (const x of seq) {
    const name = head + fill(x) + tail;
    if (name.includes('[')) out.push(...expandHostnameRange(name, loc));
    else out.push(name);
    // Nested ranges multiply: web[0:999]-[0:999] is a million hosts.
    if (out.length > MAX_RANGE_HOSTS) fail(`it names more than ${MAX_RANGE_HOSTS.toLocaleString('en')} hosts; lanes expands at most that many per pattern`);
  }
  return out;
}
