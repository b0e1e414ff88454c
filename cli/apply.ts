/**
 * `lanes apply PLAYBOOK|PLANFILE`: plan, show, confirm, apply.
 * - with --yes: one pass, one connection per host (read → plan → apply → verify);
 * - on a terminal without --yes: the plan is shown and confirmed first, then applied only on hosts
 *   whose state still matches what was shown;
 * - a saved plan (lanes plan --out) is applied exactly as reviewed, host by host only where the
 *   state still matches, naming the hosts that drifted.
 */
import type { CommandModule } from 'yargs';
import type { HostApplyResult } from '../agent/apply/run.js';
import { LanesError, errorLineForHost } from '../agent/errors.js';
import type { PlanFile } from '../agent/plan/plan-file.js';
import type { DesiredResource } from '../agent/resources/types.js';
import type { HostPlan } from '../agent/plan/run.js';
import { colorEnabled, painter } from '../agent/report/color.js';
import { secrets } from '../agent/report/mask.js';
import { durationMs } from '../agent/rollout/duration.js';
import type { FleetResult } from '../agent/run/fleet.js';
import { connectOptions, hostOptions, inventoryOptions, leaseOptions, leaseSettings, timeoutMs, type HostArgs, type LeaseArgs } from './options.js';
import { extraVars, playbookOptions, type PlaybookArgs } from './playbook-options.js';
import { cancelExitCode, withProgress } from './render.js';

type Args = HostArgs & PlaybookArgs & LeaseArgs & { target: string; yes: boolean; 'max-age'?: string };

export const applyCommand: CommandModule<object, Args> = {
  command: 'apply <target>',
  describe: 'Make hosts match a playbook (or apply a saved plan exactly as reviewed)',
  builder: (y) =>
    leaseOptions(playbookOptions(hostOptions(y)))
      .positional('target', { type: 'string', demandOption: true, describe: 'playbook, or a plan file from lanes plan --out' })
      .option('yes', { alias: 'y', type: 'boolean', default: false, describe: 'do not ask for confirmation' })
      .option('max-age', {
        type: 'string',
        default: process.env.LANES_PLAN_MAX_AGE || undefined,
        defaultDescription: '$LANES_PLAN_MAX_AGE, else no limit',
        describe: 'refuse a saved plan written longer ago than this (30m, 2h, 1d)',
      }) as never,
  handler: async (args) => {
    // The engine is loaded when the command runs: `lanes apply --help` must not pay for it.
    const [{ applyFleet }, { isPlanFile, readPlanFile }, { isSealed }, { hostsOfSavedPlan, preparePlaybookRun }, { planFleet }, { renderPlan }] = await Promise.all([
      import('../agent/apply/run.js'),
      import('../agent/plan/plan-file.js'),
      import('../agent/plan/sealed.js'),
      import('../agent/plan/prepare.js'),
      import('../agent/plan/run.js'),
      import('../agent/report/plan-text.js'),
    ]);
    const opts = await connectOptions(args);
    const common = { ...opts, ...leaseSettings(args), command: 'apply', forks: args.forks, timeoutMs: timeoutMs(args) };
    const cancellable = { cancellable: true };
    const paint = painter(colorEnabled(process.stdout));
    let result: FleetResult<HostApplyResult>;

    if (await isPlanFile(args.target)) {
      // Refused here, before any host is contacted, when edited or too old.
      const plan = await readPlanFile(args.target, { maxAgeMs: maxAgeMs(args['max-age']) });
      const inventory = args.inventory.length ? args.inventory : plan.inventory;
      // -e is not recorded in a plan: given again, it templates connection variables as in a plain apply.
      const extra = await extraVars(args);
      const hosts = await hostsOfSavedPlan(inventory, plan.hosts.map((h) => h.host), extra, inventoryOptions());
      const saved = new Map(plan.hosts.map((h) => [h.host, h]));
      const desired = plan.hosts.some(isSealed) ? await recompileSealed(plan, inventory, extra) : new Map<string, DesiredResource[]>();
      result = await withProgress(args.json, (bus, signal) => applyFleet(desired, hosts, { ...common, bus, signal, saved }), cancellable);
    } else {
      const prepared = await preparePlaybookRun({ playbook: args.target, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args), inventoryOptions: inventoryOptions() });
      if (args.yes) {
        result = await withProgress(args.json, (bus, signal) => applyFleet(prepared.desired, prepared.hosts, { ...common, bus, signal }), cancellable);
      } else {
        if (!process.stdin.isTTY) {
          throw new LanesError('refusing to apply without confirmation: standard input is not a terminal', {
            hint: 'review with lanes plan, then pass --yes (or apply a saved plan: lanes plan --out FILE; lanes apply FILE)',
          });
        }
        const planned = await withProgress(args.json, (bus) => planFleet(prepared.desired, prepared.hosts, { ...common, bus, command: 'plan' }));
        const plans = planned.hosts.filter((h) => h.ok && h.data).map((h) => h.data!) as HostPlan[];
        const failed = planned.hosts.filter((h) => !h.ok).map((h) => ({ host: h.host, message: errorLineForHost(h.error, h.host) }));
        if (!args.json) process.stdout.write(secrets.mask(renderPlan({ title: `plan: ${args.target}`, hosts: plans, failed }, paint)));
        const toChange = plans.filter((p) => p.changes.length > 0);
        if (toChange.length === 0) {
          process.stdout.write('nothing to apply\n');
          process.exitCode = failed.length ? 1 : 0;
          return;
        }
        const n = toChange.reduce((a, p) => a + p.changes.length, 0);
        const { confirm } = await import('./confirm.js');
        if (!(await confirm(`apply ${n} change${n === 1 ? '' : 's'} to ${toChange.length} host${toChange.length === 1 ? '' : 's'}?`))) {
          process.stdout.write('not applied\n');
          process.exitCode = 1;
          return;
        }
        const hosts = prepared.hosts.filter((h) => toChange.some((p) => p.host === h.name));
        result = await withProgress(
          args.json,
          (bus, signal) => applyFleet(prepared.desired, hosts, { ...common, bus, signal, saved: new Map(toChange.map((p) => [p.host, p])) }),
          cancellable,
        );
        if (failed.length) process.exitCode = 1;
      }
    }
    await report(result, args.target, args.json, paint);
    if (!result.ok) process.exitCode = 1;
    process.exitCode = cancelExitCode() ?? process.exitCode;
  },
};

