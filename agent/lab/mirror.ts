/**
 * The Debian mirror the base image is debootstrapped from: the one apt on this machine already uses
 * (it is known to be reachable), else deb.debian.org.
 */
import { readFile } from 'node:fs/promises';

export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const DEB822_SOURCES = '/etc/apt/sources.list.d/debian.sources';
export const ONE_LINE_SOURCES = '/etc/apt/sources.list';

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
}

/** Parse deb822 `.sources` text: stanzas separated by blank lines, `Field: value`, continuation lines indented. */
export function parseDeb822Sources(text: string): AptSource[] {
  const stanzas: Map<string, string>[] = [];
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (raw.startsWith('#')) continue;
    if (raw.trim() === '') {
      current = undefined;
      lastKey = undefined;
      continue;
    }
    if (/^[ \t]/.test(raw)) {
      if (current && lastKey) current.set(lastKey, `${current.get(lastKey) ?? ''} ${raw.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+):(.*)$/.exec(raw);
    if (!m) continue;
    if (!current) {
      current = new Map();
      stanzas.push(current);
    }
    lastKey = m[1]!.toLowerCase();
    current.set(lastKey, m[2]!.trim());
  }
  const words = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter((w) => w !== '');
  return stanzas.map((s) => ({
    types: words(s.get('types')),
    uris: words(s.get('uris')),
    suites: words(s.get('suites')),
    components: words(s.get('components')),
    enabled: !/^(no|false|0)$/i.test(s.get('enabled') ?? 'yes'),
  }));
}

/** Parse one-line `sources.list` text: `deb [options] URI SUITE COMPONENT…`. */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      types: [m[1]!],
      uris: [m[2]!],
      suites: [m[3]!],
      components: m[4]!.trim().split(/\s+/).filter((w) => w !== ''),
      enabled: true,
    });
  }
  return out;
}

/**
 * Pick the mirror for `suite` from apt's sources: an enabled binary (`deb`) source that carries the
 * suite itself, else one that looks like a Debian archive (path ending in /debian); never a security
 * or Ubuntu archive, which do not carry the suite.
 */
export function chooseMirror(sources: readonly AptSource[], suite = 'bookworm'): string | undefined {
  const candidates = sources.filter(
    (s) => s.enabled && s.types.includes('deb') && s.uris.length > 0 && !s.suites.every((x) => x.endsWith('-security')),
  );
  const usable = (uri: string): boolean => /^(https?|file):\/\//.test(uri) && !/security|ubuntu/i.test(uri);
  for (const s of candidates) {
    if (!s.suites.includes(suite)) continue;
    const uri = s.uris.find(usable);
    if (uri) return stripSlash(uri);
  }
  for (const s of candidates) {
    const uri = s.uris.find((u) => usable(u) && /\/debian\/?$/.test(u));
    if (uri) return stripSlash(uri);
  }
  return undefined;
}

function stripSlash(uri: string): string {
  return uri.replace(/\/+$/, '');
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `$LANES_LAB_MIRROR`, else apt's deb822 sources, else its one-line sources.list, else deb.debian.org. */
export async function detectMirror(suite = 'bookworm', env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.LANES_LAB_MIRROR) return stripSlash(env.LANES_LAB_MIRROR);
  const deb822 = await readIfExists(DEB822_SOURCES);
  const fromDeb822 = deb822 === undefined ? undefined : chooseMirror(parseDeb822Sources(deb822), suite);
  if (fromDeb822) return fromDeb822;
  const oneLine = await readIfExists(ONE_LINE_SOURCES);
  const fromOneLine = oneLine === undefined ? undefined : chooseMirror(parseOneLineSources(oneLine), suite);
  return fromOneLine ?? DEFAULT_MIRROR;
}
