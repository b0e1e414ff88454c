/**
 * What `lanes inventory` prints, as a library function: the views `ansible-inventory` gives, so a team
 * can diff lanes' reading of an inventory against Ansible's. The CLI only parses arguments, calls this
 * and writes the result; the conformance suite (test/conformance/) calls it the same way.
 */
import { LanesError } from '../errors.js';
import { secrets } from '../report/mask.js';
import { loadInventory } from './load.js';
import type { InventoryOptions } from './options.js';
import { selectHosts } from './pattern.js';
import { inventoryGraph, inventoryListJson } from './render.js';
import { pyJsonDumps } from '../values/python.js';

export type InventoryView = 'list' | 'graph' | 'host' | 'limit';

export interface ShowInventoryOptions extends InventoryOptions {
  inventory: string[];
  view: InventoryView;
  /** --graph [GROUP]: the group to start from (default all). */
  group?: string;
  /** --host HOST */
  host?: string;
  /** --graph --vars: show variables in the graph. */
  vars?: boolean;
  /** --yaml / --toml instead of JSON (list and host views). */
  format?: 'json' | 'yaml' | 'toml';
  /** --export: group variables on groups rather than flattened into hosts. */
  export?: boolean;
  /** the 'limit' view: the hosts this pattern selects, one per line. */
  limit?: string;
}

export interface ShownInventory {
  /** Exactly what goes to stdout (ends with a newline). */
  stdout: string;
  /** Ansible's warnings, each once, for stderr (without the "[WARNING]: " prefix). */
  warnings: string[];
}

export async function showInventory(o: ShowInventoryOptions): Promise<ShownInventory> {
  const inventory = await loadInventory(o.inventory, o);
  let stdout = '';
  // Values decrypted from a vault are shown masked, like in every other output.
  // Python's json.dumps: 8.0 stays 8.0, big integers exact (JSON.stringify would throw on them).
  if (o.view === 'list') stdout = `${pyJsonDumps(secrets.maskValue(inventoryListJson(inventory)), { indent: 2, ensureAscii: false })}\n`;
  else if (o.view === 'graph') stdout = `${inventoryGraph(inventory, o.group ?? 'all').trimEnd()}\n`;
  else if (o.view === 'limit') {
    const names = selectHosts(inventory, o.limit ?? 'all');
    if (names.length === 0) throw new LanesError(`no hosts selected by "${o.limit ?? 'all'}"`, { kind: 'pattern' });
    stdout = `${names.join('\n')}\n`;
  }
  else throw new Error(`inventory view ${o.view} is not built yet`);
  return { stdout, warnings: inventory.warnings };
}
