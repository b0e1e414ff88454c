/**
 * `user`: a local account (useradd / usermod / userdel). An existing account is not "as declared":
 * uid, primary group, supplementary groups, shell, home and comment are compared and only what
 * differs is changed, each difference listed as a field.
 *
 *   users:
 *     - { name: deploy, uid: 1001, groups: [www-data], shell: /bin/bash }
 *     - { name: queueuser, system: true, groups: [app] }
 *
 * Flags are the same on Debian and RHEL; the one default that differs (CREATE_HOME in login.defs)
 * is made explicit with --create-home / --no-create-home.
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { shCommand } from '../transport/quote.js';
import { managedPath } from './file.js';
import { accountId } from './group.js';
import type { ActualState, Change, FieldChange, Operation, PlanContext, Probe, ResourceType, UserState } from './types.js';
import { absolutePath, unixName } from './values.js';

export const userSchema = z
  .strictObject({
    name: unixName,
    uid: accountId.optional(),
    /** Primary group. Omitted: the group named like the user (created by useradd when missing). */
    group: unixName.optional(),
    /** Supplementary groups: the exact set, or with `append: true` only added to. */
    groups: z.array(unixName).optional(),
    append: z.boolean().default(false),
    /** A system account (uid from the system range, no home created unless create_home). Only at creation. */
    system: z.boolean().default(false),
    shell: absolutePath.optional(),
    home: managedPath.optional(),
    /** Default: true for normal accounts, false for system accounts. Only at creation. */
    create_home: z.boolean().optional(),
    /** The GECOS field: one line, no ":" (the /etc/passwd field separator). */
    comment: z
      .string()
      .refine((s) => !/[:\r\n\0]/.test(s), 'must be one line without ":" (the /etc/passwd field separator)')
      .optional(),
    state: z.enum(['present', 'absent']).default('present'),
  })
  .superRefine((spec, ctx) => {
    if (spec.append && spec.groups === undefined) {
      ctx.addIssue({ code: 'custom', path: ['append'], message: 'only applies together with groups' });
    }
  });
export type UserSpec = z.output<typeof userSchema>;

type Availability = 'exists' | 'declared' | 'declared-absent' | 'missing';

/** Whether a group exists on the host, or will: declared (present) among this host's resources. */
function groupAvailability(name: string, actual: ActualState, ctx: PlanContext): Availability {
  if (actual.groups.has(name)) return 'exists';
  const declared = ctx.all.find((r) => r.type === 'group' && r.id === name);
  if (!declared) return 'missing';
  const state = (declared.spec as { state?: unknown } | null)?.state;
  return state === 'absent' ? 'declared-absent' : 'declared';
}

const sortedUnique = (names: readonly string[]): string[] => [...new Set(names)].sort();
const list = (names: readonly string[]): string => `[${names.join(', ')}]`;

export const userResource: ResourceType<UserSpec> = {
  type: 'user',
  schema: userSchema,
  id: (spec) => spec.name,
  probes(spec): Probe[] {
    if (spec.state === 'absent') return [{ kind: 'user', name: spec.name }];
    // The user's own name too when no group is given: useradd needs --gid when that group exists.
    const groups = sortedUnique([spec.group ?? spec.name, ...(spec.groups ?? [])]);
    return [{ kind: 'user', name: spec.name }, ...groups.map((name) => ({ kind: 'group' as const, name }))];
  },
  plan(spec, actual, ctx): Change[] {
    const resource = `user[${spec.name}]`;
    const have = actual.users.get(spec.name);

    if (spec.state === 'absent') {
      if (!have) return [];
      return [
        {
          resource,
          action: 'delete',
          summary: `delete user ${spec.name} (home ${have.home} is kept)`,
          fields: [
            { name: 'uid', before: String(have.uid) },
            { name: 'home', before: have.home },
          ],
          operations: [run(['userdel', spec.name], `delete user ${spec.name}`)],
        },
      ];
    }

    // Every group named must exist or be declared for this host; a missing primary group named like
    // the user is the one useradd creates itself (--user-group).
    const userGroupByUseradd = !have && spec.group === spec.name;
    for (const name of sortedUnique([...(spec.group !== undefined ? [spec.group] : []), ...(spec.groups ?? [])])) {
      const availability = groupAvailability(name, actual, ctx);
      if (availability === 'exists' || availability === 'declared') continue;
      if (availability === 'missing' && name === spec.name && userGroupByUseradd) continue;
      const why = availability === 'declared-absent' ? `is declared absent for ${ctx.host}` : `does not exist on ${ctx.host} and is not declared`;
      throw new LanesError(`${resource}: group ${name} ${why}`, { location: ctx.source, host: ctx.host, hint: `declare group ${name}, or remove it from the user` });
    }

    if (!have) return [createUser(spec, resource, actual, ctx)];
    return updateUser(spec, resource, have);
  },
};

