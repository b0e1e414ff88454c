/**
 * `directory`: a directory (with its parents) and its owner, group and mode. Only `present`: lanes
 * does not remove directory trees, and it never replaces a file or symlink with a directory.
 *
 *   directories:
 *     - { path: /srv/app/shared, owner: deploy, group: www-data, mode: "2775" }
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { managedPath } from './file.js';
import { normalizeMode } from './managed-file.js';
import type { Change, FieldChange, ResourceType } from './types.js';
import { octalMode, unixName } from './values.js';
import { pathClaim } from './claims.js';

export const directorySchema = z.strictObject({
  path: managedPath,
  owner: unixName.optional(),
  group: unixName.optional(),
  mode: octalMode.optional(),
  state: z
    .literal('present', { error: 'must be "present": lanes does not remove directories (removing a directory tree is out of scope; do it by hand)' })
    .default('present'),
});
export type DirectorySpec = z.output<typeof directorySchema>;

export const directoryResource: ResourceType<DirectorySpec> = {
  type: 'directory',
  schema: directorySchema,
  id: (spec) => spec.path,
  claims: (spec) => [pathClaim(spec.path)],
  probes: (spec) => [{ kind: 'file', path: spec.path }],
  plan(spec, actual, ctx): Change[] {
    const resource = `directory[${spec.path}]`;
    const have = actual.files.get(spec.path);
    const mode = spec.mode === undefined ? undefined : normalizeMode(spec.mode);

    if (!have) {
      const fields: FieldChange[] = [];
      if (spec.owner !== undefined) fields.push({ name: 'owner', after: spec.owner });
      if (spec.group !== undefined) fields.push({ name: 'group', after: spec.group });
      if (mode !== undefined) fields.push({ name: 'mode', after: mode });
      const attrs = fields.map((f) => `${f.name} ${f.after}`).join(', ');
      return [
        {
          resource,
          action: 'create',
          summary: `create directory ${spec.path}${attrs ? ` (${attrs})` : ''}`,
          ...(fields.length ? { fields } : {}),
          operations: [{ op: 'mkdir', path: spec.path, owner: spec.owner, group: spec.group, mode }],
        },
      ];
    }

    if (have.type !== 'directory') {
      const what = have.type === 'file' ? 'a regular file' : have.type === 'symlink' ? `a symlink to ${have.target ?? '?'}` : 'not a directory';
      throw new LanesError(`${resource}: ${spec.path} is ${what} on ${ctx.host}; lanes does not replace it with a directory`, {
        location: ctx.source,
        host: ctx.host,
        hint: 'remove it by hand, or declare the path it points to',
      });
    }

    const fields: FieldChange[] = [];
    if (spec.owner !== undefined && spec.owner !== have.owner) fields.push({ name: 'owner', before: have.owner, after: spec.owner });
    if (spec.group !== undefined && spec.group !== have.group) fields.push({ name: 'group', before: have.group, after: spec.group });
    if (mode !== undefined && mode !== normalizeMode(have.mode)) fields.push({ name: 'mode', before: normalizeMode(have.mode), after: mode });
    if (fields.length === 0) return [];
    const changed = (name: string) => fields.some((f) => f.name === name);
    return [
      {
        resource,
        action: 'update',
        summary: `directory ${spec.path}: ${fields.map((f) => `${f.name} ${f.before} → ${f.after}`).join(', ')}`,
        fields,
        // Only what differs: an owner fix does not re-assert a mode someone relies on, and vice versa.
        operations: [
          {
            op: 'attrs',
            path: spec.path,
            ...(changed('owner') ? { owner: spec.owner } : {}),
            ...(changed('group') ? { group: spec.group } : {}),
            ...(changed('mode') ? { mode } : {}),
          },
        ],
      },
    ];
  },
};
