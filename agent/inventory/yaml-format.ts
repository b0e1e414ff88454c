/**
 * Ansible's YAML inventory format:
 *
 *   all:
 *     vars: {ansible_user: deploy}
 *     children:
 *       web:
 *         hosts:
 *           web[01:03].example.com:
 *           db1: {ansible_host: 10.0.0.5}
 *
 * Top-level keys are groups (usually just `all`); a group holds `hosts`, `children` and `vars`.
 * What Ansible's yaml plugin skips with a warning (an unknown key in a group, a group that is not a
 * mapping, a repeated key) is skipped here with the same warning (InventoryData.warn); what makes it
 * fail (`hosts:` as a list, a host name that is a number, variables that are not a mapping) is a
 * LanesError at the file, line and column.
 */
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, visit, type Pair, type YAMLMap } from 'yaml';
import { LanesError } from '../errors.js';
import { PyDate, PyFloat } from '../values/python.js';
import { expandHostPattern } from './address.js';
import type { InventoryData } from './data.js';
import { isJsonNumberText, jsonNumberValue, pyJsonLoads } from '../values/json-loads.js';
import { describeNode, isNullNode, parseYaml, type YamlNode, type YamlSource } from './yaml-source.js';

const GROUP_KEYS = ['hosts', 'children', 'vars'];
const GROUP_HINT = 'a group is a mapping with only these keys: hosts, children, vars';

export function parseYamlInventory(text: string, file: string, data: InventoryData): void {
  const src = parseYaml(text, file);
  const json = isJson(text);
  if (json) useJsonNumbers(src);
  const root = src.deref(src.doc.contents);
  // As Ansible's yaml plugin: an empty document (nothing, `---`, `{}`) is not a YAML inventory. The
  // chain then gives the text to the INI parser, which reads an empty or comment-only file as an
  // empty inventory, `{}` as a host named "{}", and refuses `---`.
  if (isNullNode(root) || (isMap(root) && root.items.length === 0)) {
    throw new LanesError('the YAML document is empty', {
      location: isNullNode(root) ? { file } : src.loc(root),
      hint: 'an empty inventory is an empty file; otherwise start with "all:"',
    });
  }
  if (!isMap(root)) {
    throw new LanesError(`a YAML inventory must be a mapping of group names, got ${describeNode(root)}`, {
      location: src.loc(root),
      hint: 'start with "all:" and put hosts:, children: and vars: under it',
    });
  }
  const plugin = root.items.find((p) => isScalar(p.key) && p.key.value === 'plugin');
  if (plugin && !isNullNode(src.deref(plugin.value as YamlNode))) {
    // Only the auto plugin reads these, and only as *.yml / *.yaml (see chain.ts).
    throw new LanesError('this is an inventory plugin configuration, not a YAML inventory', {
      location: src.loc(plugin.key as YamlNode),
      hint: 'name plugin configurations *.yml or *.yaml, as Ansible\'s auto plugin requires',
    });
  }
  // Python's json module keeps the last of repeated keys without a word.
  if (!json) warnDuplicateKeys(src, data);
  for (const pair of uniquePairs(src, root)) parseGroup(src, data, pair.key as YamlNode, pair.value as YamlNode);
}

/**
 * Parse one group definition and return its name (as the inventory holds it), or undefined when
 * Ansible skips it: a group that is neither a mapping nor empty.
 */
function parseGroup(src: YamlSource, data: InventoryData, keyNode: YamlNode, valueNode: YamlNode): string | undefined {
  const written = stringKey(src, keyNode, 'group name');
  const body = src.deref(valueNode);
  if (!isNullNode(body) && !isMap(body)) {
    data.warn(`Skipping '${written}' as this is not a valid group definition`);
    return undefined;
  }
  const name = data.addGroup(written, src.loc(keyNode)).name;
  if (!isMap(body)) return name;

  // Ansible checks the three sections before anything else: one that is not a mapping (or a single
  // name) fails the whole file.
  for (const pair of uniquePairs(src, body)) {
    const key = src.deref(pair.key as YamlNode);
    const section = src.deref(pair.value as YamlNode);
    if (!isScalar(key) || !GROUP_KEYS.includes(String(key.value)) || isNullNode(section) || isMap(section)) continue;
    if (isScalar(section) && typeof section.value === 'string') continue;
    throw new LanesError(`"${String(key.value)}" of group "${name}" must be a mapping, got ${describeNode(section)}`, {
      location: src.loc(section),
      hint: sectionHint(String(key.value)),
    });
  }

  for (const pair of uniquePairs(src, body)) {
    const key = stringKey(src, pair.key as YamlNode, 'key');
    const section = src.deref(pair.value as YamlNode);
    const stringSection = GROUP_KEYS.includes(key) && isScalar(section) && typeof section.value === 'string';
    if (!isNullNode(section) && !isMap(section) && !stringSection) {
      data.warn(`Skipping key (${key}) in group (${name}) as it is not a mapping, it is a ${pythonClass(src.value(section))}`);
      continue;
    }
    if (!GROUP_KEYS.includes(key)) {
      if (!isNullNode(section)) data.warn(`Skipping unexpected key (${key}) in group (${name}), only "vars", "children" and "hosts" are valid`);
      continue;
    }
    if (isNullNode(section)) continue;
    // Ansible accepts a single name in place of a mapping: `hosts: web1`.
    if (key !== 'vars' && isScalar(section) && typeof section.value === 'string') {
      if (key === 'hosts') addHosts(src, data, name, section, null);
      else addChild(src, data, name, section, null);
      continue;
    }
    if (!isMap(section)) continue; // cannot happen: checked above
    if (key === 'vars') {
      // Converted as a whole so that YAML merge keys (<<: *defaults) apply.
      const values = src.value(section) as Record<string, unknown>;
      for (const [k, v] of Object.entries(values)) data.setGroupVar(name, k, v, src.loc(valueNodeOf(src, section, k)));
      continue;
    }
    for (const entry of uniquePairs(src, section)) {
      const k = entry.key as YamlNode;
      const v = entry.value as YamlNode;
      if (key === 'children') addChild(src, data, name, k, v);
      else addHosts(src, data, name, k, v);
    }
  }
  return name;
}

