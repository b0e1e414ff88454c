/**
 * The mutable inventory that the format parsers fill in, mirroring Ansible's InventoryData: one
 * instance is shared by every source given with -i, so a group declared in one file can be used as
 * a child in the next, and a host listed in several files is one host whose variables merge.
 * `resolveInventory` (resolve.ts) turns it into the read-only `Inventory` once all sources are read.
 */
import { LanesError, type SourceLocation } from '../errors.js';
import type { InventoryOptions } from './options.js';
import { setVar } from './vars.js';
import { PyFloat } from '../values/python.js';

export interface GroupData {
  name: string;
  /** Variables set on the group by inventory sources (not group_vars/ files). */
  vars: Record<string, unknown>;
  children: string[];
  parents: string[];
  hosts: string[];
  /** ansible_group_priority: orders sibling groups of equal depth when merging variables. */
  priority: number;
}

export interface HostData {
  name: string;
  /** Variables set on the host by inventory sources (not host_vars/ files). */
  vars: Record<string, unknown>;
  /** Groups the host was put in directly. */
  groups: string[];
}

export class InventoryData {
  readonly groups = new Map<string, GroupData>();
  readonly hosts = new Map<string, HostData>();
  /** group -> its direct hosts, to keep membership checks constant-time for big ranges. */
  private readonly members = new Map<string, Set<string>>();
  /** Warnings in the order they arose, each once (Ansible shows a repeated warning once too). */
  readonly warnings: string[] = [];

