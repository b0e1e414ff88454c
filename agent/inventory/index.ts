/**
 * Inventories: Ansible-compatible YAML and INI inventories (with group_vars/ and host_vars/),
 * host patterns, and the `ansible-inventory --list` / `--graph` views.
 */
export type { Inventory, InventoryGroup, InventoryHost } from './model.js';
export { loadInventory, parseInventoryText, IGNORED_IN_DIRECTORY } from './load.js';
export { detectFormat, type InventoryFormat } from './detect.js';
export { selectHosts, splitHostPattern } from './pattern.js';
export {
  inventoryListJson,
  inventoryYamlTree,
  inventoryGraph,
  hostVariables,
  groupVariables,
  type InventoryListJson,
  type ListGroup,
  type RenderOptions,
  type GraphOptions,
} from './render.js';
export { pyYamlDump } from '../values/yaml-dump.js';
export { pyStr, pyRepr } from '../values/python.js';
export { expandHostPattern, expandHostnameRange } from './address.js';
export type { InventoryOptions } from './options.js';
export { showInventory, type ShowInventoryOptions, type InventoryView } from './show.js';
