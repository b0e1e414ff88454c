/** File-system chores of the lab: unmounting what is left, removing trees safely, writing into a host's root. */
import { chmod, chown, lstat, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LanesError } from '../errors.js';
import { run, runChecked } from './exec.js';
import { mountsUnder, readMountinfo } from './mountinfo.js';

/** Unmount everything mounted at or below `dir`, children first; a busy mount is detached lazily. */
export async function unmountUnder(dir: string): Promise<number> {
  const mounts = mountsUnder(await readMountinfo(), dir);
  for (const m of mounts) {
    const r = await run('umount', [m.mountPoint]);
    if (r.code !== 0) await runChecked(`unmounting ${m.mountPoint}`, 'umount', ['--lazy', m.mountPoint]);
  }
  const left = mountsUnder(await readMountinfo(), dir);
  if (left.length > 0) {
    throw new LanesError(`could not unmount ${left[0]!.mountPoint}`, { kind: 'lab', hint: `unmount it by hand (umount -l ${left[0]!.mountPoint})` });
  }
  return mounts.length;
}

/** Remove a tree without ever crossing into a mounted file system. */
export async function removeTree(dir: string): Promise<void> {
  if (path.resolve(dir) === '/' || path.resolve(dir).split('/').length < 3) throw new Error(`refusing to remove ${dir}`);
  await unmountUnder(dir);
  await runChecked(`removing ${dir}`, 'rm', ['-rf', '--one-file-system', '--', dir]);
}

/**
 * Check that no component of `rel` below `root` is a symbolic link, so that writing into a host's
 * tree (which the host itself may have changed) can never land outside it.
 */
async function assertNoSymlinks(root: string, rel: string): Promise<void> {
  let cur = root;
  for (const part of rel.split('/').filter((p) => p !== '')) {
    cur = path.join(cur, part);
    try {
      if ((await lstat(cur)).isSymbolicLink()) {
        throw new LanesError(`refusing to write through the symbolic link ${cur}`, { kind: 'lab', hint: 'remove the lab host with `lanes lab down` and bring it up again' });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
  }
}

export interface WriteOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Write `<root>/<rel>` atomically (temp file + rename), creating parent directories. */
export async function writeInto(root: string, rel: string, content: string, opts: WriteOptions = {}): Promise<void> {
  const dirRel = path.dirname(rel);
  await assertNoSymlinks(root, dirRel);
  const target = path.join(root, rel);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.lanes-tmp`;
  await unlink(tmp).catch(() => undefined);
  await writeFile(tmp, content, { mode: opts.mode ?? 0o644, flag: 'wx' });
  await chmod(tmp, opts.mode ?? 0o644);
  if (opts.uid !== undefined && opts.gid !== undefined) await chown(tmp, opts.uid, opts.gid);
  await rename(tmp, target);
}

/** Make `<root>/<rel>` a directory with the given mode and owner. */
export async function mkdirInto(root: string, rel: string, opts: WriteOptions = {}): Promise<void> {
  await assertNoSymlinks(root, rel);
  const target = path.join(root, rel);
  await mkdir(target, { recursive: true });
  if (opts.mode !== undefined) await chmod(target, opts.mode);
  if (opts.uid !== undefined && opts.gid !== undefined) await chown(target, opts.uid, opts.gid);
}

export async function symlinkInto(root: string, rel: string, target: string): Promise<void> {
  await assertNoSymlinks(root, path.dirname(rel));
  const link = path.join(root, rel);
  await unlink(link).catch(() => undefined);
  const { symlink } = await import('node:fs/promises');
  await symlink(target, link);
}

export async function removeInto(root: string, rel: string): Promise<void> {
  await assertNoSymlinks(root, path.dirname(rel));
  await unlink(path.join(root, rel)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}
