/**
 * The two views `ansible-inventory` gives, so people can compare lanes' reading of an inventory
 * with Ansible's: `--list` (JSON) and `--graph` (tree text).
 */
import { LanesError } from '../errors.js';
import type { Inventory } from './model.js';
import { byCodePoint } from './vars.js';
import { isPyValue } from '../values/python.js';

export interface ListGroup {
  hosts?: string[];
  children?: string[];
}

export interface InventoryListJson {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: ListGroup | { hostvars: Record<string, Record<string, unknown>> };
}

/**
 * The object `ansible-inventory --list` prints: one entry per non-empty group reachable from
 * 'all' (`hosts` are direct members, never listed for 'all'; `children` in declaration order),
 * plus `_meta.hostvars` with each host's effective variables (hosts without any are left out).
 * Object keys are sorted, as Ansible's JSON output sorts them, so JSON.stringify(x, null, 4) reads
 * the same as Ansible's output.
 */
export function inventoryListJson(inv: Inventory): InventoryListJson {
  const groups: Record<string, ListGroup> = {};
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const g = inv.groups.get(name);
    if (!g) return;
    const entry: ListGroup = {};
    if (name !== 'all' && g.hosts.length > 0) entry.hosts = [...g.hosts];
    if (g.children.length > 0) entry.children = [...g.children];
    if (entry.children || entry.hosts) groups[name] = sortKeys(entry) as ListGroup;
    for (const c of g.children) {
      if (!seen.has(c)) {
        seen.add(c);
        visit(c);
      }
    }
  };
  visit('all');

  const hostvars: Record<string, Record<string, unknown>> = {};
  for (const h of inv.hosts.values()) {
    if (Object.keys(h.vars).length > 0) hostvars[h.name] = h.vars;
  }
  return sortKeys({ ...groups, _meta: { hostvars } }) as InventoryListJson;
}

/**
 * The text `ansible-inventory --graph [group]` prints:
 *
 *   @all:
 *     |--@ungrouped:
 *     |--@web:
 *     |  |--web1
 *
 * Child groups sorted by name, then the group's own hosts sorted by name ('all' lists no hosts of
 * its own, as in Ansible).
 */
export function inventoryGraph(inv: Inventory, group = 'all'): string {
  if (!inv.groups.has(group)) {
    throw new LanesError(`--graph needs a group name, and "${group}" is not a group`, {
      kind: 'pattern',
      hint: `known groups: ${[...inv.groups.keys()].sort(byCodePoint).join(', ')}`,
    });
  }
  const lines: string[] = [];
  const prefix = (depth: number): string => (depth === 0 ? '' : `${'  |'.repeat(depth)}--`);
  const walk = (name: string, depth: number): void => {
    const g = inv.groups.get(name);
    if (!g) return;
    lines.push(`${prefix(depth)}@${name}:`);
    for (const c of [...g.children].sort(byCodePoint)) walk(c, depth + 1);
    if (name !== 'all') for (const h of [...g.hosts].sort(byCodePoint)) lines.push(`${prefix(depth + 1)}${h}`);
  };
  walk(group, 0);
  return lines.join('\n');
}

/** A copy with object keys sorted at every level, like Python's json.dumps(sort_keys=True). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object' && !isPyValue(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort(byCodePoint)) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}
