/**
 * The JSON Schema (draft 2020-12) of a playbook, for editor completion and checking
 * (yaml-language-server, VS Code): generated from the play structure's zod schema and, for each
 * section, its resource type's zod schema (input side), reshaped the way the section writes items
 * (a pool's name is its key, a template's path is `dest`…). Wherever a number, boolean, fixed
 * choice, list or mapping is expected, a `"{{ … }}"` string is accepted too.
 */
import { z } from 'zod';
import type { ResourceRegistry } from './compile.js';
import { PARAMS, SECTIONS, sectionGroups, type Section } from './sections.js';
import { hostsShape, sensitiveVarsShape, varsFilesShape, varsShape } from './structure.js';

type Json = Record<string, unknown>;

const TEMPLATE_REF = { $ref: '#/$defs/template' };

export function buildPlaybookJsonSchema(registry: ResourceRegistry): Json {
  const defs: Json = {
    template: {
      type: 'string',
      pattern: '\\{\\{|\\{%',
      description: 'A "{{ … }}" template that renders to the value',
    },
  };

  const shell = z.toJSONSchema(
    z.object({
      name: z.string().describe('Name of the play, shown in the output').optional(),
      hosts: hostsShape.describe('Inventory host pattern: a group, a host, web:&prod, web:!web3…'),
      vars: varsShape.describe('Variables of the play (above inventory vars, below vars_files and --extra-vars)').optional(),
      vars_files: varsFilesShape.describe('Files of variables, relative to the playbook').optional(),
      sensitive_vars: sensitiveVarsShape
        .describe('Variables whose values are secrets (names or globs such as "*_token"): never shown, resources carrying them are sensitive')
        .optional(),
    }),
    { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' },
  ) as Json;
  delete shell.$schema;
  const properties = shell.properties as Json;

  const groups = sectionGroups();
  for (const s of SECTIONS) {
    const schema = withTemplate(sectionSchema(s, registry, defs), s);
    if (s.path.length === 1) properties[s.path[0] as string] = schema;
  }
  for (const [top, keys] of groups) {
    const inner: Json = {};
    for (const k of keys) {
      const s = SECTIONS.find((x) => x.path[0] === top && x.path[1] === k);
      const p = PARAMS.find((x) => x.path[0] === top && x.path[1] === k);
      if (s) inner[k] = withTemplate(sectionSchema(s, registry, defs), s);
      else if (p) inner[k] = { type: ['string', 'number'], description: p.description };
    }
    properties[top] = { type: ['object', 'null'], properties: inner, additionalProperties: false };
  }
  defs.play = { ...shell, type: 'object', required: ['hosts'], additionalProperties: false };

  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'lanes playbook',
    description: 'A list of plays: each selects inventory hosts and declares their desired state',
    type: 'array',
    items: { $ref: '#/$defs/play' },
    $defs: defs,
  };
}

function withTemplate(schema: Json, s: Section): Json {
  return { description: s.description, anyOf: [schema, TEMPLATE_REF, { type: 'null' }] };
}

/** The JSON Schema of a section's value, from its resource type's schema. */
function sectionSchema(s: Section, registry: ResourceRegistry, defs: Json): Json {
  const rt = registry.find((t) => t.type === s.type);
  const spec = rt ? resourceSchema(rt.schema, s.type, defs) : {};
  const props = { ...((spec.properties as Json | undefined) ?? {}) };
  let required = [...((spec.required as string[] | undefined) ?? [])];
  const drop = (k: string): void => {
    delete props[k];
    required = required.filter((r) => r !== k);
  };
  const keyField = s.keyField ?? 'name';
  const keySchema = (props[keyField] as Json | undefined) ?? { type: 'string' };

  for (const [from, to] of Object.entries(s.rename ?? {})) {
    if (props[to] !== undefined) props[from] = props[to];
    drop(to);
    required = required.map((r) => (r === to ? from : r));
    if (props[from] !== undefined && !required.includes(from) && (spec.required as string[] | undefined)?.includes(to)) required.push(from);
  }
  for (const k of Object.keys(s.forbid ?? {})) if (!Object.values(s.rename ?? {}).includes(k)) drop(k);
  if (s.template) drop(s.template.into);
  if (s.form === 'map' || s.form === 'names') drop(keyField);
  for (const k of Object.keys(s.fixed ?? {})) if (s.form === 'names') drop(k);

  const item: Json = { ...spec, properties: props };
  if (required.length > 0) item.required = required;
  else delete item.required;
  const itemOrTemplate = { anyOf: [item, TEMPLATE_REF] };

  switch (s.form) {
    case 'list':
      return { type: 'array', items: s.shorthand ? { anyOf: [(props[s.shorthand] as Json | undefined) ?? { type: 'string' }, item, TEMPLATE_REF] } : itemOrTemplate };
    case 'map':
      return { type: 'object', additionalProperties: { anyOf: [item, TEMPLATE_REF, { type: 'null' }] } };
    case 'single':
      return s.wrap === undefined ? item : ((props[s.wrap] as Json | undefined) ?? { type: 'object' });
    case 'names':
      return { type: 'array', items: keySchema };
  }
}

const resourceCache = new WeakMap<object, Json>();

/** A resource schema as JSON Schema, its $defs moved into the playbook's under a prefix, leaves accepting templates. */
function resourceSchema(schema: z.ZodType, type: string, defs: Json): Json {
  let js = resourceCache.get(schema);
  if (!js) {
    try {
      js = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Json;
    } catch {
      js = { type: 'object' };
    }
    resourceCache.set(schema, js);
  }
  const copy = structuredClone(js);
  delete copy.$schema;
  const local = copy.$defs as Json | undefined;
  delete copy.$defs;
  const rewrite = (v: unknown, root = false): Json => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v as Json;
    const out: Json = {};
    for (const [k, val] of Object.entries(v as Json)) {
      if (k === '$ref' && typeof val === 'string' && val.startsWith('#/$defs/')) out[k] = `#/$defs/${type}.${val.slice(8)}`;
      else if (SCHEMA_MAPS.has(k) && val !== null && typeof val === 'object') {
        out[k] = Object.fromEntries(Object.entries(val as Json).map(([n, d]) => [n, rewrite(d)]));
      } else if (SCHEMA_LISTS.has(k) && Array.isArray(val)) out[k] = val.map((d) => rewrite(d));
      else if (SCHEMA_ONE.has(k)) out[k] = rewrite(val);
      else out[k] = val; // enum, const, default, examples…: values, not schemas
    }
    return root ? out : acceptTemplate(out);
  };
  if (local) for (const [name, d] of Object.entries(local)) defs[`${type}.${name}`] = rewrite(d);
  return rewrite(copy, true);
}

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems']);
const SCHEMA_ONE = new Set(['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else', 'unevaluatedProperties']);

/** A leaf that is not a free string (number, boolean, enum, const, string with a pattern) also accepts a template. */
function acceptTemplate(node: Json): Json {
  const t = node.type;
  const types = Array.isArray(t) ? (t as string[]) : typeof t === 'string' ? [t] : [];
  const fixedChoice = node.enum !== undefined || node.const !== undefined;
  const checkedString = types.includes('string') && (node.pattern !== undefined || node.format !== undefined);
  const freeString = types.includes('string') && !checkedString && !fixedChoice;
  const nonString = types.some((x) => x === 'number' || x === 'integer' || x === 'boolean');
  if (freeString || !(fixedChoice || checkedString || nonString)) return node;
  return { anyOf: [node, TEMPLATE_REF] };
}
