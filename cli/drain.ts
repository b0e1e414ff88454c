/** `lanes drain` and `lanes undrain`: stop the release's workers gracefully (jobs in progress finish), or start them again. */
import type { CommandModule } from 'yargs';
import { connectOptions, hostOptions, inventoryOptions, leaseOptions, leaseSettings, timeoutMs, type HostArgs, type LeaseArgs } from './options.js';
import { extraVars, playbookOptions, type PlaybookArgs } from './playbook-options.js';
import { withRenderer } from './render.js';

type Args = HostArgs & PlaybookArgs & LeaseArgs & { playbook: string };

function workersCommand(action: 'drain' | 'undrain', describe: string): CommandModule<object, Args> {
  return {
    command: `${action} <playbook>`,
    describe,
    builder: (y) => leaseOptions(playbookOptions(hostOptions(y))).positional('playbook', { type: 'string', demandOption: true, describe: 'playbook with a release: block' }) as never,
    handler: async (args) => {
      // The engine is loaded when the command runs, not when lanes starts.
      const [{ preparePlaybookRun }, { workersFleet }] = await Promise.all([import('../agent/plan/prepare.js'), import('../agent/rollout/maintenance.js')]);
      const prepared = await preparePlaybookRun({ playbook: args.playbook, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args), inventoryOptions: inventoryOptions() });
      const opts = await connectOptions(args);
      // --timeout bounds the lease scripts only: a drain is bounded by the workers' own stop timeouts.
      process.exitCode = await withRenderer(
        args.json,
        (bus, signal) => workersFleet(action, prepared.desired, prepared.hosts, { ...opts, ...leaseSettings(args), bus, signal, command: action, forks: args.forks, timeoutMs: timeoutMs(args) }),
        { cancellable: true },
      );
    },
  };
}

export const drainCommand = workersCommand('drain', "Stop the release's workers gracefully: each finishes its job in progress");
export const undrainCommand = workersCommand('undrain', "Start the release's workers again and check they run the live release");