function createUser(spec: UserSpec, resource: string, actual: ActualState, ctx: PlanContext): Change {
  const primary = spec.group ?? spec.name;
  const availability = groupAvailability(primary, actual, ctx);
  const primaryArgs = availability === 'exists' || availability === 'declared' ? ['--gid', primary] : ['--user-group'];
  const groups = sortedUnique(spec.groups ?? []);
  const createHome = spec.create_home ?? !spec.system;
  const args = [
    'useradd',
    ...(spec.system ? ['--system'] : []),
    ...(spec.uid !== undefined ? ['--uid', String(spec.uid)] : []),
    ...primaryArgs,
    ...(groups.length ? ['--groups', groups.join(',')] : []),
    ...(spec.shell !== undefined ? ['--shell', spec.shell] : []),
    ...(spec.home !== undefined ? ['--home-dir', spec.home] : []),
    createHome ? '--create-home' : '--no-create-home',
    ...(spec.comment !== undefined ? ['--comment', spec.comment] : []),
    spec.name,
  ];
  const fields: FieldChange[] = [
    ...(spec.uid !== undefined ? [{ name: 'uid', after: String(spec.uid) }] : []),
    { name: 'group', after: primary },
    ...(groups.length ? [{ name: 'groups', after: list(groups) }] : []),
    ...(spec.shell !== undefined ? [{ name: 'shell', after: spec.shell }] : []),
    ...(spec.home !== undefined ? [{ name: 'home', after: spec.home }] : []),
    ...(spec.comment !== undefined ? [{ name: 'comment', after: spec.comment }] : []),
  ];
  const details = [...(spec.system ? ['system'] : []), ...(spec.uid !== undefined ? [`uid ${spec.uid}`] : []), ...(groups.length ? [`groups ${groups.join(', ')}`] : [])];
  const summary = `create user ${spec.name}${details.length ? ` (${details.join(', ')})` : ''}`;
  return { resource, action: 'create', summary, fields, operations: [run(args, summary)] };
}

function updateUser(spec: UserSpec, resource: string, have: UserState): Change[] {
  const fields: FieldChange[] = [];
  const flags: string[] = [];
  const notes: string[] = [];

  if (spec.uid !== undefined && spec.uid !== have.uid) {
    fields.push({ name: 'uid', before: String(have.uid), after: String(spec.uid) });
    flags.push('--uid', String(spec.uid));
    notes.push(`usermod re-owns the files under ${have.home} only: files elsewhere keep uid ${have.uid} (and it refuses while the user has running processes)`);
  }
  if (spec.group !== undefined && spec.group !== have.group) {
    fields.push({ name: 'group', before: have.group, after: spec.group });
    flags.push('--gid', spec.group);
  }
  if (spec.groups !== undefined) {
    // The primary group is left out on both sides: membership through it is implicit, and whether
    // the probe lists it among supplementary groups must not make a converged user look changed.
    const primary = spec.group ?? have.group;
    const want = sortedUnique(spec.groups.filter((g) => g !== primary));
    const current = sortedUnique(have.groups.filter((g) => g !== primary));
    if (spec.append) {
      const missing = want.filter((g) => !current.includes(g));
      if (missing.length) {
        fields.push({ name: 'groups', before: list(current), after: list(sortedUnique([...current, ...missing])) });
        flags.push('--append', '--groups', missing.join(','));
      }
    } else if (want.join(',') !== current.join(',')) {
      fields.push({ name: 'groups', before: list(current), after: list(want) });
      flags.push('--groups', want.join(','));
    }
  }
  if (spec.shell !== undefined && spec.shell !== have.shell) {
    fields.push({ name: 'shell', before: have.shell, after: spec.shell });
    flags.push('--shell', spec.shell);
  }
  if (spec.home !== undefined && spec.home !== have.home) {
    fields.push({ name: 'home', before: have.home, after: spec.home });
    flags.push('--home', spec.home);
    notes.push(`only the home directory entry changes: files in ${have.home} are not moved to ${spec.home}`);
  }
  if (spec.comment !== undefined && spec.comment !== have.comment) {
    fields.push({ name: 'comment', before: have.comment, after: spec.comment });
    flags.push('--comment', spec.comment);
  }
  if (fields.length === 0) return [];

  const shown = (f: FieldChange) => (f.name === 'comment' ? `comment ${JSON.stringify(f.before)} → ${JSON.stringify(f.after)}` : `${f.name} ${f.before} → ${f.after}`);
  const summary = `user ${spec.name}: ${fields.map(shown).join(', ')}`;
  return [
    {
      resource,
      action: 'update',
      summary,
      fields,
      operations: [run(['usermod', ...flags, spec.name], `change user ${spec.name}: ${fields.map((f) => f.name).join(', ')}`)],
      ...(notes.length ? { notes } : {}),
    },
  ];
}

function run(args: string[], describe: string): Operation {
  return { op: 'run', phase: 'prepare', script: shCommand(args), describe };
}
