/**
 * User and group probes, each kind ONE batch per host: `getent passwd` of every probed user,
 * `getent initgroups` for their groups (NSS-correct: the same getgrouplist that `id -Gn` asks), one
 * `getent group` for the names of those gids, and one `getent group` of every probed group. Three
 * forks for all users instead of three per user.
 */
import type { GroupState, UserState } from '../resources/types.js';
import { shq } from '../transport/quote.js';
import type { ProbeKind } from './probe-kind.js';

/** Lines starting with `::` cannot be getent output (no user or group has an empty name). */
function userCommand(names: string[]): string {
  const args = names.map(shq).join(' ');
  return [
    'set -f',
    `pw=$(getent passwd ${args}); ig=$(getent initgroups ${args})`,
    'printf ":: passwd\\n%s\\n:: initgroups\\n%s\\n" "$pw" "$ig"',
    // Every gid the users have (primary from passwd, the rest from initgroups), named by one lookup.
    'g=',
    'while IFS=: read -r _n _x _u _g _r; do [ -n "$_g" ] && g="$g $_g"; done <<EOF',
    '$pw',
    'EOF',
    'for w in $ig; do case $w in *[!0-9]*) ;; *) g="$g $w" ;; esac; done',
    'echo ":: group"',
    '[ -z "$g" ] || getent group $g',
  ].join('\n');
}

/** `name:x:gid:members` → GroupState. */
function parseGroupLine(line: string): GroupState | undefined {
  const [name, , gid, members] = line.trim().split(':');
  if (!name || gid === undefined) return undefined;
  return { name, gid: Number(gid), members: members ? members.split(',').filter(Boolean) : [] };
}

/** The user fact's output → one UserState per existing user, groups as `id -Gn`/`id -gn` name them. */
export function parseUsers(out: string): UserState[] {
  const sections = new Map<string, string[]>();
  let current = '';
  for (const line of out.split('\n')) {
    if (line.startsWith(':: ')) sections.set((current = line.slice(3)), []);
    else if (current && line) sections.get(current)!.push(line);
  }
  const groupName = new Map<string, string>();
  for (const l of sections.get('group') ?? []) {
    const g = parseGroupLine(l);
    if (g && !groupName.has(String(g.gid))) groupName.set(String(g.gid), g.name);
  }
  // `id` prints the number for a gid that has no name.
  const nameOf = (gid: string) => groupName.get(gid) ?? gid;
  const initgroups = new Map<string, string[]>();
  for (const l of sections.get('initgroups') ?? []) {
    const [name = '', ...gids] = l.trim().split(/\s+/);
    initgroups.set(name, gids);
  }
  const users: UserState[] = [];
  for (const pw of sections.get('passwd') ?? []) {
    const f = pw.split(':');
    if (f.length < 7) continue;
    const [name = '', , uid, gid = '', comment = '', home = '', shell = ''] = f;
    const primary = nameOf(gid);
    const names = new Set([gid, ...(initgroups.get(name) ?? [])].map(nameOf));
    names.delete(primary);
    users.push({ name, uid: Number(uid), gid: Number(gid), group: primary, groups: [...names].sort(), home, shell, comment });
  }
  return users;
}

/** Readings: `user:<name>` → the user (absent: no such user). */
export const userProbes: ProbeKind<'user', UserState> = {
  kind: 'user',
  key: (p) => `user:${p.name}`,
  fact: (probes) => ({
    name: 'users',
    command: userCommand(probes.map((p) => p.name)),
    parse: (out) => Object.fromEntries(parseUsers(out).map((u) => [`user:${u.name}`, u])),
  }),
  assemble(readings, state) {
    for (const u of Object.values(readings)) state.users.set(u.name, u);
  },
};

/** Readings: `group:<name>` → the group (absent: no such group). */
export const groupProbes: ProbeKind<'group', GroupState> = {
  kind: 'group',
  key: (p) => `group:${p.name}`,
  fact: (probes) => ({
    name: 'groups',
    command: `getent group ${probes.map((p) => shq(p.name)).join(' ')}`,
    parse: (out) => {
      const groups = out.split('\n').flatMap((l) => parseGroupLine(l) ?? []);
      return Object.fromEntries(groups.map((g) => [`group:${g.name}`, g]));
    },
  }),
  assemble(readings, state) {
    for (const g of Object.values(readings)) state.groups.set(g.name, g);
  },
};
