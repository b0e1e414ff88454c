/**
 * `group`: a local group and its gid (groupadd / groupmod / groupdel). Declared groups are created
 * before users (prepare phase, in resource order), so a user may name a group declared in the same play.
 *
 *   groups:
 *     - { name: app, gid: 1500 }
 *     - { name: queue, system: true }
 */
import { z } from 'zod';
import { shCommand } from '../transport/quote.js';
import type { Change, ResourceType } from './types.js';
import { unixName } from './values.js';

/** A uid or gid: 0 … 2³²−2 (2³²−1 is (uid_t)-1, "no id"). */
export const accountId = z
  .int({ error: 'must be a whole number' })
  .min(0, 'must be between 0 and 4294967294')
  .max(4294967294, 'must be between 0 and 4294967294');

export const groupSchema = z.strictObject({
  name: unixName,
  gid: accountId.optional(),
  /** Allocate the gid from the system range (only when the group is created). */
  system: z.boolean().optional(),
  state: z.enum(['present', 'absent']).default('present'),
});
export type GroupSpec = z.output<typeof groupSchema>;

export const groupResource: ResourceType<GroupSpec> = {
  type: 'group',
  schema: groupSchema,
  id: (spec) => spec.name,
  probes: (spec) => [{ kind: 'group', name: spec.name }],
  plan(spec, actual): Change[] {
    const resource = `group[${spec.name}]`;
    const have = actual.groups.get(spec.name);

    if (spec.state === 'absent') {
      if (!have) return [];
      return [
        {
          resource,
          action: 'delete',
          summary: `delete group ${spec.name} (gid ${have.gid})`,
          fields: [{ name: 'gid', before: String(have.gid) }],
          operations: [run(['groupdel', spec.name], `delete group ${spec.name}`)],
        },
      ];
    }

    if (!have) {
      const args = ['groupadd', ...(spec.system ? ['--system'] : []), ...(spec.gid !== undefined ? ['--gid', String(spec.gid)] : []), spec.name];
      const details = [...(spec.system ? ['system'] : []), ...(spec.gid !== undefined ? [`gid ${spec.gid}`] : [])];
      const summary = `create group ${spec.name}${details.length ? ` (${details.join(', ')})` : ''}`;
      return [
        {
          resource,
          action: 'create',
          summary,
          ...(spec.gid !== undefined ? { fields: [{ name: 'gid', after: String(spec.gid) }] } : {}),
          operations: [run(args, summary)],
        },
      ];
    }

    if (spec.gid === undefined || spec.gid === have.gid) return [];
    const summary = `group ${spec.name}: gid ${have.gid} → ${spec.gid}`;
    return [
      {
        resource,
        action: 'update',
        summary,
        fields: [{ name: 'gid', before: String(have.gid), after: String(spec.gid) }],
        operations: [run(['groupmod', '--gid', String(spec.gid), spec.name], summary)],
        notes: [`files owned by gid ${have.gid} keep that gid: groupmod does not re-own them`],
      },
    ];
  },
};

function run(args: string[], describe: string): { op: 'run'; phase: 'prepare'; script: string; describe: string } {
  return { op: 'run', phase: 'prepare', script: shCommand(args), describe };
}
