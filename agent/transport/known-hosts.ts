/**
 * Host key verification the way OpenSSH does it (hostfile.c / sshconnect.c), on known_hosts files
 * that OpenSSH itself reads and writes.
 *
 * - Names: a host on port 22 is recorded as `host`, any other port as `[host]:port`; host names are
 *   compared in lower case (ssh lowercases the host name before it looks it up).
 * - Host fields: comma lists of patterns with `*` / `?` wildcards and `!negation`, or one hashed
 *   name `|1|base64(salt)|base64(HMAC-SHA1(key = salt, name))` as written by `ssh-keygen -H` and
 *   HashKnownHosts.
 * - Markers: `@revoked` lines for the host make a matching key fail even if it is also listed as
 *   known. `@cert-authority` lines only vouch for host *certificates*; lanes verifies plain host
 *   keys (ssh2 does not negotiate certificate host keys), so those lines are read but never make a
 *   key known — just as OpenSSH ignores them for a plain key.
 * - Malformed lines (bad marker, undecodable key, key type not matching the blob) are skipped the
 *   way OpenSSH skips them, without disturbing the line numbers of the others.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, resolve as resolvePath } from 'node:path';
import { LanesError } from '../errors.js';
import { ParsedFiles } from './parsed-files.js';
import { shq } from './quote.js';

export interface HostKey {
  /** Key type as named inside the blob: 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa', … */
  type: string;
  /** Raw SSH wire-format public key. */
  blob: Buffer;
}

export interface KnownHostsEntry {
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  marker?: '@cert-authority' | '@revoked';
  /** The raw host field: a pattern list or one hashed name. */
  hosts: string;
  type: string;
  blob: Buffer;
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostsEntry }
  /** No entry for this host at all. */
  | { status: 'unknown' }
  /** Entries exist for the host but none matches the presented key. */
  | { status: 'changed'; entries: KnownHostsEntry[] }
  | { status: 'revoked'; entry: KnownHostsEntry };

const SSH_DEFAULT_PORT = 22;