  /** force_valid_group_names: what happens to a group name with characters Ansible finds invalid. */
  private readonly invalidGroupChars: NonNullable<InventoryOptions['invalidGroupChars']>;

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  constructor(options: Pick<InventoryOptions, 'invalidGroupChars'> = {}) {
    this.invalidGroupChars = options.invalidGroupChars ?? 'never';
    // Ansible's two implicit groups exist in every inventory, even an empty one.
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  /**
   * The name a group really gets, as Ansible's Group() does with force_valid_group_names: characters
   * that cannot start or be in a Python identifier are replaced by "_" ('always', 'silently') or kept
   * ('never' warns, 'ignore' does not). Every lookup by group name goes through this, so a parser can
   * keep using the name as written.
   */
  groupName(name: string): string {
    if (!INVALID_GROUP_CHARS.test(name)) return name;
    const mode = this.invalidGroupChars;
    if (mode === 'always' || mode === 'silently') {
      if (mode === 'always') this.warn('Invalid characters were found in group names and automatically replaced, use -vvvv to see details');
      return name.replace(INVALID_GROUP_CHARS_ALL, '_');
    }
    if (mode === 'never') this.warn('Invalid characters were found in group names but not replaced, use -vvvv to see details');
    return name;
  }

  hasGroup(name: string): boolean {
    return this.groups.has(this.quietName(name));
  }

  /** groupName without its warning, for lookups of a name already warned about when it was added. */
  private quietName(name: string): string {
    const mode = this.invalidGroupChars;
    return (mode === 'always' || mode === 'silently') && INVALID_GROUP_CHARS.test(name) ? name.replace(INVALID_GROUP_CHARS_ALL, '_') : name;
  }

  /**
   * A copy of everything read so far. Ansible tries a source with one parser after another; one that
   * fails half-way must leave nothing behind, so the chain restores this before the next parser.
   */
  snapshot(): () => void {
    const groups = [...this.groups].map(([k, g]) => [k, { ...g, vars: { ...g.vars }, children: [...g.children], parents: [...g.parents], hosts: [...g.hosts] }] as const);
    const hosts = [...this.hosts].map(([k, h]) => [k, { ...h, vars: { ...h.vars }, groups: [...h.groups] }] as const);
    const members = [...this.members].map(([k, m]) => [k, new Set(m)] as const);
    const warnings = [...this.warnings];
    return () => {
      this.groups.clear();
      for (const [k, g] of groups) this.groups.set(k, { ...g, vars: { ...g.vars }, children: [...g.children], parents: [...g.parents], hosts: [...g.hosts] });
      this.hosts.clear();
      for (const [k, h] of hosts) this.hosts.set(k, { ...h, vars: { ...h.vars }, groups: [...h.groups] });
      this.members.clear();
      for (const [k, m] of members) this.members.set(k, new Set(m));
      this.warnings.splice(0, this.warnings.length, ...warnings);
    };
  }

  addGroup(rawName: string, loc?: SourceLocation): GroupData {
    if (rawName === '') throw new LanesError('empty group name', { location: loc, hint: 'a group needs a name' });
    const name = this.groupName(rawName);
    let g = this.groups.get(name);
    if (!g) {
      g = { name, vars: {}, children: [], parents: [], hosts: [], priority: 1 };
      this.groups.set(name, g);
    }
    return g;
  }

  /**
   * Add a host (if new) and put it in `group`. Like Ansible, a port from `host:port` only applies
   * when the host is first seen; later mentions set variables but not the port.
   */
  addHost(name: string, group: string | undefined, port: number | undefined, loc?: SourceLocation): HostData {
    if (name === '') throw new LanesError('empty host name', { location: loc, hint: 'a host line starts with the host name' });
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, vars: {}, groups: [] };
      if (port !== undefined) setVar(h.vars, 'ansible_port', port);
      this.hosts.set(name, h);
    }
    if (group !== undefined) this.addHostToGroup(group, name);
    return h;
  }

  addHostToGroup(rawGroup: string, host: string): void {
    const g = this.mustGroup(rawGroup);
    const group = g.name;
    const h = this.hosts.get(host);
    if (!h) throw new Error(`internal: unknown host ${host}`);
    let members = this.members.get(group);
    if (!members) {
      members = new Set();
      this.members.set(group, members);
    }
    if (members.has(host)) return;
    members.add(host);
    g.hosts.push(host);
    h.groups.push(group);
  }

  removeHostFromGroup(rawGroup: string, host: string): void {
    const g = this.mustGroup(rawGroup);
    const group = g.name;
    if (!this.members.get(group)?.delete(host)) return;
    g.hosts = g.hosts.filter((n) => n !== host);
    const h = this.hosts.get(host);
    if (h) h.groups = h.groups.filter((n) => n !== group);
  }

  addChild(rawParent: string, rawChild: string, loc?: SourceLocation): void {
    const p = this.mustGroup(rawParent);
    const c = this.mustGroup(rawChild);
    const parent = p.name;
    const child = c.name;
    if (p.children.includes(child)) return;
    // The group graph must stay acyclic: depth ordering and ancestry depend on it.
    if (parent === child || this.descendants(child).has(parent)) {
      throw new LanesError(`adding group "${child}" as a child of "${parent}" creates a loop`, {
        location: loc,
        hint: 'a group cannot be its own ancestor',
      });
    }
    p.children.push(child);
    c.parents.push(parent);
  }

  setGroupVar(group: string, key: string, value: unknown, loc?: SourceLocation): void {
    const g = this.mustGroup(group);
    // As in Ansible, ansible_group_priority set by an inventory source is group metadata,
    // not a variable: it orders the group and does not show up in host variables.
    if (key === 'ansible_group_priority') {
      g.priority = toPriority(value, loc);
      return;
    }
    checkConnectionVar(key, value, loc);
    setVar(g.vars, key, value);
  }

  setHostVar(host: string, key: string, value: unknown, loc?: SourceLocation): void {
    const h = this.hosts.get(host);
    if (!h) throw new Error(`internal: unknown host ${host}`);
    checkConnectionVar(key, value, loc);
    setVar(h.vars, key, value);
  }

  /** All groups below `name` (not including it). */
  descendants(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [...(this.groups.get(name)?.children ?? [])];
    while (stack.length > 0) {
      const n = stack.pop() as string;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(this.groups.get(n)?.children ?? []));
    }
    return seen;
  }

  /** All groups above `name` (not including it). */
  ancestors(name: string): Set<string> {
    const seen = new Set<string>();
    const stack = [...(this.groups.get(name)?.parents ?? [])];
    while (stack.length > 0) {
      const n = stack.pop() as string;
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(...(this.groups.get(n)?.parents ?? []));
    }
    return seen;
  }

  /** Every group a host is in, directly or through a child group. */
  hostGroups(host: string): Set<string> {
    const out = new Set<string>();
    for (const g of this.hosts.get(host)?.groups ?? []) {
      out.add(g);
      for (const a of this.ancestors(g)) out.add(a);
    }
    return out;
  }

  /**
   * Ansible's reconcile_inventory, run once after all sources are read: every top-level group hangs
   * under 'all'; a host with no group but 'all' goes to 'ungrouped'; a host a parser put in
   * 'ungrouped' leaves it once it is in a real group.
   */
  reconcile(): void {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name);
    }
    for (const h of this.hosts.values()) {
      const mine = this.hostGroups(h.name);
      if (mine.has('ungrouped')) {
        const others = [...mine].filter((n) => n !== 'all' && n !== 'ungrouped');
        if (others.length > 0) this.removeHostFromGroup('ungrouped', h.name);
      } else if (mine.size === 0 || (mine.size === 1 && mine.has('all'))) {
        this.addHostToGroup('ungrouped', h.name);
      }
    }
    // As Ansible: legal, but `hosts: web` then means the group, which is rarely what the host meant.
    for (const name of this.groups.keys()) {
      if (this.hosts.has(name)) this.warn(`Found both group and host with same name: ${name}`);
    }
  }

  /** Depth of each group below 'all' (longest path), which orders group variables. */
  depths(): Map<string, number> {
    const depth = new Map<string, number>();
    const visit = (name: string): number => {
      const known = depth.get(name);
      if (known !== undefined) return known;
      const g = this.mustGroup(name);
      let d = 0;
      for (const p of g.parents) d = Math.max(d, visit(p) + 1);
      depth.set(name, d);
      return d;
    };
    for (const name of this.groups.keys()) visit(name);
    return depth;
  }

  private mustGroup(rawName: string): GroupData {
    const name = this.quietName(rawName);
    const g = this.groups.get(name);
    if (!g) throw new Error(`internal: unknown group ${name}`);
    return g;
  }
}

