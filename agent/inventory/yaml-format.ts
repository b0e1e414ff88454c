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
 * Where Ansible only warns and skips (an unknown key, a list instead of a mapping), lanes stops with
 * the file, line and column, because a skipped group means hosts silently left out of a rollout.
 */
import { isMap, isScalar, type Pair, type YAMLMap } from 'yaml';
import { LanesError } from '../errors.js';
import { expandHostPattern } from './address.js';
import type { InventoryData } from './data.js';
import { describeNode, isNullNode, parseYaml, type YamlNode, type YamlSource } from './yaml-source.js';

const GROUP_KEYS = ['hosts', 'children', 'vars'];
const GROUP_HINT = 'a group is a mapping with only these keys: hosts, children, vars';

export function parseYamlInventory(text: string, file: string, data: InventoryData): void {
  const src = parseYaml(text, file);
  const root = src.deref(src.doc.contents);
  if (isNullNode(root)) return; // an empty file is an empty inventory
  if (!isMap(root)) {
    throw new LanesError(`a YAML inventory must be a mapping of group names, got ${describeNode(root)}`, {
      location: src.loc(root),
      hint: 'start with "all:" and put hosts:, children: and vars: under it',
    });
  }
  const plugin = root.items.find((p) => isScalar(p.key) && p.key.value === 'plugin');
  if (plugin) {
    throw new LanesError('inventory plugin configuration files are not supported', {
      location: src.loc(plugin.key as YamlNode),
      hint: 'lanes reads static YAML and INI inventories; export the plugin output with ansible-inventory --list -y',
    });
  }
  for (const pair of uniquePairs(src, root)) parseGroup(src, data, pair.key as YamlNode, pair.value as YamlNode);
}

/** Parse one group definition and return its name. */
function parseGroup(src: YamlSource, data: InventoryData, keyNode: YamlNode, valueNode: YamlNode): string {
  const name = stringKey(src, keyNode, 'group name');
  const body = src.deref(valueNode);
  if (!isNullNode(body) && !isMap(body)) {
    throw new LanesError(`group "${name}" must be a mapping, got ${describeNode(body)}`, {
      location: src.loc(body),
      hint: GROUP_HINT,
    });
  }
  data.addGroup(name, src.loc(keyNode));
  if (!isMap(body)) return name;

  for (const pair of uniquePairs(src, body)) {
    const key = stringKey(src, pair.key as YamlNode, 'key');
    const section = src.deref(pair.value as YamlNode);
    if (!GROUP_KEYS.includes(key)) {
      throw new LanesError(`unknown key "${key}" in group "${name}"`, {
        location: src.loc(pair.key as YamlNode),
        hint: GROUP_HINT + (['host', 'child', 'var'].includes(key) ? `; did you mean "${key}s"?` : ''),
      });
    }
    if (isNullNode(section)) continue;
    // Ansible accepts a single name in place of a mapping: `hosts: web1`.
    if (key !== 'vars' && isScalar(section) && typeof section.value === 'string') {
      if (key === 'hosts') addHosts(src, data, name, section, null);
      else data.addChild(name, parseGroup(src, data, section, null), src.loc(section));
      continue;
    }
    if (!isMap(section)) {
      throw new LanesError(`"${key}" of group "${name}" must be a mapping, got ${describeNode(section)}`, {
        location: src.loc(section),
        hint: sectionHint(key),
      });
    }
    if (key === 'vars') {
      // Converted as a whole so that YAML merge keys (<<: *defaults) apply.
      const values = src.value(section) as Record<string, unknown>;
      for (const [k, v] of Object.entries(values)) data.setGroupVar(name, k, v, src.loc(valueNodeOf(src, section, k)));
      continue;
    }
    for (const entry of uniquePairs(src, section)) {
      const k = entry.key as YamlNode;
      const v = entry.value as YamlNode;
      if (key === 'children') data.addChild(name, parseGroup(src, data, k, v), src.loc(k));
      else addHosts(src, data, name, k, v);
    }
  }
  return name;
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
 * A mapping's pairs with repeated keys collapsed the way PyYAML loads them: the last value wins,
 * at the place of the first occurrence.
 */
function uniquePairs(src: YamlSource, map: YAMLMap): Pair[] {
  const out: Pair[] = [];
  const index = new Map<unknown, number>();
  for (const pair of map.items) {
    const key = src.deref(pair.key as YamlNode);
    const id = isScalar(key) ? key.value : pair.key;
    if (isScalar(key) && isMergeKey(key.value)) {
      throw new LanesError('YAML merge keys (<<) are not supported in the inventory structure', {
        location: src.loc(key),
        hint: 'merge keys work inside vars: and host variables only',
      });
    }
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

/** The `<<` merge key, which the yaml package resolves to a symbol described '<<'. */
function isMergeKey(v: unknown): boolean {
  return v === '<<' || (typeof v === 'symbol' && v.description === '<<');
}
