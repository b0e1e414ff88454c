/** `lanes plan`: the dry-run for change review — every change with its diff; nothing is written to any host. */
import type { CommandModule } from 'yargs';
import type { HostPlan } from '../agent/plan/run.js';
import { colorEnabled, painter } from '../agent/report/color.js';
import { secrets } from '../agent/report/mask.js';
import { errorLineForHost } from '../agent/errors.js';
import { connectOptions, hostOptions, inventoryOptions, timeoutMs, type HostArgs } from './options.js';
import { extraVars, playbookOptions, type PlaybookArgs } from './playbook-options.js';
import { withProgress } from './render.js';

type Args = HostArgs & PlaybookArgs & { playbook: string; 'detailed-exitcode': boolean; out?: string };

export const planCommand: CommandModule<object, Args> = {
  command: 'plan <playbook>',
  describe: 'Show exactly what apply would change on each host (dry-run with diffs)',
  builder: (y) =>
    playbookOptions(hostOptions(y))
      .positional('playbook', { type: 'string', demandOption: true, describe: 'playbook file' })
      .option('detailed-exitcode', { type: 'boolean', default: false, describe: 'exit 0 when nothing would change, 2 when something would, 1 on error' })
      .option('out', { type: 'string', describe: 'save the plan to apply it later exactly as reviewed (lanes apply FILE)' }) as never,
  handler: async (args) => {
    // The engine is loaded when the command runs: `lanes plan --help` must not pay for it.
    const [{ writePlanFile, PLAN_FORMAT }, { isSealed, sealHostPlan }, { preparePlaybookRun }, { planFleet }, { renderPlan }] = await Promise.all([
      import('../agent/plan/plan-file.js'),
      import('../agent/plan/sealed.js'),
      import('../agent/plan/prepare.js'),
      import('../agent/plan/run.js'),
      import('../agent/report/plan-text.js'),
    ]);
    const prepared = await preparePlaybookRun({ playbook: args.playbook, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args), inventoryOptions: inventoryOptions() });
    const opts = await connectOptions(args);
    const result = await withProgress(args.json, (bus) =>
      planFleet(prepared.desired, prepared.hosts, { ...opts, bus, command: 'plan', forks: args.forks, timeoutMs: timeoutMs(args) }),
    );
    const planned = result.hosts.filter((h) => h.ok && h.data).map((h) => h.data!) as HostPlan[];
    const failed = result.hosts.filter((h) => !h.ok).map((h) => ({ host: h.host, message: errorLineForHost(h.error, h.host) }));
    if (!args.json) {
      const paint = painter(colorEnabled(process.stdout));
      process.stdout.write(secrets.mask(renderPlan({ title: `plan: ${args.playbook}`, hosts: planned, failed }, paint)));
    }
    if (args.out && failed.length === 0) {
      await writePlanFile(args.out, {
        format: PLAN_FORMAT,
        createdAt: new Date().toISOString(),
        playbook: args.playbook,
        inventory: args.inventory,
        limit: args.limit,
        hosts: planned,
      });
      process.stderr.write(`plan saved to ${args.out}: apply it with lanes apply ${args.out}\n`);
      if (planned.some((p) => isSealed(sealHostPlan(p)))) {
        // The file holds hashes of the sensitive contents: apply compiles the playbook again to fill them in.
        process.stderr.write('sensitive contents are saved as hashes: give lanes apply the same -e/--extra-vars (and vault passwords) again\n');
      }
    } else if (args.out) {
      process.stderr.write(`plan NOT saved: ${failed.length} host(s) failed\n`);
    }
    const changed = planned.some((p) => p.changes.length > 0);
    process.exitCode = failed.length > 0 ? 1 : args['detailed-exitcode'] && changed ? 2 : 0;
  },
};