function maxAgeMs(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  try {
    return durationMs(v.trim());
  } catch {
    throw new LanesError(`--max-age ${JSON.stringify(v)} is not a duration`, { hint: 'e.g. 30m, 2h, 1d' });
  }
}

/**
 * A saved plan with sensitive content holds only its hashes: the recorded playbook and inventory are
 * compiled again (with -e given again) and must give exactly the saved resources on every host.
 */
async function recompileSealed(plan: PlanFile, inventory: string[], extra: Record<string, unknown> | undefined): Promise<Map<string, DesiredResource[]>> {
  const [{ preparePlaybookRun }, { checkRecompiled }] = await Promise.all([import('../agent/plan/prepare.js'), import('../agent/plan/sealed.js')]);
  const prepared = await preparePlaybookRun({ playbook: plan.playbook, inventory, limit: plan.limit, extraVars: extra, inventoryOptions: inventoryOptions() });
  for (const h of plan.hosts) checkRecompiled(h.host, h.desired, prepared.desired.get(h.host) ?? []);
  return prepared.desired;
}

async function report(result: FleetResult<HostApplyResult>, target: string, json: boolean, paint: ReturnType<typeof painter>): Promise<void> {
  const applied = result.hosts.filter((h) => h.ok && h.data).map((h) => h.data!) as HostApplyResult[];
  const failed = result.hosts.filter((h) => !h.ok).map((h) => ({ host: h.host, message: errorLineForHost(h.error, h.host) }));
  if (json) return; // the event stream on stdout already carries every host's result
  const { renderPlan } = await import('../agent/report/plan-text.js');
  process.stdout.write(secrets.mask(renderPlan({ title: `applied: ${target}`, mode: 'applied', hosts: applied, failed }, paint)));
}
