/** `lanes releases`: per host the live release, the previous one and the others kept, from the host's own history. */
import type { CommandModule } from 'yargs';
import { EventBus } from '../agent/report/events.js';
import { connectOptions, hostOptions, inventoryOptions, timeoutMs, type HostArgs } from './options.js';
import { extraVars, playbookOptions, type PlaybookArgs } from './playbook-options.js';
import { withProgress } from './render.js';

type Args = HostArgs & PlaybookArgs & { playbook: string };

export const releasesCommand: CommandModule<object, Args> = {
  command: 'releases <playbook>',
  describe: 'Show per host the live release, the previous one and the others kept: when, who, source, outcome',
  builder: (y) => playbookOptions(hostOptions(y)).positional('playbook', { type: 'string', demandOption: true, describe: 'playbook with a release: block' }) as never,
  handler: async (args) => {
    // The engine is loaded when the command runs, not when lanes starts.
    const [{ preparePlaybookRun }, { describeHost, readReleasesFleet }] = await Promise.all([import('../agent/plan/prepare.js'), import('../agent/rollout/history.js')]);
    const prepared = await preparePlaybookRun({ playbook: args.playbook, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args), inventoryOptions: inventoryOptions() });
    const opts = await connectOptions(args);
    // Read-only: no lease. With --json, stdout is one JSON document (no event stream).
    const work = (bus: EventBus) => readReleasesFleet(prepared.desired, prepared.hosts, { ...opts, bus, command: 'releases', forks: args.forks, timeoutMs: timeoutMs(args) });
    const result = args.json ? await work(new EventBus()) : await withProgress(false, work);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ summary: result.summary, hosts: result.hosts, failed: result.failed }, null, 2)}\n`);
    } else {
      const lines = result.hosts.flatMap((h) => [...describeHost(h), '']);
      process.stdout.write(`${lines.join('\n')}${result.summary.line}\n`);
    }
    process.exitCode = result.ok ? 0 : 1;
  },
};
