/**
 * Where an apply stages its files, and how a later run finds what an interrupted one left behind.
 *
 * A staged file is prepared completely (content, owner, mode) in a directory only root can enter, on
 * the same mount as its destination, and then renamed over it: rename(2) is atomic and replaces the
 * last component itself, never following a symbolic link there. Staging beside the destination would
 * let anyone who can write that directory (site.yml's `shared/` is `root:app 0775`) swap the staged
 * file for a link between lanes' `mktemp` and its `chown`/`chmod`, and make root change any file.
 * The staging directory is the run's own (`RUNDIR/stage`, under the root-only /var/lib/lanes) when the
 * destination is on the same mount, else `<mount point>/.lanes-stage-<run nonce>` made 0700 by the run
 * (and removed by it; one left by an interrupted run is removed by the next run that stages there).
 * Include globs never see a staged file: it is never in the directory they read.
 *
 * Older lanes staged beside the destination (`.<name>.lanes-XXXXXX`, and before that
 * `<name>.lanes-XXXXXX`): such files left by an interrupted run are planned for removal in every
 * directory a playbook manages; the removal runs under the host's apply lock.
 */
import type { ActualState, Change, Probe } from '../resources/types.js';

function split(path: string): { dir: string; base: string } {
  const i = path.lastIndexOf('/');
  return { dir: i <= 0 ? '' : path.slice(0, i), base: path.slice(i + 1) };
}

/**
 * sh for the apply script: `lanes_stage DIR` sets LANES_S to the root-only staging directory on DIR's
 * mount (see above), creating it once per run; it says why it cannot on stdout and returns 1.
 * Needs LANES_R (the run directory), LANES_NONCE and LANES_MR (the mount point of LANES_R, or empty).
 * `lanes_stage_clean` removes the run's staging directories (the EXIT trap calls it).
 */
export const STAGE_DIR_SHELL = `
LANES_MR=$(stat -c %m -- "$LANES_R/." 2>/dev/null) || LANES_MR=
LANES_S=
LANES_SD=
lanes_stage() {
  # Files are mostly staged directory by directory: the same directory has the same staging directory.
  [ -n "$LANES_S" ] && [ "$1" = "$LANES_SD" ] && return 0
  LANES_SD=$1
  _m=$(stat -c %m -- "$1/." 2>&1) || { LANES_SD=; echo "cannot find the mount point of $1: $_m"; return 1; }
  if [ "$_m" = "$LANES_MR" ]; then
    LANES_S="$LANES_R/stage"
    [ -d "$LANES_S" ] || mkdir -m 0700 -- "$LANES_S" || return 1
    return 0
  fi
  LANES_S="\${_m%/}/.lanes-stage-$LANES_NONCE"
  grep -qxF -- "$LANES_S" "$LANES_R/stagedirs" 2>/dev/null && return 0
  # Ours alone under the host's apply lock: any other one was left by an interrupted run.
  for _o in "\${_m%/}"/.lanes-stage-*; do [ "$_o" = "$LANES_S" ] || rm -rf -- "$_o"; done
  # mkdir fails on anything already there (a link planted by whoever can write the mount point).
  mkdir -m 0700 -- "$LANES_S" || { echo "cannot create the staging directory $LANES_S"; return 1; }
  printf '%s\\n' "$LANES_S" >> "$LANES_R/stagedirs"
}
lanes_stage_clean() {
  rm -rf -- "$LANES_R/stage"
  if [ -s "$LANES_R/stagedirs" ]; then while IFS= read -r _d; do rm -rf -- "$_d"; done < "$LANES_R/stagedirs"; fi
  rm -f -- "$LANES_R/stagedirs"
}
`;

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
