/** `lanes ping`: connect to every selected host and run a trivial command. */
import type { CommandModule } from 'yargs';
import { connectOptions, hostOptions, inventoryOptions, timeoutMs, type HostArgs } from './options.js';
import { withRenderer } from './render.js';

type Args = HostArgs & { pattern: string };

export const pingCommand: CommandModule<object, Args> = {
  command: 'ping [pattern]',
  describe: 'Connect to every host and run a trivial command, with timings',
  builder: (y) =>
    hostOptions(y).positional('pattern', { type: 'string', default: 'all', describe: 'host pattern' }) as never,
  handler: async (args) => {
    // The engine is loaded when the command runs, not when lanes starts.
    const [{ ping }, { selectFromInventory }] = await Promise.all([import('../agent/run/ping.js'), import('../agent/run/select.js')]);
    const { hosts } = await selectFromInventory(args.inventory, args.pattern, args.limit, inventoryOptions());
    const opts = await connectOptions(args);
    process.exitCode = await withRenderer(args.json, (bus) =>
      ping(hosts, { ...opts, bus, command: 'ping', forks: args.forks, timeoutMs: timeoutMs(args) }),
    );
  },
};
