/**
 * Effective host variables, with Ansible's precedence (lowest first; each layer replaces whole
 * top-level keys with Ansible's default hash_behaviour=replace, or is merged into mappings
 * recursively with hash_behaviour=merge):
 *
 *   1. the 'all' group's vars from the inventory sources
 *   2. every other group's vars from the inventory sources, ordered by depth below 'all'
 *      (parent before child), then ansible_group_priority, then name
 *   3. group_vars/all from each source directory, in source order
 *   4. group_vars/<group> in the same group order (for each source directory in turn)
 *   5. the host's vars from the inventory sources
 *   6. host_vars/<host> from each source directory
 */
import type { InventoryData } from './data.js';
import type { Inventory, InventoryGroup, InventoryHost } from './model.js';
import type { VarsByName } from './vars-files.js';
import { byCodePoint, combineVars, type HashBehaviour, type Vars } from './vars.js';

/** The group_vars/ and host_vars/ found next to one inventory source. */
export interface SourceVars {
  groupVars: VarsByName;
  hostVars: VarsByName;
}

export function resolveInventory(data: InventoryData, sources: string[], layers: SourceVars[], hashBehaviour: HashBehaviour = 'replace'): Inventory {
  const mergeVars = (target: Vars, source: Vars | undefined): void => combineVars(target, source, hashBehaviour);
  const depth = data.depths();
  const groupOrder = (a: string, b: string): number => {
    const ga = data.groups.get(a);
    const gb = data.groups.get(b);
    return (
      (depth.get(a) ?? 0) - (depth.get(b) ?? 0) || (ga?.priority ?? 1) - (gb?.priority ?? 1) || byCodePoint(a, b)
    );
  };

  const hosts = new Map<string, InventoryHost>();
  for (const h of data.hosts.values()) {
    const member = data.hostGroups(h.name);
    member.add('all');
    const ordered = [...member].filter((g) => g !== 'all').sort(groupOrder);

    const vars: Vars = {};
    mergeVars(vars, data.groups.get('all')?.vars);
    for (const g of ordered) mergeVars(vars, data.groups.get(g)?.vars);
    for (const l of layers) mergeVars(vars, l.groupVars.get('all'));
    for (const l of layers) for (const g of ordered) mergeVars(vars, l.groupVars.get(g));
    mergeVars(vars, h.vars);
    for (const l of layers) mergeVars(vars, l.hostVars.get(h.name));

    const ownVars: Vars = {};
    mergeVars(ownVars, h.vars);
    for (const l of layers) mergeVars(ownVars, l.hostVars.get(h.name));

    hosts.set(h.name, { name: h.name, vars, groups: [...member].sort(byCodePoint), ownVars });
  }

  const groups = new Map<string, InventoryGroup>();
  for (const g of data.groups.values()) {
    const vars: Vars = {};
    mergeVars(vars, g.vars);
    for (const l of layers) mergeVars(vars, l.groupVars.get(g.name));
    groups.set(g.name, { name: g.name, vars, children: [...g.children], hosts: [...g.hosts], priority: g.priority });
  }

  return { sources: [...sources], hosts, groups, warnings: [...data.warnings] };
}
