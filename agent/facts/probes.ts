/**
 * Probes: the per-resource reads (files, users, groups, packages, units, supervisor) turned into
 * facts, so they run in the same single exec as the host facts (see gather.ts). Each probe's output
 * is base64-framed where it carries arbitrary bytes (paths, contents), so nothing in a file can
 * break the framing.
 */
import { createHash } from 'node:crypto';
import type { ActualState, FileState, GroupState, PackageState, Probe, SupervisorProcessState, UnitState, UserState } from '../resources/types.js';
import { shq } from '../transport/quote.js';
import type { Fact } from './fact.js';
import { gatherFacts, hostFacts, type HostFacts } from './gather.js';
import type { SshConnection } from '../transport/connection.js';

/** Files larger than this are compared by checksum only. */
export const MAX_CONTENT_BYTES = 512 * 1024;

const ALWAYS_UNIT_PROPS = ['Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'FragmentPath', 'NeedDaemonReload'];

type Contribution = (state: ActualState) => void;

export function probeKey(p: Probe): string {
  switch (p.kind) {
    case 'file':
      return `file:${p.path}`;
    case 'user':
    case 'group':
    case 'package':
      return `${p.kind}:${p.name}`;
    case 'unit':
      return `unit:${p.name}`;
    case 'supervisor':
      return 'supervisor';
  }
}

/** Merge probes that read the same thing (unit probes merge their property lists). */
export function dedupeProbes(probes: Probe[]): Probe[] {
  const byKey = new Map<string, Probe>();
  for (const p of probes) {
    const key = probeKey(p);
    const prev = byKey.get(key);
    if (prev && prev.kind === 'unit' && p.kind === 'unit') {
      byKey.set(key, { kind: 'unit', name: p.name, properties: [...new Set([...(prev.properties ?? []), ...(p.properties ?? [])])] });
    } else if (!prev) byKey.set(key, p);
  }
  return [...byKey.values()].sort((a, b) => probeKey(a).localeCompare(probeKey(b)));
}

/** A path pattern for the shell: `*` expands, everything else is quoted literally. */
export function globWord(pattern: string): string {
  return pattern
    .split('*')
    .map((part) => (part === '' ? '' : shq(part)))
    .join('*');
}

/**
 * One `F` line per matching path. The content is read through ONE descriptor whose object must be the
 * one lstat saw as a regular file (same device and inode): in a directory another user can write, the
 * file may be swapped for a symbolic link between the type check and the read, and root would then
 * read (and a plan would print) whatever the link points to. A file swapped for a link reads as
 * that link (which the plan replaces by the file, never following it).
 */
function fileCommand(path: string): string {
  return [
    `for f in ${globWord(path)}; do`,
    '  [ -e "$f" ] || [ -L "$f" ] || continue',
    // A literal path's base64 is known here: one fork less per file (reads of many files add up).
    path.includes('*') ? '  p=$(printf %s "$f" | base64 -w0)' : `  p=${Buffer.from(path, 'utf8').toString('base64')}`,
    '  if [ -L "$f" ]; then t=symlink; elif [ -d "$f" ]; then t=directory; elif [ -f "$f" ]; then t=file; else t=other; fi',
    '  a=$(stat -c "%a %U %G %s %d:%i" -- "$f")',
    '  set -- $a',
    '  sum=-; body=-; target=-',
    '  if [ $t = file ]; then',
    '    ok=',
    // A brace group, not `exec`: a failed redirection of `exec` would end the shell.
    '    { [ "$(stat -L -c %d:%i /dev/fd/3 2>/dev/null)" = "$5" ] && ok=1 &&',
    // A small file's checksum is computed by the controller from its content (one read, fewer forks).
    `      if [ "$4" -le ${MAX_CONTENT_BYTES} ]; then body=$(base64 -w0 <&3); [ -n "$body" ] || body=.`,
    '      else sum=$(sha256sum <&3 | cut -d" " -f1); fi; } 3< "$f"',
    '    if [ -z "$ok" ]; then sum=-; body=-; if [ -L "$f" ]; then t=symlink; else t=other; fi; fi',
    '  fi',
    '  [ $t = symlink ] && target=$(readlink -- "$f" | base64 -w0)',
    '  printf "F %s %s %s %s %s %s %s %s %s\\n" "$p" $t "$1" "$2" "$3" "$4" "$sum" "$target" "$body"',
    'done',
  ].join('\n');
}

/** sha256 (hex) of the bytes a base64 text carries. */
function sha256(base64: string): string {
  return createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
}

function b64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}

function parseFiles(out: string): FileState[] {
  const files: FileState[] = [];
  for (const line of out.split('\n')) {
    const parts = line.split(' ');
    if (parts[0] !== 'F' || parts.length < 10) continue;
    const [, p, type, mode, owner, group, size, sum, target, body] = parts as string[];
    files.push({
      path: b64(p!),
      type: type as FileState['type'],
      mode: mode!.padStart(4, '0'),
      owner: owner!,
      group: group!,
      size: Number(size),
      ...(sum !== '-' ? { sha256: sum } : body !== undefined && body !== '-' ? { sha256: sha256(body === '.' ? '' : body) } : {}),
      ...(body !== '-' ? { content: body === '.' ? '' : b64(body!) } : {}),
      ...(target !== '-' ? { target: b64(target!) } : {}),
    });
  }
  return files;
}

