/** `lanes inventory --list|--graph`: show the inventory as lanes reads it (Ansible's own output formats). */
import type { CommandModule } from 'yargs';
import { LanesError } from '../agent/errors.js';
import { showInventory } from '../agent/inventory/index.js';
import { inventoryDefault, inventoryOptions } from './options.js';
import { vaultOptions, type VaultArgs } from './vault-options.js';

interface Args extends VaultArgs {
  inventory: string[];
  list: boolean;
  graph: boolean;
  group: string;
  limit?: string;
}

export const inventoryCommand: CommandModule<object, Args> = {
  command: 'inventory',
  describe: 'Show the inventory: --list (JSON, as ansible-inventory) or --graph',
  builder: (y) =>
    vaultOptions(y)
      .option('inventory', {
        alias: 'i',
        type: 'string',
        array: true,
        ...inventoryDefault(),
        describe: 'inventory file or directory; repeatable',
      })
      .option('list', { type: 'boolean', default: false, describe: 'all groups and hosts with their effective variables, as JSON' })
      .option('graph', { type: 'boolean', default: false, describe: 'the group tree' })
      .option('group', { type: 'string', default: 'all', describe: 'with --graph: the group to start from' })
      .option('limit', { alias: 'l', type: 'string', describe: 'only check that this pattern matches (prints the hosts)' })
      .check((a) => {
        if (!a.list && !a.graph && !a.limit) throw new Error('give --list, --graph or --limit PATTERN');
        return true;
      }) as never,
  handler: async (args) => {
    if (args.inventory.length === 0) {
      throw new LanesError('no inventory given', { hint: 'pass -i INVENTORY (a YAML or INI inventory file, or a directory), set LANES_INVENTORY, or set inventory in ansible.cfg' });
    }
    const views = args.list ? (['list'] as const) : [];
    const out: string[] = [];
    const warnings: string[] = [];
    for (const view of [...views, ...(args.graph ? (['graph'] as const) : []), ...(!args.list && !args.graph ? (['limit'] as const) : [])]) {
      const shown = await showInventory({ ...inventoryOptions(), inventory: args.inventory, view, group: args.group, limit: args.limit });
      out.push(shown.stdout);
      for (const w of shown.warnings) if (!warnings.includes(w)) warnings.push(w);
    }
    for (const w of warnings) process.stderr.write(`[WARNING]: ${w}\n`);
    process.stdout.write(out.join(''));
  },
};
