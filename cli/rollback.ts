/** `lanes rollback`: the release dance toward an earlier release already on the hosts. */
import type { CommandModule } from 'yargs';
import { connectOptions, inventoryOptions } from './options.js';
import { extraVars } from './playbook-options.js';
import { rolloutOptions, runRollout, type RolloutArgs } from './release.js';

type Args = RolloutArgs & { to?: string };

export const rollbackCommand: CommandModule<object, Args> = {
  command: 'rollback <playbook>',
  describe: 'Switch back to an earlier release (default: the one before the live one), host by host',
  builder: (y) => rolloutOptions(y).option('to', { type: 'string', describe: 'release id to go back to' }) as never,
  handler: async (args) => {
    // The engine is loaded when the command runs, not when lanes starts.
    const { preparePlaybookRun } = await import('../agent/plan/prepare.js');
    const prepared = await preparePlaybookRun({ playbook: args.playbook, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args), inventoryOptions: inventoryOptions() });
    const opts = await connectOptions(args);
    await runRollout(args, prepared, opts, { rollbackTo: args.to, command: 'rollback' });
  },
};
