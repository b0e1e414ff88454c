/**
 * `file`: a file with literal content, owner, group and mode, written atomically; optionally checked
 * by its own validator (`visudo -cf %s`) before any handler, and a unit reloaded or restarted when it
 * changes. `template` (./template.ts) is the same resource with content rendered from `src`; both
 * plan through `planManagedFile` below.
 *
 *   files:
 *     - path: /etc/sudoers.d/deploy
 *       content: "deploy ALL=(root) NOPASSWD: /usr/bin/systemctl reload php8.2-fpm\n"
 *       mode: "0440"
 *       validate: visudo -cf %s
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { fileChange, unifiedDiff } from './managed-file.js';
import type { ActualState, Change, Handler, PlanContext, ResourceType, Validator } from './types.js';
import { absolutePath, octalMode, safeName, unixName } from './values.js';
import { pathClaim } from './claims.js';

/** "/etc//nginx/./conf.d/" → "/etc/nginx/conf.d": the form the file probe reports (its key in ActualState.files). */
export function normalizePath(path: string): string {
  return `/${path
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/')}`;
}

/** An absolute path, normalised so that the resource id and the probe key agree. Glob characters are
 *  refused: the file probe expands them (one path would be read as a pattern). */
export const managedPath = absolutePath
  .refine((p) => !/[*?[]/.test(p), 'must not contain glob characters ("*", "?" or "[")')
  .transform(normalizePath);

const oneLine = (what: string) =>
  z
    .string()
    .min(1, `must not be empty`)
    .refine((s) => !/[\r\n\0]/.test(s), `${what} must be on one line (no newline or NUL characters)`);

const fileShape = {
  path: managedPath,
  /** Required unless state is absent (checked by `checkFileSpec`). */
  content: z.string().refine((s) => !s.includes('\0'), 'must not contain a NUL byte (binary files are not supported)').optional(),
  owner: unixName.optional(),
  group: unixName.optional(),
  /** Default 0644; 0600 (0640 with a group) when the file is sensitive. */
  mode: octalMode.optional(),
  /** A command run against the new file before any handler, e.g. `visudo -cf %s` (%s = the new file). */
  validate: oneLine('a validate command').optional(),
  /** A unit to reload when the file changes. */
  reload: safeName.optional(),
  /** A unit to restart when the file changes. */
  restart: safeName.optional(),
  state: z.enum(['present', 'absent']).default('present'),
  /** Shown as hashes in every output, never as values; the file defaults to mode 0600 (0640 with a group). */
  sensitive: z.boolean().optional(),
};

function checkFileSpec(spec: { content?: string; state: 'present' | 'absent'; reload?: string; restart?: string }, ctx: z.RefinementCtx): void {
  if (spec.state === 'present' && spec.content === undefined) {
    ctx.addIssue({ code: 'custom', path: ['content'], message: 'is required (unless state is absent)' });
  }
  if (spec.reload !== undefined && spec.restart !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['restart'], message: 'set either reload or restart, not both (a restart includes what a reload does)' });
  }
}

export const fileSchema = z.strictObject(fileShape).superRefine(checkFileSpec);
export type FileSpec = z.output<typeof fileSchema>;

/** `template`: the same fields plus `src`, the template the playbook layer rendered into `content`. */
export const templateSchema = z.strictObject({ ...fileShape, src: oneLine('src') }).superRefine(checkFileSpec);
export type TemplateSpec = z.output<typeof templateSchema>;

/** The plan shared by `file` and `template` (`src` is set for templates and only shows in messages). */
export function planManagedFile(type: string, spec: FileSpec & { src?: string }, actual: ActualState, ctx: PlanContext): Change[] {
  const resource = `${type}[${spec.path}]`;
  const have = actual.files.get(spec.path);
  const from = spec.src === undefined ? '' : ` (template ${spec.src})`;
  const refuse = (message: string, hint?: string) => new LanesError(`${resource}: ${message}`, { location: ctx.source, host: ctx.host, hint });

  if (have && (have.type === 'directory' || have.type === 'other')) {
    const what = have.type === 'directory' ? 'a directory' : 'neither a regular file nor a symlink';
    throw refuse(`${spec.path} is ${what} on ${ctx.host}; lanes does not replace it with a file`, 'remove it by hand or choose another path');
  }
  const handlers: Handler[] = [];
  if (spec.reload !== undefined) handlers.push({ kind: 'unit', unit: spec.reload, action: 'reload' });
  if (spec.restart !== undefined) handlers.push({ kind: 'unit', unit: spec.restart, action: 'restart' });

  if (spec.state === 'absent') {
    if (!have) return [];
    // The new "file" is its absence: only a validator that does not name it (`nginx -t`) can run.
    const validators: Validator[] = spec.validate !== undefined && !spec.validate.includes('%s') ? [{ kind: 'command', command: spec.validate }] : [];
    const kind = have.type === 'symlink' ? `symlink ${spec.path} → ${have.target ?? '?'}` : spec.path;
    return [
      {
        resource,
        action: 'delete',
        summary: `remove ${kind}${from}`,
        diff: have.type === 'file' && have.content !== undefined ? unifiedDiff(spec.path, have.content, '') : undefined,
        operations: [{ op: 'remove', path: spec.path }],
        ...(validators.length ? { validators } : {}),
        ...(handlers.length ? { handlers } : {}),
      },
    ];
  }

  if (spec.content === undefined) throw refuse('content is required (unless state is absent)');
  // A file carrying secrets is private unless the playbook says otherwise: its group (the service
  // that reads it) may read it, nobody else.
  const mode = spec.mode ?? (spec.sensitive || ctx.sensitive ? (spec.group !== undefined ? '0640' : '0600') : '0644');
  const changes = fileChange(resource, { path: spec.path, content: spec.content, owner: spec.owner, group: spec.group, mode }, actual);
  return changes.map((change) => {
    // Handlers and validators follow the content: an owner or mode change alone reloads nothing.
    const written = change.diff !== undefined;
    const out: Change = { ...change, summary: `${change.summary}${from}` };
    if (written && spec.validate !== undefined) out.validators = [{ kind: 'command', command: spec.validate, path: spec.path }];
    if (written && handlers.length) out.handlers = handlers;
    if (have?.type === 'symlink') out.notes = [`${spec.path} is a symlink to ${have.target ?? '?'}: it is replaced by a regular file (the link target is left alone)`];
    return out;
  });
}

export const fileResource: ResourceType<FileSpec> = {
  type: 'file',
  schema: fileSchema,
  id: (spec) => spec.path,
  claims: (spec) => [pathClaim(spec.path)],
  probes: (spec) => [{ kind: 'file', path: spec.path }],
  plan: (spec, actual, ctx) => planManagedFile('file', spec, actual, ctx),
};
