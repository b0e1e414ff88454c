/**
 * `lanes inventory --list | --graph [GROUP] | --host HOST`: the inventory as lanes reads it, printed
 * exactly as `ansible-inventory` prints it; `--limit PATTERN` alone lists the hosts a pattern selects.
 */
import type { CommandModule } from 'yargs';
import { LanesError } from '../agent/errors.js';
import type { InventoryView } from '../agent/inventory/index.js';
import { inventoryDefault, inventoryOptions } from './options.js';
import { vaultOptions, type VaultArgs } from './vault-options.js';

interface Args extends VaultArgs {
  inventory: string[];
  list: boolean;
  graph: boolean;
  host?: string;
  pattern?: string;
  group?: string;
  vars: boolean;
  yaml: boolean;
  toml: boolean;
  export: boolean;
  output?: string;
  limit?: string;
}

export const inventoryCommand: CommandModule<object, Args> = {
  command: 'inventory [pattern]',
  describe: 'Show the inventory as ansible-inventory does: --list, --graph [GROUP] or --host HOST',
  builder: (y) =>
    vaultOptions(y)
      .positional('pattern', { type: 'string', describe: 'host|group: with --graph the group to start from (ignored otherwise, as by ansible-inventory)' })
      .option('inventory', {
        alias: 'i',
        type: 'string',
        array: true,
        ...inventoryDefault(),
        describe: 'inventory file or directory; repeatable',
      })
      .option('list', { type: 'boolean', default: false, describe: 'all groups and hosts with their variables (JSON)' })
      .option('graph', { type: 'boolean', default: false, describe: 'the group tree, from GROUP (default all)' })
      .option('host', { type: 'string', describe: "one host's variables (JSON)" })
      .option('group', { type: 'string', describe: 'with --graph: the group to start from (same as the positional GROUP)' })
      .option('vars', { type: 'boolean', default: false, describe: 'with --graph: show variables' })
      .option('yaml', { alias: 'y', type: 'boolean', default: false, describe: 'YAML instead of JSON (--list, --host)' })
      .option('toml', { type: 'boolean', default: false, describe: 'TOML: not offered (an error)' })
      .option('export', { type: 'boolean', default: false, describe: 'with --list: group variables on groups, hosts with their own only' })
      .option('output', { type: 'string', describe: 'write the result to this file instead of stdout' })
      .option('limit', { alias: 'l', type: 'string', describe: 'alone: print the hosts this pattern selects' })
      .check((a) => {
        // LanesError, not Error: yargs hands a check's error to main as it is, and only LanesError is a user error.
        const actions = [a.list, a.graph, a.host !== undefined].filter(Boolean).length;
        const form = 'lanes inventory -i INV --list | --graph [GROUP] | --host HOST, or --limit PATTERN alone';
        if (actions > 1) throw new LanesError('only one of --list, --graph or --host can be used at a time (as in ansible-inventory)', { hint: form });
        if (actions === 0 && a.limit === undefined) throw new LanesError('no action: give --list, --graph, --host HOST or --limit PATTERN', { hint: form });
        if (actions === 1 && a.limit !== undefined) throw new LanesError('--limit goes alone: ansible-inventory takes no --limit with --list, --graph or --host', { hint: form });
        return true;
      }) as never,
  handler: async (args) => {
    if (args.inventory.length === 0) {
      throw new LanesError('no inventory given', { hint: 'pass -i INVENTORY (a YAML or INI inventory file, or a directory), set LANES_INVENTORY, or set inventory in ansible.cfg' });
    }
    // The inventory loader is imported when the command runs, not when lanes starts.
    const { showInventory } = await import('../agent/inventory/index.js');
    const view: InventoryView = args.list ? 'list' : args.graph ? 'graph' : args.host !== undefined ? 'host' : 'limit';
    const shown = await showInventory({
      ...inventoryOptions(),
      inventory: args.inventory,
      view,
      group: args.pattern ?? args.group ?? 'all',
      host: args.host,
      vars: args.vars,
      // As in ansible-inventory, --yaml wins over --toml.
      format: args.yaml ? 'yaml' : args.toml ? 'toml' : 'json',
      export: args.export,
      output: args.output,
      limit: args.limit,
    });
    for (const w of shown.warnings) process.stderr.write(`[WARNING]: ${w}\n`);
    process.stdout.write(shown.stdout);
  },
};
