/**
 * A cgroup of its own for every lab host.
 *
 * With `--keep-unit` and no machined, systemd-nspawn makes the container's cgroups below the one
 * it was started in (`<cgroup>/supervisor`, `<cgroup>/payload`). Hosts started from the same
 * process would share `payload/system.slice/nginx.service` and so on: one host's systemd would
 * kill or adopt another host's services, and parallel boots race on creating and removing the
 * same directories (seen: systemd-update-utmp failing with 219/CGROUP). So each host's nspawn is
 * moved into `<our cgroup>/lanes-lab/<machine>` in the systemd-named v1 hierarchy and in the
 * unified hierarchy before it starts.
 */
import { mkdir, readdir, readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { readMountinfo, type MountEntry } from './mountinfo.js';

/** /proc/<pid>/cgroup → hierarchy key ('name=systemd', 'memory', '' for the unified one) → path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const key of m[2]!.split(',')) out.set(key, m[3]!);
  }
  return out;
}

export interface CgroupLayout {
  /** A v1 hierarchy named systemd exists: the machine has a legacy or hybrid tree. */
  legacy: boolean;
  /** Mount points of the hierarchies to place hosts in, each with our own path in it. */
  hierarchies: { mountPoint: string; ownPath: string }[];
}

export function cgroupLayout(mounts: readonly MountEntry[], own: ReadonlyMap<string, string>): CgroupLayout {
  const hierarchies: CgroupLayout['hierarchies'] = [];
  const named = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.split(',').includes('name=systemd'));
  if (named && own.has('name=systemd')) hierarchies.push({ mountPoint: named.mountPoint, ownPath: own.get('name=systemd')! });
  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  if (unified && own.has('')) hierarchies.push({ mountPoint: unified.mountPoint, ownPath: own.get('')! });
  return { legacy: named !== undefined, hierarchies };
}

export async function readCgroupLayout(): Promise<CgroupLayout> {
  return cgroupLayout(await readMountinfo(), parseProcCgroup(await readFile('/proc/self/cgroup', 'utf8')));
}

/** The directories, one per hierarchy, that a host's nspawn runs in. */
export function hostCgroupDirs(layout: CgroupLayout, machine: string): string[] {
  return layout.hierarchies.map((h) => path.join(h.mountPoint, h.ownPath, 'lanes-lab', machine));
}

/** Remove a cgroup tree bottom-up (only empty cgroups can go; busy ones are left). */
export async function removeCgroupTree(dir: string): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) await removeCgroupTree(path.join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/** A fresh, empty cgroup per hierarchy for the host (an earlier boot's leftovers are removed first). */
export async function prepareHostCgroups(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) {
    await removeCgroupTree(dir);
    await mkdir(dir, { recursive: true });
  }
}

/** Every pid in the cgroup trees (to kill what is left of a host that would not stop). */
export async function cgroupPids(dirs: readonly string[]): Promise<number[]> {
  const pids = new Set<number>();
  const walk = async (dir: string): Promise<void> => {
    try {
      for (const p of (await readFile(path.join(dir, 'cgroup.procs'), 'utf8')).split('\n')) if (p.trim()) pids.add(Number(p));
      for (const e of await readdir(dir, { withFileTypes: true })) if (e.isDirectory()) await walk(path.join(dir, e.name));
    } catch {
      /* gone */
    }
  };
  for (const dir of dirs) await walk(dir);
  return [...pids];
}