/**
 * Ansible's INVALID_VARIABLE_NAMES: a first character that is a digit or not a word character, or any
 * non-word character (Python's \w is Unicode-aware, hence \p{…}).
 */
const INVALID_GROUP_CHARS = /^[\p{Nd}]|[^\p{L}\p{N}\p{Mn}\p{Pc}]/u;
const INVALID_GROUP_CHARS_ALL = /^[\p{Nd}]|[^\p{L}\p{N}\p{Mn}\p{Pc}]/gu;

/** Connection variables that must be a port number. */
const PORT_VARS = new Set(['ansible_port', 'ansible_ssh_port']);

/**
 * A connection variable with an impossible value is refused where it is written (file:line:column),
 * not later as a host error. A templated value (`{{ … }}`) is checked once it is rendered.
 */
function checkConnectionVar(key: string, value: unknown, loc?: SourceLocation): void {
  if (!PORT_VARS.has(key) || value === null || value === undefined || value === '') return;
  if (typeof value === 'string' && value.includes('{{')) return;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new LanesError(`${key} must be a port number from 1 to 65535, got ${typeof value === 'bigint' ? value : JSON.stringify(value)}`, { location: loc, hint: `e.g. ${key}: 2222` });
  }
}

function toPriority(value: unknown, loc?: SourceLocation): number {
  // A float (10.0) or a big int is a number too, as Python's int() takes it.
  if ((typeof value === 'number' || value instanceof PyFloat || typeof value === 'bigint') && Number.isFinite(Number(value))) return Math.trunc(Number(value));
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && /^\s*[-+]?\d+(?:_\d+)*\s*$/.test(value)) {
    return Number.parseInt(value.replace(/_/g, ''), 10);
  }
  throw new LanesError(`ansible_group_priority must be an integer, got ${JSON.stringify(value)}`, {
    location: loc,
    hint: 'ansible_group_priority: 10',
  });
}
