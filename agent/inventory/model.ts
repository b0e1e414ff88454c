/**
 * The inventory as the rest of lanes sees it: hosts with their effective variables, and the group
 * tree. It is built once by `loadInventory` and never mutated afterwards.
 */

export interface InventoryHost {
  name: string;
  /** Effective variables, merged with Ansible's precedence (see resolve.ts). */
  vars: Record<string, unknown>;
  /** Every group the host belongs to, including ancestors and 'all', sorted by name. */
  groups: string[];
  /**
   * The host's own variables: those set on it in the inventory sources, then host_vars/ files on top
   * (what `ansible-inventory --export` shows for the host). Undefined means the same as `vars`.
   */
  ownVars?: Record<string, unknown>;
}

export interface InventoryGroup {
  name: string;
  /**
   * The group's own variables: those set in the inventory sources, then group_vars/ files on top
   * (what `ansible-inventory --export` shows for the group). Inherited variables are not included.
   */
  vars: Record<string, unknown>;
  /** Direct child groups, in the order they were declared. */
  children: string[];
  /** Direct member hosts, in the order they were declared. */
  hosts: string[];
  /** ansible_group_priority (default 1); --export shows it among the group's vars when not 1. */
  priority?: number;
}

export interface Inventory {
  /** The inventory paths it was loaded from, as given. */
  sources: string[];
  /** Every host, in inventory order (the order in which hosts first appeared). */
  hosts: Map<string, InventoryHost>;
  /** Every group, in the order in which groups first appeared ('all' and 'ungrouped' first). */
  groups: Map<string, InventoryGroup>;
  /**
   * Ansible's warnings about what was read (each once, in the order they arose), without the
   * "[WARNING]: " prefix. A command shows them on stderr; a library caller decides.
   */
  warnings: string[];
}
