/**
 * Where an apply stages its files, and how a later run finds what an interrupted one left behind.
 *
 * A staged file is a dot-file beside its destination (same filesystem, so the final rename is
 * atomic): `<dir>/.<name>.lanes-XXXXXX`. Include globs never load it — nginx, php-fpm and Supervisor
 * glob without matching leading dots, and the name does not end in `.conf`/`.service`/… either.
 * Files left by an interrupted run (or by lanes versions that staged as `<name>.lanes-XXXXXX`) are
 * planned for removal in every directory a playbook manages; the removal runs under the host's apply
 * lock, so it never touches the staging of an apply still running.
 */
import type { ActualState, Change, Probe } from '../resources/types.js';

function split(path: string): { dir: string; base: string } {
  const i = path.lastIndexOf('/');
  return { dir: i <= 0 ? '' : path.slice(0, i), base: path.slice(i + 1) };
}

/** The mktemp template of a staged write. */
export function stagingTemplate(path: string): string {
  const { dir, base } = split(path);
  return `${dir}/.${base}.lanes-XXXXXX`;
}

/** A staging path with a fixed tag (`link-<nonce>`, `restore-<nonce>`). */
export function stagingPath(path: string, tag: string): string {
  const { dir, base } = split(path);
  return `${dir}/.${base}.lanes-${tag}`;
}

/** Names lanes stages under: this layout (dot-files) and the older one (`name.lanes-XXXXXX`). */
const STAGING_NAME = /^(?:\.[^/]+\.lanes-(?:[A-Za-z0-9]{6}|link-[0-9a-f]{6,64}|restore-[0-9a-f]{6,64})|[^/.][^/]*\.lanes-(?:[A-Za-z0-9]{6}|link-[0-9a-f]{6,64}|restore))$/;

export function isStagingName(name: string): boolean {
  return STAGING_NAME.test(name);
}

/** The directories a set of file probes manages. */
function managedDirs(probes: Probe[]): string[] {
  const dirs = new Set<string>();
  for (const p of probes) {
    if (p.kind !== 'file') continue;
    const { dir } = split(p.path);
    if (dir !== '' && !/[*?[]/.test(dir)) dirs.add(dir);
  }
  return [...dirs].sort();
}

/** Probes that read any staging file in the managed directories (read in the same exec as the rest). */
export function stagingProbes(probes: Probe[]): Probe[] {
  return managedDirs(probes).flatMap((dir): Probe[] => [
    { kind: 'file', path: `${dir}/.*.lanes-*` },
    { kind: 'file', path: `${dir}/*.lanes-*` },
  ]);
}

/** A removal for every staging file found in a managed directory. */
export function staleStagingChanges(probes: Probe[], actual: ActualState): Change[] {
  const dirs = new Set(managedDirs(probes));
  const out: Change[] = [];
  for (const [path, f] of [...actual.files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const { dir, base } = split(path);
    if (!dirs.has(dir) || !isStagingName(base) || f.type === 'directory') continue;
    out.push({
      resource: `staging[${path}]`,
      action: 'delete',
      summary: `remove ${path}, a staged file left by an interrupted apply`,
      operations: [{ op: 'remove', path }],
    });
  }
  return out;
}