function addChild(src: YamlSource, data: InventoryData, parent: string, keyNode: YamlNode, valueNode: YamlNode): void {
  const child = parseGroup(src, data, keyNode, valueNode);
  if (child === undefined) {
    // Ansible skipped its definition, then fails adding it as a child (unless a host has its name).
    const written = stringKey(src, keyNode, 'group name');
    if (!data.hasGroup(written)) {
      throw new LanesError(`${written} is not a known host nor group`, {
        location: src.loc(src.deref(valueNode)),
        hint: GROUP_HINT,
      });
    }
    data.addChild(parent, written, src.loc(keyNode));
    return;
  }
  data.addChild(parent, child, src.loc(keyNode));
}

/** Ansible's loader reads a text as JSON first, and as YAML only when that fails. */
function isJson(text: string): boolean {
  if (!/^\s*[{[]/.test(text)) return false;
  try {
    pyJsonLoads(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The YAML parse of a JSON text keeps its structure and positions; only numbers differ (YAML 1.1
 * reads `1e3` as a string, JSON as the float 1000.0), so they are set as Python's json makes them.
 */
function useJsonNumbers(src: YamlSource): void {
  visit(src.doc, {
    Scalar(_key, node) {
      if (node.type === 'PLAIN' && typeof node.source === 'string' && isJsonNumberText(node.source)) node.value = jsonNumberValue(node.source);
    },
  });
}

/**
 * PyYAML keeps the last of repeated keys; Ansible's loader warns about each, naming where the
 * mapping starts (its first key, or the "{" of a flow mapping) and the file's absolute path. The
 * order is PyYAML's: it builds collections level by level (breadth first), discarded values too.
 */
function warnDuplicateKeys(src: YamlSource, data: InventoryData): void {
  const file = resolve(src.file);
  let level: YamlNode[] = [src.doc.contents as YamlNode];
  while (level.length > 0) {
    const next: YamlNode[] = [];
    for (const node of level) {
      if (isSeq(node)) next.push(...(node.items as YamlNode[]));
      if (!isMap(node)) continue;
      const seen = new Set<string>();
      const at = src.loc(node);
      for (const pair of flattenPairs(src, node)) {
        const k = pair.key as YamlNode;
        if (isScalar(k) && !isMergeKey(k.value)) {
          const text = String(k.value);
          if (seen.has(text)) {
            data.warn(`While constructing a mapping from ${file}, line ${at.line ?? 1}, column ${at.column ?? 1}, found a duplicate dict key (${text}). Using last defined value only.`);
          }
          seen.add(text);
        }
        next.push(pair.value as YamlNode);
      }
    }
    level = next;
  }
}

/** The Python class Ansible's YAML loader gives a value, as its warnings print it. */
function pythonClass(v: unknown): string {
  if (typeof v === 'string') return "<class 'ansible.parsing.yaml.objects.AnsibleUnicode'>";
  if (Array.isArray(v)) return "<class 'ansible.parsing.yaml.objects.AnsibleSequence'>";
  if (typeof v === 'boolean') return "<class 'bool'>";
  if (typeof v === 'bigint') return "<class 'int'>";
  if (v instanceof PyFloat) return "<class 'float'>";
  if (v instanceof PyDate) return `<class '${String(v).includes(':') ? 'datetime.datetime' : 'datetime.date'}'>`;
  if (typeof v === 'number') return Number.isInteger(v) ? "<class 'int'>" : "<class 'float'>";
  return `<class '${typeof v}'>`;
}

function addHosts(src: YamlSource, data: InventoryData, group: string, keyNode: YamlNode, valueNode: YamlNode): void {
  const key = src.deref(keyNode);
  if (!isScalar(key) || typeof key.value !== 'string') {
    throw new LanesError(`host name must be a string, got ${describeNode(key)}`, {
      location: src.loc(key),
      hint: 'quote host names that look like numbers: "10":',
    });
  }
  const vars = src.deref(valueNode);
  if (!isNullNode(vars) && !isMap(vars)) {
    throw new LanesError(`variables of host "${key.value}" must be a mapping, got ${describeNode(vars)}`, {
      location: src.loc(vars),
      hint: `write "${key.value}:" alone, or "${key.value}: {ansible_host: 10.0.0.1}"`,
    });
  }
  const loc = src.loc(key);
  const { hosts, port } = expandHostPattern(key.value, loc);
  const values = isMap(vars) ? (src.value(vars) as Record<string, unknown>) : {};
  for (const host of hosts) {
    data.addHost(host, group, port, loc);
    for (const [k, v] of Object.entries(values)) data.setHostVar(host, k, v, src.loc(valueNodeOf(src, vars as YAMLMap, k)));
  }
}

function sectionHint(key: string): string {
  if (key === 'hosts') return 'hosts: is a mapping of host names, e.g. "web1:" or "web1: {ansible_host: 10.0.0.1}", not a list';
  if (key === 'children') return 'children: is a mapping of group names, e.g. "web:", not a list';
  return 'vars: is a mapping of variable names to values';
}

function stringKey(src: YamlSource, node: YamlNode, what: string): string {
  const n = src.deref(node);
  if (isScalar(n) && typeof n.value === 'string' && n.value !== '') return n.value;
  throw new LanesError(`${what} must be a non-empty string, got ${describeNode(n)}`, {
    location: src.loc(n ?? node),
    hint: 'quote names that YAML would read as numbers or booleans',
  });
}

/** The node holding variable `name` in a vars mapping, for error locations. */
function valueNodeOf(src: YamlSource, map: YAMLMap, name: string): YamlNode {
  const pair = map.items.find((p) => {
    const k = src.deref(p.key as YamlNode);
    return isScalar(k) && String(k.value) === name;
  });
  return (pair?.value as YamlNode) ?? (pair?.key as YamlNode) ?? map;
}

/**
 * A mapping's pairs with YAML merge keys applied (flattenPairs) and repeated keys collapsed the way
 * PyYAML loads them: the last value wins, at the place of the first occurrence.
 */
function uniquePairs(src: YamlSource, map: YAMLMap): Pair[] {
  const out: Pair[] = [];
  const index = new Map<unknown, number>();
  for (const pair of flattenPairs(src, map)) {
    const key = src.deref(pair.key as YamlNode);
    const id = isScalar(key) ? key.value : pair.key;
    const at = index.get(id);
    if (at === undefined) {
      index.set(id, out.length);
      out.push(pair);
    } else {
      out[at] = pair;
    }
  }
  return out;
}

/**
 * PyYAML's flatten_mapping: the pairs of `<<: *a` (or of `<<: [*a, *b]`, the first winning) come
 * first, then the mapping's own pairs, which therefore override them.
 */
function flattenPairs(src: YamlSource, map: YAMLMap, depth = 0): Pair[] {
  if (!map.items.some((p) => isScalar(p.key) && isMergeKey(p.key.value))) return map.items as Pair[];
  if (depth > 32) throw new LanesError('YAML merge keys nested too deep', { location: src.loc(map) });
  const merged: Pair[] = [];
  const own: Pair[] = [];
  for (const pair of map.items) {
    const key = pair.key as YamlNode;
    if (!(isScalar(key) && isMergeKey(key.value))) {
      own.push(pair);
      continue;
    }
    const value = src.deref(pair.value as YamlNode);
    const sources = isMap(value) ? [value] : isSeq(value) ? (value.items as YamlNode[]).map((n) => src.deref(n)) : [value];
    const parts: Pair[][] = [];
    for (const m of sources) {
      if (!isMap(m)) {
        throw new LanesError(`a merge key (<<) takes a mapping or a list of mappings, got ${describeNode(m)}`, {
          location: src.loc(m ?? value),
          hint: '<<: *defaults, or <<: [*a, *b]',
        });
      }
      parts.push(flattenPairs(src, m, depth + 1));
    }
    for (const part of parts.reverse()) merged.push(...part);
  }
  return [...merged, ...own];
}

/** The `<<` merge key, which the yaml package resolves to a symbol described '<<'. */
function isMergeKey(v: unknown): boolean {
  return v === '<<' || (typeof v === 'symbol' && v.description === '<<');
}
