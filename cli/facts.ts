/** `lanes facts`: what lanes reads from each host (OS, PHP-FPM, Supervisor, systemd, CPUs, memory). */
import type { CommandModule } from 'yargs';
import { connectOptions, hostOptions, inventoryOptions, timeoutMs, type HostArgs } from './options.js';
import { withRenderer } from './render.js';

type Args = HostArgs & { pattern: string[] };

export const factsCommand: CommandModule<object, Args> = {
  command: 'facts [pattern..]',
  describe: 'Show the facts lanes reads from hosts; --json for all of them',
  builder: (y) =>
    hostOptions(y).positional('pattern', { type: 'string', array: true, default: ['all'], describe: 'hosts or patterns' }) as never,
  handler: async (args) => {
    // The engine is loaded when the command runs, not when lanes starts.
    const [{ readFacts }, { selectFromInventory }] = await Promise.all([import('../agent/run/facts.js'), import('../agent/run/select.js')]);
    const { hosts } = await selectFromInventory(args.inventory, args.pattern.join(':'), args.limit, inventoryOptions());
    const opts = await connectOptions(args);
    process.exitCode = await withRenderer(args.json, (bus) =>
      readFacts(hosts, { ...opts, bus, command: 'facts', forks: args.forks, timeoutMs: timeoutMs(args) }),
    );
  },
};
