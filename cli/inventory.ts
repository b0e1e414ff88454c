/** `lanes inventory --list|--graph`: show the inventory as lanes reads it (Ansible's own output formats). */
import type { CommandModule } from 'yargs';
import { inventoryGraph, inventoryListJson } from '../agent/inventory/index.js';
import { secrets } from '../agent/report/mask.js';
import { selectFromInventory } from '../agent/run/select.js';
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
        default: process.env.LANES_INVENTORY ? [process.env.LANES_INVENTORY] : [],
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
    const { inventory, hosts } = await selectFromInventory(args.inventory, 'all', args.limit);
    // Values decrypted from a vault are shown masked, like in every other output.
    if (args.list) process.stdout.write(`${JSON.stringify(secrets.maskValue(inventoryListJson(inventory)), null, 2)}\n`);
    if (args.graph) process.stdout.write(`${inventoryGraph(inventory, args.group).trimEnd()}\n`);
    if (!args.list && !args.graph) process.stdout.write(`${hosts.map((h) => h.name).join('\n')}\n`);
  },
};
