/**
 * The zod schema of a play's structure, built from the sections table: which keys a play takes
 * and the shape of each section (a list, a mapping of names…). What an item holds is checked later,
 * per host and after templating, by its resource type's own schema.
 *
 * Anywhere a list or mapping is expected, a `"{{ … }}"` string may stand in for it (it must render
 * to that shape): `pools: "{{ fpm_pools }}"` takes the pools from a variable.
 */
import { z } from 'zod';
import { PARAMS, SECTIONS, sectionGroups, type Section } from './sections.js';

/** A string with template syntax, standing in for a value of another type. */
export const templateString = z.string().regex(/\{\{|\{%/, 'must be a "{{ … }}" template');

const mapping = z.record(z.string(), z.unknown());

function orTemplate<T extends z.ZodType>(schema: T, what: string) {
  return z.union([schema, templateString], { error: `must be ${what}` });
}

/** The shape a section takes in a play. */
export function sectionShape(s: Section): z.ZodType {
  const item = orTemplate(mapping, 'a mapping');
  switch (s.form) {
    case 'list':
      return orTemplate(
        z.array(s.shorthand ? z.union([z.string(), mapping], { error: `must be a mapping or a ${s.shorthand}` }) : item),
        'a list',
      ).nullable();
    case 'map':
      return orTemplate(z.record(z.string(), item.nullable()), 'a mapping of names to settings').nullable();
    case 'single':
      return item.nullable();
    case 'names':
      return orTemplate(z.array(z.string()), 'a list of names').nullable();
  }
}

export const paramShape = z.union([z.string(), z.number()], { error: 'must be a string' }).nullable();

export const varsShape = z.record(z.string(), z.unknown(), { error: 'must be a mapping of variable names to values' }).nullable();
export const varsFilesShape = z
  .array(z.union([z.string(), z.array(z.string())], { error: 'must be a file name, or a list of alternatives' }), {
    error: 'must be a list of file names',
  })
  .nullable();
/** Names (or fnmatch globs) of variables whose values are secrets: registered with the masker per host. */
export const sensitiveVarsShape = z
  .array(z.string({ error: 'must be a variable name or a glob' }).regex(/^[A-Za-z0-9_*?[\]!]+$/, 'must be a variable name or a glob such as "*_token"'), {
    error: 'must be a list of variable names or globs, e.g. [db_password, "*_token"]',
  })
  .nullable();
export const hostsShape = z.union([z.string(), z.array(z.string())], { error: 'must be a host pattern' });

/** The zod schema of one play. */
export function playShape(): z.ZodType {
  const shape: Record<string, z.ZodType> = {
    name: z.string({ error: 'must be a string' }).optional(),
    hosts: hostsShape,
    vars: varsShape.optional(),
    vars_files: varsFilesShape.optional(),
    sensitive_vars: sensitiveVarsShape.optional(),
  };
  const groups = sectionGroups();
  for (const s of SECTIONS) {
    if (s.path.length === 1) shape[s.path[0] as string] = sectionShape(s).optional();
  }
  for (const [top, keys] of groups) {
    const inner: Record<string, z.ZodType> = {};
    for (const k of keys) {
      const section = SECTIONS.find((s) => s.path[0] === top && s.path[1] === k);
      const param = PARAMS.find((p) => p.path[0] === top && p.path[1] === k);
      inner[k] = (section ? sectionShape(section) : param ? paramShape : z.unknown()).optional();
    }
    shape[top] = z.strictObject(inner, { error: `must be a mapping of ${keys.join(', ')}` }).nullable().optional();
  }
  return z.strictObject(shape, { error: 'a play must be a mapping (name, hosts, vars, sections…)' });
}
