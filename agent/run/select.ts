/** From `-i` paths and a `--limit` pattern to the hosts a command runs on. */
import { LanesError } from '../errors.js';
import { loadInventory, selectHosts, type Inventory, type InventoryOptions } from '../inventory/index.js';
import { connectionHosts } from './connection-vars.js';
import type { FleetHost } from './fleet.js';

export interface Selection {
  inventory: Inventory;
  hosts: FleetHost[];
}

/**
 * Load the inventories and pick the hosts matching `pattern` (default all), narrowed by `limit`.
 * An empty selection is an error: a command that silently does nothing hides a typo.
 */
export async function selectFromInventory(paths: string[], pattern = 'all', limit?: string, inventoryOptions?: InventoryOptions): Promise<Selection> {
  if (paths.length === 0) {
    throw new LanesError('no inventory given', { hint: 'pass -i INVENTORY (a YAML or INI inventory file, or a directory), set LANES_INVENTORY, or set inventory in ansible.cfg' });
  }
  const inventory = await loadInventory(paths, inventoryOptions);
  let names = selectHosts(inventory, pattern);
  if (limit) {
    const allowed = new Set(selectHosts(inventory, limit));
    names = names.filter((n) => allowed.has(n));
  }
  if (names.length === 0) {
    throw new LanesError(`no hosts selected by "${pattern}"${limit ? ` with --limit "${limit}"` : ''}`, { kind: 'pattern' });
  }
  return { inventory, hosts: connectionHosts(inventory, names) };
}
