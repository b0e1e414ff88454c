/** `lanes rollback`: the release dance toward an earlier release already on the hosts. */
import type { CommandModule } from 'yargs';
import { preparePlaybookRun } from '../agent/plan/prepare.js';
import { releaseFleet } from '../agent/rollout/release.js';
import { connectOptions, leaseSettings, timeoutMs } from './options.js';
import { extraVars } from './playbook-options.js';
import { renderRun, rolloutOptions, type RolloutArgs } from './release.js';
import { cancelExitCode, withProgress } from './render.js';

type Args = RolloutArgs & { to?: string };

export const rollbackCommand: CommandModule<object, Args> = {
  command: 'rollback <playbook>',
  describe: 'Switch back to an earlier release (default: the one before the live one), host by host',
  builder: (y) => rolloutOptions(y).option('to', { type: 'string', describe: 'release id to go back to' }) as never,
  handler: async (args) => {
    const prepared = await preparePlaybookRun({ playbook: args.playbook, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args) });
    const opts = await connectOptions(args);
    const result = await withProgress(
      args.json,
      (bus, signal) =>
        releaseFleet(prepared.desired, prepared.hosts, {
          ...opts,
          ...leaseSettings(args),
          bus,
          signal,
          command: 'rollback',
          forks: args.forks,
          timeoutMs: timeoutMs(args),
          rollbackTo: args.to,
          serial: args.serial,
          maxFail: args['max-fail'],
        }),
      { cancellable: true },
    );
    if (!args.json) process.stdout.write(renderRun(result));
    process.exitCode = cancelExitCode() ?? (result.ok ? 0 : 1);
  },
};
