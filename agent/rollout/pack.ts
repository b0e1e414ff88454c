/**
 * Deterministic .tar.gz packing and listing on the controller, in-process (tar-stream + zlib): no
 * `tar` is spawned, so a release works from a laptop without GNU tar (macOS ships bsdtar).
 *
 * The bytes depend on content only: entries sorted by path component, mtime 0, uid/gid 0 with no
 * user/group names, modes normalised as the host does after extraction (no group/other write bit,
 * no setuid/setgid/sticky), ustar headers (pax only for names too long for ustar, holding just the
 * name), and a gzip header without name or time. Same tree → same bytes → same release id.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import { LanesError } from '../errors.js';

/** One entry of a release tree, relative to its root ("public", "public/index.php"). */
export interface PackEntry {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  data?: Buffer;
  linkname?: string;
}

/** The mode a release entry gets: permission bits only, without group/other write (as `chmod go-w,ug-s,-t` on the host). */
export function normaliseMode(mode: number): number {
  return mode & 0o755;
}

/** Order of entries: component by component, so a directory comes right before what it holds (as a sorted walk). */
export function comparePaths(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

/** A name from a tar header or a walk, as a release-relative path ('./a/', 'a//b' → 'a', 'a/b'). */
export function entryName(name: string): string {
  return path.posix.normalize(name).replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** Pack entries into a deterministic .tar.gz. */
export async function packEntries(entries: PackEntry[]): Promise<Buffer> {
  const sorted = [...entries].sort((a, b) => comparePaths(a.name, b.name));
  const p = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of p) chunks.push(Buffer.from(c as Uint8Array));
  })();
  const mtime = new Date(0);
  for (const e of sorted) {
    const header = { name: e.name, mode: normaliseMode(e.mode), mtime, uid: 0, gid: 0, uname: '', gname: '' };
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === 'file') p.entry({ ...header, type: 'file', size: e.data?.length ?? 0 }, e.data ?? Buffer.alloc(0), done);
      else if (e.type === 'symlink') p.entry({ ...header, type: 'symlink', linkname: e.linkname ?? '' }, done);
      // The trailing slash marks a directory by its name too, as tar does (tar-stream leaves it out).
      else p.entry({ ...header, name: `${e.name}/`, type: 'directory' }, done);
    });
  }
  p.finalize();
  await collected;
  // One gzipSync over the whole tar (not a stream): the compressed bytes cannot depend on chunking.
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/**
 * The entries of a directory tree, walked without following links. A symlink stays a symlink (the
 * host refuses one pointing outside the release); a FIFO, socket or device is refused naming it.
 */
export async function readTree(root: string, label: string): Promise<PackEntry[]> {
  const out: PackEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(root, rel))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const n of names) {
      const name = rel ? `${rel}/${n}` : n;
      const abs = path.join(root, name);
      const st = await lstat(abs);
      if (st.isDirectory()) {
        out.push({ name, type: 'directory', mode: st.mode });
        await walk(name);
      } else if (st.isFile()) {
        out.push({ name, type: 'file', mode: st.mode, data: await readFile(abs) });
      } else if (st.isSymbolicLink()) {
        out.push({ name, type: 'symlink', mode: 0o777, linkname: await readlink(abs) });
      } else {
        throw new LanesError(`release artifact ${label}: ${name} is a FIFO, socket or device, not a file, directory or link`, {
          hint: 'remove it from the artifact directory',
        });
      }
    }
  };
  try {
    await walk('');
  } catch (e) {
    if (e instanceof LanesError) throw e;
    throw new LanesError(`release artifact ${label} cannot be read: ${(e as Error).message}`);
  }
  return out;
}

export interface TarListing {
  /** Entries that are not directories (regular files, links). */
  files: number;
  /** Every path, relative to the release root. */
  entries: Set<string>;
}

/** List a .tar.gz in-process; a damaged one is refused naming `label`. */
export async function listTarGz(bytes: Buffer, label: string): Promise<TarListing> {
  const bad = (e: unknown) => new LanesError(`release artifact ${label} is not a valid .tar.gz: ${(e as Error).message}`);
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes);
  } catch (e) {
    throw bad(e);
  }
  let files = 0;
  const entries = new Set<string>();
  try {
    await readTar(tar, async (h) => {
      if (h.type !== 'directory') files++;
      const n = entryName(h.name);
      if (n !== '' && n !== '.') entries.add(n);
    });
  } catch (e) {
    throw bad(e);
  }
  return { files, entries };
}

/** Each entry of an uncompressed tar (a buffer or a stream), with its data for regular files. */
export async function readTar(
  input: Buffer | NodeJS.ReadableStream,
  onEntry: (header: { name: string; type: string; mode: number; linkname?: string }, data: Buffer | undefined) => Promise<void>,
): Promise<void> {
  const ex = extract();
  if (Buffer.isBuffer(input)) ex.end(input);
  else {
    input.on('error', (e: Error) => ex.destroy(e));
    input.pipe(ex as unknown as NodeJS.WritableStream);
  }
  for await (const entry of ex) {
    const h = entry.header;
    let data: Buffer | undefined;
    if (h.type === 'file' || h.type === 'contiguous-file') {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(Buffer.from(c as Uint8Array));
      data = Buffer.concat(parts);
    } else {
      entry.resume();
    }
    await onEntry({ name: h.name, type: h.type ?? 'file', mode: h.mode ?? 0o644, linkname: h.linkname ?? undefined }, data);
  }
}
