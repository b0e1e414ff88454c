/**
 * The views `ansible-inventory` gives, built the way ansible-core 2.14's cli/inventory.py builds them,
 * so a team can diff lanes' reading of an inventory against Ansible's:
 *
 *   --list          the "inventory script" JSON structure (inventoryListJson)
 *   --list --yaml   the YAML-inventory structure (inventoryYamlTree)
 *   --graph         the group tree text, with --vars lines (inventoryGraph)
 *   --host          one host's variables (hostVariables)
 *
 * These return values; serializing them (pyJsonDumps, pyYamlDump) is show.ts's job.
 */
import { LanesError } from '../errors.js';
import type { Inventory } from './model.js';
import { pyStr } from '../values/python.js';
import { byCodePoint, setVar, type Vars } from './vars.js';

export interface RenderOptions {
  /** --export: a host shows only its own variables, and groups carry theirs (`vars`). */
  export?: boolean;
}

export interface GraphOptions extends RenderOptions {
  /** --vars: each host's and group's variables as `{name = value}` lines. */
  vars?: boolean;
}

export interface ListGroup {
  hosts?: string[];
  children?: string[];
  vars?: Vars;
}

export interface InventoryListJson {
  _meta: { hostvars: Record<string, Vars> };
  [group: string]: ListGroup | { hostvars: Record<string, Vars> };
}

/** Magic variables Ansible computes for a host; ansible-inventory never shows them, even when set. */
const INTERNAL_VARS: ReadonlySet<string> = new Set([
  'ansible_diff_mode', 'ansible_config_file', 'ansible_facts', 'ansible_forks', 'ansible_inventory_sources',
  'ansible_limit', 'ansible_playbook_python', 'ansible_run_tags', 'ansible_skip_tags', 'ansible_verbosity',
  'ansible_version', 'inventory_dir', 'inventory_file', 'inventory_hostname', 'inventory_hostname_short',
  'groups', 'group_names', 'omit', 'playbook_dir',
]);

function withoutInternal(vars: Vars): Vars {
  const out: Vars = {};
  for (const k of Object.keys(vars)) if (!INTERNAL_VARS.has(k)) setVar(out, k, vars[k]);
  return out;
}

/** A host's variables as --host and _meta.hostvars show them: effective ones, or with --export its own. */
export function hostVariables(inv: Inventory, host: string, opts: RenderOptions = {}): Vars {
  const h = inv.hosts.get(host);
  if (!h) throw new Error(`internal: unknown host ${host}`);
  return withoutInternal(opts.export ? (h.ownVars ?? h.vars) : h.vars);
}

/** A group's own variables (inventory sources and group_vars/), with ansible_group_priority when not 1. */
export function groupVariables(inv: Inventory, group: string): Vars {
  const g = inv.groups.get(group);
  if (!g) throw new Error(`internal: unknown group ${group}`);
  const vars = withoutInternal(g.vars);
  if (g.priority !== undefined && g.priority !== 1) setVar(vars, 'ansible_group_priority', g.priority);
  return vars;
}

/**
 * The object `ansible-inventory --list` prints: each group reachable from 'all' once, with `hosts`
 * (direct members, never for 'all'), `children` (declaration order) and, with --export, `vars`, each
 * key only when non-empty and a group with none of them left out; then `_meta.hostvars` with every
 * host that has variables. Key order does not matter: the JSON writer sorts keys, as Ansible's does.
 */
