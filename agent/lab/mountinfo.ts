/**
 * /proc/self/mountinfo, to find the overlays a lab left mounted. Processes die with the session that
 * started them, mounts do not: a later `up` or `down` must find and unmount them itself.
 */
import { readFile } from 'node:fs/promises';

export interface MountEntry {
  id: number;
  parentId: number;
  /** Path inside the filesystem that is mounted (usually '/'). */
  root: string;
  mountPoint: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parse mountinfo text: `id parent maj:min root mountpoint options [optional…] - fstype source superoptions`. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const sep = fields.indexOf('-', 6);
    if (sep < 0 || fields.length < sep + 3) continue;
    out.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      fsType: fields[sep + 1]!,
      source: unescapeMountField(fields[sep + 2]!),
      superOptions: fields.slice(sep + 3).join(' '),
    });
  }
  return out;
}

/**
 * The mounts at `dir` or below it, in the order they must be unmounted: children before parents
 * (deepest mount point first; among equal paths, the later mount, which hides the earlier, first).
 */
export function mountsUnder(entries: readonly MountEntry[], dir: string): MountEntry[] {
  const base = dir.replace(/\/+$/, '');
  return entries
    .map((e, order) => ({ e, order }))
    .filter(({ e }) => e.mountPoint === base || e.mountPoint.startsWith(`${base}/`))
    .sort((a, b) => b.e.mountPoint.length - a.e.mountPoint.length || b.order - a.order)
    .map(({ e }) => e);
}

/** The value of one `key=value` option of an overlay's super options (lowerdir, upperdir, workdir). */
export function overlayOption(entry: MountEntry, key: string): string | undefined {
  for (const opt of entry.superOptions.split(',')) {
    const eq = opt.indexOf('=');
    if (eq > 0 && opt.slice(0, eq) === key) return opt.slice(eq + 1);
  }
  return undefined;
}

export async function readMountinfo(): Promise<MountEntry[]> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}
