/**
 * The comparison every file-backed resource shares (file, template, FPM pools, php-fpm.conf,
 * Supervisor programs, systemd units): content with a unified diff, then owner, group and mode as
 * before → after fields, and the atomic write or attribute change that reconciles them.
 */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import type { ActualState, Change, FieldChange, Operation } from './types.js';

export interface ManagedFile {
  path: string;
  content: string;
  owner?: string;
  group?: string;
  /** Octal string, e.g. "0644". */
  mode?: string;
}

export interface FileComparison {
  /** undefined when the file is converged. */
  action?: 'create' | 'update';
  contentChanged: boolean;
  diff?: string;
  fields: FieldChange[];
  operations: Operation[];
}

/** Normalise "644", "0644", "00644" to four digits. */
export function normalizeMode(mode: string): string {
  return mode.replace(/^0+(?=\d{4})/, '').padStart(4, '0');
}

export function unifiedDiff(path: string, before: string, after: string): string {
  return createTwoFilesPatch(path, path, before, after, undefined, undefined, { context: 3 })
    .split('\n')
    .slice(2) // drop the "=====" banner and the Index line the package adds; keep ---/+++ headers
    .join('\n');
}

export function compareFile(want: ManagedFile, actual: ActualState): FileComparison {
  const have = actual.files.get(want.path);
  if (!have || have.type !== 'file') {
    const fields: FieldChange[] = have ? [{ name: 'type', before: have.type, after: 'file' }] : [];
    return {
      action: 'create',
      contentChanged: true,
      diff: unifiedDiff(want.path, '', want.content),
      fields,
      operations: [
        ...(have ? [{ op: 'remove' as const, path: want.path }] : []),
        { op: 'write', path: want.path, content: want.content, owner: want.owner, group: want.group, mode: want.mode },
      ],
    };
  }
  const fields: FieldChange[] = [];
  if (want.owner !== undefined && want.owner !== have.owner) fields.push({ name: 'owner', before: have.owner, after: want.owner });
  if (want.group !== undefined && want.group !== have.group) fields.push({ name: 'group', before: have.group, after: want.group });
  if (want.mode !== undefined && normalizeMode(want.mode) !== normalizeMode(have.mode)) {
    fields.push({ name: 'mode', before: normalizeMode(have.mode), after: normalizeMode(want.mode) });
  }
  // Content is compared by checksum when the file was too large to read whole.
  const contentChanged = have.content !== undefined ? have.content !== want.content : have.sha256 !== sha256Hex(want.content);
  if (!contentChanged && fields.length === 0) return { contentChanged: false, fields, operations: [] };
  const keep = { owner: want.owner ?? have.owner, group: want.group ?? have.group, mode: want.mode ?? have.mode };
  return {
    action: 'update',
    contentChanged,
    diff: contentChanged ? unifiedDiff(want.path, have.content ?? '(previous content not shown: file larger than 512 KiB)\n', want.content) : undefined,
    fields,
    operations: contentChanged
      ? [{ op: 'write', path: want.path, content: want.content, ...keep }]
      : [{ op: 'attrs', path: want.path, owner: want.owner, group: want.group, mode: want.mode }],
  };
}

/** A Change for a plain managed file, or none when converged. */
export function fileChange(resource: string, want: ManagedFile, actual: ActualState, extra: Partial<Change> = {}): Change[] {
  const cmp = compareFile(want, actual);
  if (!cmp.action) return [];
  const what = cmp.action === 'create' ? `create ${want.path}` : cmp.contentChanged ? `update ${want.path}` : `change ${cmp.fields.map((f) => f.name).join(', ')} of ${want.path}`;
  return [
    {
      resource,
      action: cmp.action,
      summary: what,
      fields: cmp.fields.length ? cmp.fields : undefined,
      diff: cmp.diff,
      operations: cmp.operations,
      ...extra,
    },
  ];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
