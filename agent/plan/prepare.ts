/** From playbook + inventory paths to the desired resources per host and the hosts to connect to. */
import { loadInventory, type Inventory, type InventoryOptions } from '../inventory/index.js';
import { compilePlaybook, loadPlaybook } from '../playbook/index.js';
import type { DesiredResource } from '../resources/types.js';
import { connectionHosts } from '../run/connection-vars.js';
import type { FleetHost } from '../run/fleet.js';
import { LanesError } from '../errors.js';

export interface PreparedRun {
  inventory: Inventory;
  desired: Map<string, DesiredResource[]>;
  hosts: FleetHost[];
}

export async function preparePlaybookRun(opts: {
  playbook: string;
  inventory: string[];
  limit?: string;
  extraVars?: Record<string, unknown>;
  /** Ansible settings that change how the inventory and variables are read (hash_behaviour, …). */
  inventoryOptions?: InventoryOptions;
}): Promise<PreparedRun> {
  if (opts.inventory.length === 0) {
    throw new LanesError('no inventory given', { hint: 'pass -i INVENTORY (a YAML or INI inventory file, or a directory), set LANES_INVENTORY, or set inventory in ansible.cfg' });
  }
  // Everything that can be wrong in the input is found here, before any connection.
  const inventory = await loadInventory(opts.inventory, opts.inventoryOptions);
  const playbook = await loadPlaybook(opts.playbook);
  const compiled = await compilePlaybook(playbook, inventory, { extraVars: opts.extraVars, limit: opts.limit, hashBehaviour: opts.inventoryOptions?.hashBehaviour });
  const hosts = connectionHosts(inventory, [...compiled.hosts.keys()], opts.extraVars);
  if (hosts.length === 0) throw new LanesError(`no host of the inventory matches the plays of ${opts.playbook}${opts.limit ? ` with --limit "${opts.limit}"` : ''}`, { kind: 'pattern' });
  return { inventory, desired: compiled.hosts, hosts };
}

/** Hosts of a saved plan, with their inventory vars (for connecting). */
export async function hostsOfSavedPlan(inventoryPaths: string[], names: string[], extraVars?: Record<string, unknown>, inventoryOptions?: InventoryOptions): Promise<FleetHost[]> {
  const inventory = await loadInventory(inventoryPaths, inventoryOptions);
  for (const name of names) {
    if (!inventory.hosts.has(name)) throw new LanesError(`host "${name}" of the plan is not in the inventory ${inventoryPaths.join(', ')}`, { kind: 'pattern' });
  }
  return connectionHosts(inventory, names, extraVars);
}