function probeFact(p: Probe): Fact<Contribution> {
  switch (p.kind) {
    case 'file':
      return {
        name: probeKey(p),
        command: fileCommand(p.path),
        parse: (out) => (s) => {
          for (const f of parseFiles(out)) s.files.set(f.path, f);
        },
      };
    case 'user':
      return {
        name: probeKey(p),
        command: `getent passwd ${shq(p.name)} && printf 'groups %s\\n' "$(id -Gn ${shq(p.name)})" && printf 'pgroup %s\\n' "$(id -gn ${shq(p.name)})"`,
        parse: (out) => (s) => {
          const u = parseUser(out);
          if (u) s.users.set(u.name, u);
        },
      };
    case 'group':
      return {
        name: probeKey(p),
        command: `getent group ${shq(p.name)}`,
        parse: (out) => (s) => {
          const [name, , gid, members] = out.trim().split(':');
          if (name && gid !== undefined) s.groups.set(name, { name, gid: Number(gid), members: members ? members.split(',').filter(Boolean) : [] } satisfies GroupState);
        },
      };
    case 'package':
      return {
        name: probeKey(p),
        command: [
          'if command -v dpkg-query >/dev/null 2>&1; then',
          `  dpkg-query -W -f='\${db:Status-Abbrev} \${Version}\\n' ${shq(p.name)} 2>/dev/null | awk '$1 ~ /^.i/ { print "version " $2 }'`,
          'elif command -v rpm >/dev/null 2>&1; then',
          `  rpm -q --qf 'version %{VERSION}-%{RELEASE}\\n' ${shq(p.name)} 2>/dev/null | grep '^version '`,
          'fi',
        ].join('\n'),
        parse: (out) => (s) => {
          const m = /^version (\S+)/m.exec(out);
          s.packages.set(p.name, { name: p.name, ...(m ? { version: m[1] } : {}) } satisfies PackageState);
        },
      };
    case 'unit': {
      const props = [...new Set([...ALWAYS_UNIT_PROPS, ...(p.properties ?? [])])];
      return {
        name: probeKey(p),
        command: `systemctl show --no-pager -p ${shq(props.join(','))} -- ${shq(p.name)}`,
        parse: (out) => (s) => {
          const unitProps: Record<string, string> = {};
          for (const line of out.split('\n')) {
            const i = line.indexOf('=');
            if (i > 0) unitProps[line.slice(0, i)] = line.slice(i + 1);
          }
          s.units.set(p.name, { name: p.name, props: unitProps } satisfies UnitState);
        },
      };
    }
    case 'supervisor':
      return {
        name: probeKey(p),
        command: 'command -v supervisorctl >/dev/null 2>&1 || exit 0; supervisorctl status; echo "rc $?"',
        parse: (out) => (s) => {
          s.supervisor = parseSupervisorStatus(out);
        },
      };
  }
}

export function parseUser(out: string): UserState | undefined {
  const lines = out.split('\n');
  const pw = lines.find((l) => l.split(':').length >= 7);
  if (!pw) return undefined;
  const [name, , uid, gid, comment, home, shell] = pw.split(':');
  const groupsLine = lines.find((l) => l.startsWith('groups '))?.slice(7) ?? '';
  const primary = lines.find((l) => l.startsWith('pgroup '))?.slice(7).trim() ?? '';
  const groups = groupsLine
    .split(/\s+/)
    .filter((g) => g && g !== primary)
    .sort();
  return { name: name!, uid: Number(uid), gid: Number(gid), group: primary, groups, home: home!, shell: shell!, comment: comment! };
}

/**
 * `supervisorctl status` lines: `name   STATE   description`. Exit 3 (some program not running) is
 * normal; "unix:///… no such file" or exit 4/7 means supervisord does not answer → undefined.
 */
export function parseSupervisorStatus(out: string): Map<string, SupervisorProcessState> | undefined {
  const rc = /^rc (\d+)$/m.exec(out);
  if (!rc) return undefined;
  const code = Number(rc[1]);
  if (code !== 0 && code !== 3) return undefined;
  const map = new Map<string, SupervisorProcessState>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+([A-Z]+)\b/.exec(line);
    if (m && m[1] !== 'rc') map.set(m[1]!, { name: m[1]!, state: m[2]! });
  }
  return map;
}

/** Host facts plus every probe, in ONE exec. */
export async function readState(conn: SshConnection, probes: Probe[], opts: { timeoutMs?: number } = {}): Promise<ActualState> {
  const facts = stateFacts(probes);
  return assembleState(await gatherFacts(conn, facts, { timeoutMs: opts.timeoutMs }));
}

/** Host facts and one fact per (deduplicated) probe; the apply engine re-reads with the same set to verify. */
export function stateFacts(probes: Probe[]): Record<string, Fact<unknown>> {
  const probeFacts: Record<string, Fact<unknown>> = {};
  dedupeProbes(probes).forEach((p, i) => (probeFacts[`probe${i}`] = probeFact(p)));
  return { ...hostFacts, ...probeFacts };
}

/** Turn gathered values (host facts + probe contributions) into an ActualState. */
export function assembleState(values: Record<string, unknown>): ActualState {
  const v = values as HostFacts & Record<string, unknown>;
  const facts: HostFacts = {
    os: v.os,
    hardware: v.hardware,
    php_fpm: v.php_fpm,
    supervisor: v.supervisor,
    systemd: v.systemd,
    package_manager: v.package_manager,
  };
  const state: ActualState = { facts, files: new Map(), users: new Map(), groups: new Map(), packages: new Map(), units: new Map(), supervisor: undefined };
  for (const [name, value] of Object.entries(values)) if (name.startsWith('probe')) (value as Contribution)(state);
  return state;
}