export function inventoryListJson(inv: Inventory, opts: RenderOptions = {}): InventoryListJson {
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const g = inv.groups.get(name);
    if (!g) return;
    const entry: ListGroup = {};
    if (name !== 'all' && g.hosts.length > 0) entry.hosts = [...g.hosts];
    if (g.children.length > 0) entry.children = [...g.children];
    for (const c of g.children) {
      if (!seen.has(c)) {
        visit(c);
        seen.add(c);
      }
    }
    if (opts.export) {
      const vars = groupVariables(inv, name);
      if (Object.keys(vars).length > 0) entry.vars = vars;
    }
    if (Object.keys(entry).length > 0) setVar(out, name, entry);
  };
  visit('all');

  const hostvars: Record<string, Vars> = {};
  for (const name of inv.hosts.keys()) {
    const vars = hostVariables(inv, name, opts);
    if (Object.keys(vars).length > 0) setVar(hostvars, name, vars);
  }
  setVar(out, '_meta', { hostvars });
  return out as InventoryListJson;
}

/**
 * The structure `ansible-inventory --list --yaml` dumps, a YAML inventory: `all` with nested
 * `children` mappings (a group under several parents appears under each), `hosts` mapping each host
 * to its variables the first time the walk meets it and to {} after, `vars` with --export. Empty
 * keys are left out, but an empty group stays (as {}).
 */
export function inventoryYamlTree(inv: Inventory, opts: RenderOptions = {}): Record<string, unknown> {
  const seenHosts = new Set<string>();
  const format = (name: string): Record<string, unknown> => {
    const g = inv.groups.get(name);
    const entry: Record<string, unknown> = {};
    if (!g) return entry;
    const children: Record<string, unknown> = {};
    for (const c of g.children) if (c !== 'all') setVar(children, c, format(c));
    const hosts: Record<string, unknown> = {};
    if (name !== 'all') {
      for (const h of g.hosts) {
        let vars: Vars = {};
        if (!seenHosts.has(h)) {
          seenHosts.add(h);
          vars = hostVariables(inv, h, opts);
        }
        setVar(hosts, h, vars);
      }
    }
    if (Object.keys(children).length > 0) entry.children = children;
    if (Object.keys(hosts).length > 0) entry.hosts = hosts;
    if (opts.export) {
      const vars = groupVariables(inv, name);
      if (Object.keys(vars).length > 0) entry.vars = vars;
    }
    return entry;
  };
  const top: Record<string, unknown> = {};
  setVar(top, 'all', format('all'));
  return top;
}

/**
 * The text `ansible-inventory --graph [GROUP] [--vars]` prints (no final newline):
 *
 *   @all:
 *     |--@ungrouped:
 *     |  |--solo
 *     |--@web:
 *     |  |--web1
 *     |  |  |--{http_port = 80}
 *     |  |--{x = 1}
 *
 * Child groups in declaration order (a group under several parents is drawn under each), then the
 * group's own hosts in declaration order ('all' lists none), each followed with --vars by its
 * variables one level deeper; with --vars a group's own variables come last, at its children's level.
 */
export function inventoryGraph(inv: Inventory, group = 'all', opts: GraphOptions = {}): string {
  if (!inv.groups.has(group)) {
    throw new LanesError(`--graph needs a group name, and "${group}" is not a group`, {
      kind: 'pattern',
      hint: `known groups: ${[...inv.groups.keys()].sort(byCodePoint).join(', ')}`,
    });
  }
  const lines: string[] = [];
  const line = (text: string, depth: number): void => {
    lines.push(depth === 0 ? text : `${'  |'.repeat(depth)}--${text}`);
  };
  const showVars = (vars: Vars, depth: number): void => {
    for (const k of Object.keys(vars).sort(byCodePoint)) line(`{${k} = ${pyStr(vars[k])}}`, depth);
  };
  const walk = (name: string, depth: number): void => {
    const g = inv.groups.get(name);
    if (!g) return;
    line(`@${name}:`, depth);
    for (const c of g.children) walk(c, depth + 1);
    if (name !== 'all') {
      for (const h of g.hosts) {
        line(h, depth + 1);
        if (opts.vars) showVars(hostVariables(inv, h, opts), depth + 2);
      }
    }
    if (opts.vars) showVars(groupVariables(inv, name), depth + 1);
  };
  walk(group, 0);
  return lines.join('\n');
}