/** Read the SSH `string` at `offset`: uint32 length + bytes. */
function readSshString(buf: Buffer, offset: number): { value: Buffer; next: number } | undefined {
  if (offset + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(offset);
  const start = offset + 4;
  if (start + len > buf.length) return undefined;
  return { value: buf.subarray(start, start + len), next: start + len };
}

/** The key type written as the first string of a wire-format key, or undefined if it has none. */
function blobType(blob: Buffer): string | undefined {
  const s = readSshString(blob, 0);
  if (!s || s.value.length === 0) return undefined;
  const type = s.value.toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** How many SSH strings/mpints follow the type name in the public key of each plain key type. */
const KEY_FIELDS: Record<string, number> = {
  'ssh-ed25519': 1, // pk
  'ssh-rsa': 2, // e, n
  'ssh-dss': 4, // p, q, g, y
  'ecdsa-sha2-nistp256': 2, // curve, Q
  'ecdsa-sha2-nistp384': 2,
  'ecdsa-sha2-nistp521': 2,
  'sk-ssh-ed25519@openssh.com': 2, // pk, application
  'sk-ecdsa-sha2-nistp256@openssh.com': 3, // curve, Q, application
};

/**
 * Is the blob a complete public key of its type (every field present, nothing left over), as
 * OpenSSH's sshkey_from_blob() requires? Types not listed (certificates, future types) are only
 * checked for their type name.
 */
function blobWellFormed(blob: Buffer, type: string): boolean {
  const fields = KEY_FIELDS[type];
  if (fields === undefined) return true;
  let next = readSshString(blob, 0)?.next ?? -1;
  for (let i = 0; i < fields && next >= 0; i++) next = readSshString(blob, next)?.next ?? -1;
  if (next !== blob.length) return false;
  if (type === 'ssh-ed25519') return readSshString(blob, 4 + type.length)?.value.length === 32;
  if (type.startsWith('ecdsa-sha2-')) return readSshString(blob, 4 + type.length)?.value.toString('latin1') === type.slice('ecdsa-sha2-'.length);
  return true;
}

export function hostKeyFromBlob(blob: Buffer): HostKey {
  const type = blobType(blob);
  if (type === undefined || !blobWellFormed(blob, type)) {
    throw new LanesError('the server presented a malformed host key', {
      kind: 'hostkey',
    });
  }
  return { type, blob };
}

/** 'SHA256:…' exactly as `ssh-keygen -l` prints it: unpadded base64 of the SHA-256 of the blob. */
export function fingerprintSha256(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The name OpenSSH records a host under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === SSH_DEFAULT_PORT || port === 0 ? h : `[${h}]:${port}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64Strict(text: string): Buffer | undefined {
  if (!BASE64.test(text) || text.length % 4 === 1) return undefined;
  const buf = Buffer.from(text, 'base64');
  // Reject text that Node would decode leniently (e.g. misplaced padding).
  if (buf.toString('base64').replace(/=+$/, '') !== text.replace(/=+$/, '')) return undefined;
  return buf;
}

/** Split off the next whitespace-delimited field (space or tab, as in hostfile.c). */
function nextField(s: string): [string, string] {
  const m = /^([^ \t]+)[ \t]*(.*)$/.exec(s);
  return m ? [m[1] ?? '', m[2] ?? ''] : ['', ''];
}

export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? '').replace(/\r$/, '');
    let rest = raw.replace(/^[ \t]+/, '');
    if (rest === '' || rest.startsWith('#')) continue;

    let marker: KnownHostsEntry['marker'];
    if (rest.startsWith('@')) {
      const [word, after] = nextField(rest);
      if (word !== '@cert-authority' && word !== '@revoked') continue; // unknown marker: OpenSSH skips the line
      marker = word;
      rest = after;
    }
    const [hosts, afterHosts] = nextField(rest);
    const [type, afterType] = nextField(afterHosts);
    const [b64] = nextField(afterType);
    if (hosts === '' || type === '' || b64 === '') continue;
    // Old SSH-1 RSA lines ("bits exponent modulus") have no key type name; OpenSSH 7.4+ ignores them.
    if (/^\d+$/.test(type)) continue;
    const blob = decodeBase64Strict(b64);
    if (!blob || blobType(blob) !== type || !blobWellFormed(blob, type)) continue;
    entries.push({ file, line: i + 1, ...(marker ? { marker } : {}), hosts, type, blob });
  }
  return entries;
}

/**
 * OpenSSH's match_pattern(): `*` matches any run of characters (also none), `?` exactly one, and
 * everything else — brackets included — stands for itself.
 */
export function matchPattern(s: string, pattern: string): boolean {
  // Iterative wildcard match with backtracking to the last '*'.
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    const pc = pattern[pi];
    if (pc === '*') {
      starP = pi++;
      starS = si;
    } else if (pc !== undefined && (pc === '?' || pc === s[si])) {
      si++;
      pi++;
    } else if (starP >= 0) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pattern[pi] === '*') pi++;
  return pi === pattern.length;
}

/**
 * OpenSSH's match_pattern_list(): comma-separated patterns; a matching `!pattern` rejects the name
 * outright, otherwise any matching positive pattern accepts it. With `lower`, patterns are
 * compared in lower case (as for host names).
 */
export function matchPatternList(s: string, list: string, lower: boolean): boolean {
  let positive = false;
  for (let sub of list.split(',')) {
    if (lower) sub = sub.toLowerCase();
    const negated = sub.startsWith('!');
    if (negated) sub = sub.slice(1);
    if (matchPattern(s, sub)) {
      if (negated) return false;
      positive = true;
    }
  }
  return positive;
}

const HASH_MAGIC = '|1|';
const SHA1_LEN = 20;

/** `|1|salt|hmac` for `name` with the salt of `hashed`, or undefined if `hashed` is malformed. */
function hashedName(name: string, hashed: string): string | undefined {
  if (!hashed.startsWith(HASH_MAGIC)) return undefined;
  const rest = hashed.slice(HASH_MAGIC.length);
  const bar = rest.indexOf('|');
  if (bar < 0) return undefined;
  const salt = decodeBase64Strict(rest.slice(0, bar));
  if (!salt || salt.length !== SHA1_LEN) return undefined;
  const mac = createHmac('sha1', salt).update(name).digest('base64');
  return `${HASH_MAGIC}${salt.toString('base64')}|${mac}`;
}

/**
 * Does a known_hosts host field match `name` (as produced by knownHostsName, so already in lower
 * case)? Exactly OpenSSH's match_maybe_hashed(): a pattern list is compared case-insensitively, a
 * hashed name is compared with the HMAC of `name` as given.
 */
export function hostMatches(entryHosts: string, name: string): boolean {
  if (entryHosts.startsWith('|')) {
    // A hashed field holds exactly one name (ssh-keygen -H writes one line per name).
    const expected = hashedName(name, entryHosts);
    return expected !== undefined && expected === entryHosts;
  }
  return matchPatternList(name.toLowerCase(), entryHosts, true);
}

/**
 * The entries whose host field matches `name`, in file order — what filtering every entry with
 * hostMatches gives, without scanning them all for every host: a fleet's known_hosts holds a line per
 * host, and a run checks each host once, so a scan per connection is quadratic in hosts (16 % of a
 * 1000-host plan's time). Host fields that are plain lists of literal names (no wildcard, no
 * negation, not hashed) are indexed by name once per entry list; the rest are still matched one by one.
 */
export function entriesFor(entries: KnownHostsEntry[], name: string): KnownHostsEntry[] {
  let index = indexes.get(entries);
  if (!index) {
    index = buildIndex(entries);
    indexes.set(entries, index);
  }
  const positions = [...(index.literal.get(name.toLowerCase()) ?? []), ...index.scanned.filter((i) => hostMatches(entries[i]!.hosts, name))];
  return positions.sort((a, b) => a - b).map((i) => entries[i]!);
}

interface KnownHostsIndex {
  /** Lower-cased literal name → positions of the entries listing it. */
  literal: Map<string, number[]>;
  /** Positions of entries matched one by one (hashed, wildcards, negations). */
  scanned: number[];
}

const indexes = new WeakMap<KnownHostsEntry[], KnownHostsIndex>();

function buildIndex(entries: KnownHostsEntry[]): KnownHostsIndex {
  const literal = new Map<string, number[]>();
  const scanned: number[] = [];
  entries.forEach((e, i) => {
    if (e.hosts.startsWith('|') || /[*?!]/.test(e.hosts)) {
      scanned.push(i);
      return;
    }
    for (const n of new Set(e.hosts.toLowerCase().split(','))) {
      const at = literal.get(n);
      if (at) at.push(i);
      else literal.set(n, [i]);
    }
  });
  return { literal, scanned };
}

export function checkHostKey(entries: KnownHostsEntry[], host: string, port: number, key: HostKey): HostKeyVerdict {
  const forHost = entriesFor(entries, knownHostsName(host, port));

  // A revoked key is refused even if another line lists it as known.
  const revoked = forHost.find((e) => e.marker === '@revoked' && e.blob.equals(key.blob));
  if (revoked) return { status: 'revoked', entry: revoked };

  // @cert-authority lines vouch for certificates only, never for a plain host key (see top).
  const plain = forHost.filter((e) => e.marker === undefined);
  const match = plain.find((e) => e.type === key.type && e.blob.equals(key.blob));
  if (match) return { status: 'known', entry: match };
  if (plain.length === 0) return { status: 'unknown' };
  // Same type with another key: the key really changed. Only other types: the host presented a
  // type we have no record of — OpenSSH refuses that too under strict checking; hostKeyError()
  // words the two cases differently.
  const sameType = plain.filter((e) => e.type === key.type);
  return { status: 'changed', entries: sameType.length > 0 ? sameType : plain };
}

/**
 * Host key algorithms ssh2 can negotiate, in OpenSSH's default preference order. A plain RSA key
 * (blob type ssh-rsa) can be presented with any of the three RSA signature algorithms.
 */
const ALGORITHMS_FOR_TYPE: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['ssh-ed25519', ['ssh-ed25519']],
  ['ecdsa-sha2-nistp256', ['ecdsa-sha2-nistp256']],
  ['ecdsa-sha2-nistp384', ['ecdsa-sha2-nistp384']],
  ['ecdsa-sha2-nistp521', ['ecdsa-sha2-nistp521']],
  ['ssh-rsa', ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']],
  ['ssh-dss', ['ssh-dss']],
];

/**
 * The host key algorithms to offer first for a host whose keys we already know (OpenSSH's
 * order_hostkeyalgs), usable as ssh2's `algorithms.serverHostKey` prefix. Types ssh2 cannot
 * negotiate (sk-*, certificates) are left out; @revoked and @cert-authority lines do not count.
 */
export function knownKeyTypesFor(entries: KnownHostsEntry[], host: string, port: number): string[] {
  const types = new Set(
    entriesFor(entries, knownHostsName(host, port))
      .filter((e) => e.marker === undefined)
      .map((e) => e.type),
  );
  const out: string[] = [];
  for (const [type, algs] of ALGORITHMS_FOR_TYPE) if (types.has(type)) out.push(...algs);
  return out;
}

function expandTilde(file: string): string {
  if (file === '~') return homedir();
  if (file.startsWith('~/')) return homedir() + file.slice(1);
  return file;
}

const NO_ENTRIES: KnownHostsEntry[] = [];

/** Each known_hosts file parsed once while unchanged, and once for connections starting together (parsed-files.ts). */
const parsedFiles = new ParsedFiles((data, file) => parseKnownHosts(data.toString('utf8'), file));

/** The last list loadKnownHosts returned for a list of files, so its index (entriesFor) is built once. */
const lastLists = new Map<string, { parts: KnownHostsEntry[][]; list: KnownHostsEntry[] }>();

/** Read and parse known_hosts files in order; missing files are skipped. */
export async function loadKnownHosts(files: string[]): Promise<KnownHostsEntry[]> {
  const parts: KnownHostsEntry[][] = [];
  for (const file of files) parts.push(await readKnownHostsFile(file));
  const key = JSON.stringify(files);
  const last = lastLists.get(key);
  if (last && last.parts.length === parts.length && last.parts.every((p, i) => p === parts[i])) return last.list;
  const list = parts.flat();
  lastLists.set(key, { parts, list });
  return list;
}

async function readKnownHostsFile(file: string): Promise<KnownHostsEntry[]> {
  const path = expandTilde(file);
  try {
    return await parsedFiles.get(file, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // One shared empty list, so a missing file does not make every call's list (and its index) new.
    if (code === 'ENOENT' || code === 'ENOTDIR') return NO_ENTRIES;
    throw new LanesError(`cannot read known_hosts file: ${(err as Error).message}`, {
      kind: 'hostkey',
      location: { file },
      cause: err,
    });
  }
}

/** Per-file tail of the append queue, so parallel connections in this process never interleave. */
const appendQueues = new Map<string, Promise<void>>();

/**
 * Record `key` for the host at the end of `file` (`name type base64`), creating the directory
 * (0700) and the file (0600) when needed. Appends to one file are serialized within the process,
 * and a line that an earlier append (e.g. a parallel connection to the same host) already wrote
 * is not written twice.
 */
export async function appendKnownHost(file: string, host: string, port: number, key: HostKey): Promise<void> {
  const path = resolvePath(expandTilde(file));
  const previous = appendQueues.get(path) ?? Promise.resolve();
  const job = previous.catch(() => undefined).then(() => doAppend(path, file, host, port, key));
  const tail = job.catch(() => undefined);
  appendQueues.set(path, tail);
  try {
    await job;
  } finally {
    if (appendQueues.get(path) === tail) appendQueues.delete(path);
    // Loads started before the append may have read the file without it: later ones start afresh.
    parsedFiles.written();
  }
}

async function doAppend(path: string, file: string, host: string, port: number, key: HostKey): Promise<void> {
  const name = knownHostsName(host, port);
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const handle = await open(path, 'a+', 0o600);
    try {
      const existing = await handle.readFile('utf8');
      const already = parseKnownHosts(existing, file).some(
        (e) => e.marker === undefined && e.blob.equals(key.blob) && hostMatches(e.hosts, name),
      );
      if (already) return;
      const sep = existing !== '' && !existing.endsWith('\n') ? '\n' : '';
      await handle.appendFile(`${sep}${name} ${key.type} ${key.blob.toString('base64')}\n`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new LanesError(`cannot add the host key for ${name} to known_hosts: ${(err as Error).message}`, {
      kind: 'hostkey',
      location: { file },
      cause: err,
    });
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function describeKey(type: string, blob: Buffer): string {
  return `${type} ${fingerprintSha256(blob)}`;
}

/**
 * The user-facing error for a verdict other than 'known'. `label` is the inventory name of the
 * host when it differs from the address (`lab1 (127.0.1.1:22)`). The advice goes in the hint, so
 * `format()` prints the whole sentence. A 'changed' or 'revoked' verdict must never be accepted by
 * --accept-new-host-keys, and the message does not suggest it.
 */
export function hostKeyError(
  verdict: HostKeyVerdict,
  host: string,
  port: number,
  key: HostKey,
  files: string[],
  label?: string,
): LanesError {
  const where = hostPort(host, port);
  const subject = label && label !== host ? `${label} (${where})` : where;
  const presented = describeKey(key.type, key.blob);
  const opts = { kind: 'hostkey' as const, host: label ?? host };
  const name = knownHostsName(host, port);
  switch (verdict.status) {
    case 'unknown': {
      const file = files[0] ?? '~/.ssh/known_hosts';
      return new LanesError(`host key for ${subject} is not known: ${presented}`, {
        ...opts,
        hint: `add it to ${file} with ssh-keyscan after checking the fingerprint, or run with --accept-new-host-keys`,
      });
    }
    case 'changed': {
      const first = verdict.entries[0];
      if (!first) return new LanesError(`HOST KEY CHANGED for ${subject}: presented ${presented}`, opts);
      const at = `${first.file}:${first.line}`;
      const removal = `ssh-keygen -R ${shq(name)} -f ${shq(first.file)}`;
      if (first.type === key.type) {
        return new LanesError(
          `HOST KEY CHANGED for ${subject}: presented ${presented}, known_hosts ${at} has ${describeKey(first.type, first.blob)}: possible man-in-the-middle; refusing to connect`,
          { ...opts, hint: `if the host was rebuilt, remove the old key with ${removal}` },
        );
      }
      const knownTypes = [...new Set(verdict.entries.map((e) => e.type))].join(', ');
      return new LanesError(
        `HOST KEY CHANGED for ${subject}: presented ${presented}, a key type not in known_hosts (${at} and the other lines for this host have only ${knownTypes}): possible man-in-the-middle; refusing to connect`,
        {
          ...opts,
          hint: `if the host really has a new ${key.type} key, check its fingerprint out of band and add it to ${first.file} with ssh-keyscan, or remove the old keys with ${removal}`,
        },
      );
    }
    case 'revoked': {
      const at = `${verdict.entry.file}:${verdict.entry.line}`;
      return new LanesError(
        `REVOKED HOST KEY for ${subject}: presented ${presented}, which known_hosts ${at} marks @revoked; refusing to connect`,
        { ...opts, hint: 'the host must be given a new key before lanes will connect to it' },
      );
    }
    case 'known':
      return new LanesError(`host key for ${subject} is known (${presented}); this is not an error`, {
        kind: 'internal',
        host: label ?? host,
      });
  }
}
