/**
 * `symlink`: a symbolic link switched atomically to its target (`ln -s target tmp && mv -T tmp path`),
 * e.g. a release's `current` link. A regular file or directory in the way is refused, never replaced.
 *
 *   symlinks:
 *     - { path: /srv/app/current, target: /srv/app/releases/20240611-1, owner: deploy }
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { managedPath } from './file.js';
import type { Change, FieldChange, Operation, ResourceType } from './types.js';
import { unixName } from './values.js';
import { pathClaim } from './claims.js';

export const symlinkSchema = z.strictObject({
  path: managedPath,
  /** Stored as written: absolute, or relative to the link's directory. */
  target: z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => !/[\r\n\0]/.test(s), 'must be on one line (no newline or NUL characters)'),
  /** Owner of the link itself (it matters in sticky world-writable directories, fs.protected_symlinks). */
  owner: z.optional(unixName),
  state: z.enum(['present', 'absent']).default('present'),
  /**
   * false: create the link when it is missing, but leave an existing link where it points. For links
   * that another process owns once they exist, like a release's `current` that `lanes release` switches.
   */
  force: z.boolean().default(true),
});
export type SymlinkSpec = z.output<typeof symlinkSchema>;

export const symlinkResource: ResourceType<SymlinkSpec> = {
  type: 'symlink',
  schema: symlinkSchema,
  id: (spec) => spec.path,
  claims: (spec) => [pathClaim(spec.path)],
  probes: (spec) => [{ kind: 'file', path: spec.path }],
  plan(spec, actual, ctx): Change[] {
    const resource = `symlink[${spec.path}]`;
    const have = actual.files.get(spec.path);
    if (have && have.type !== 'symlink') {
      const what = have.type === 'file' ? 'a regular file' : have.type === 'directory' ? 'a directory' : 'not a symlink';
      throw new LanesError(`${resource}: ${spec.path} is ${what} on ${ctx.host}; lanes does not replace it with a symlink`, {
        location: ctx.source,
        host: ctx.host,
        hint: 'move it away by hand first',
      });
    }

    if (spec.state === 'absent') {
      if (!have) return [];
      return [
        {
          resource,
          action: 'delete',
          summary: `remove symlink ${spec.path} → ${have.target ?? '?'}`,
          fields: [{ name: 'target', before: have.target }],
          operations: [{ op: 'remove', path: spec.path }],
        },
      ];
    }

    const fields: FieldChange[] = [];
    const operations: Operation[] = [];
    const switched = have?.target !== spec.target && (spec.force || !have);
    if (switched) {
      fields.push({ name: 'target', before: have?.target, after: spec.target });
      operations.push({ op: 'symlink', path: spec.path, target: spec.target });
    }
    // A switched link is a new inode (created by the apply user), so its owner is set again.
    if (spec.owner !== undefined && (switched || have?.owner !== spec.owner)) {
      if (!have || have.owner !== spec.owner) fields.push({ name: 'owner', before: have?.owner, after: spec.owner });
      operations.push({ op: 'attrs', path: spec.path, owner: spec.owner });
    }
    if (operations.length === 0) return [];
    if (!have) {
      return [
        {
          resource,
          action: 'create',
          summary: `create symlink ${spec.path} → ${spec.target}${spec.owner !== undefined ? ` (owner ${spec.owner})` : ''}`,
          fields,
          operations,
          ...(spec.owner !== undefined ? { notes: [OWNER_NOTE] } : {}),
        },
      ];
    }
    return [
      {
        resource,
        action: 'update',
        summary: `symlink ${spec.path}: ${fields.map((f) => `${f.name} ${f.before} → ${f.after}`).join(', ')}`,
        fields,
        operations,
        ...(spec.owner !== undefined ? { notes: [OWNER_NOTE] } : {}),
      },
    ];
  },
};

const OWNER_NOTE = 'the owner applies to the link itself (chown -h), not to its target';
