/** `lanes run PATTERN -i INV -- COMMAND…`: an ad-hoc command on the selected hosts, output grouped. */
import type { CommandModule } from 'yargs';
import { LanesError, errorLineForHost } from '../agent/errors.js';
import { colorEnabled, painter } from '../agent/report/color.js';
import { secrets } from '../agent/report/mask.js';
import { renderRunOutput, type RunHostOutput } from '../agent/report/run-text.js';
import { connectOptions, hostOptions, inventoryOptions, timeoutMs, type HostArgs } from './options.js';
import { extraVars, playbookOptions, type PlaybookArgs } from './playbook-options.js';
import { cancelExitCode, withProgress } from './render.js';

type Args = HostArgs & PlaybookArgs & { release?: string; pattern: string; command: string[]; '--'?: string[]; as?: string; once: boolean; cwd?: string };

export const runCommand: CommandModule<object, Args> = {
  command: 'run <pattern> [command..]',
  describe: 'Run an ad-hoc shell command on the hosts matching PATTERN (after --), output grouped per host',
  builder: (y) =>
    playbookOptions(hostOptions(y))
      // Everything after `--` is the command, options included (`-- php -v`); main's setting is kept.
      .parserConfiguration({ 'greedy-arrays': false, 'populate--': true })
      .positional('pattern', { type: 'string', demandOption: true, describe: 'host pattern' })
      .positional('command', { type: 'string', array: true, default: [], describe: 'the command, after --: run with sh -c on each host' })
      .option('as', { type: 'string', describe: 'run it as this user (sudo -u USER); --become alone runs it as root' })
      .option('once', { type: 'boolean', default: false, describe: 'only on the first matching host' })
      .option('cwd', { type: 'string', describe: 'directory to run it in (default: the login home)' })
      .option('release', {
        type: 'string',
        describe: "playbook with a release: block: run in its current release as release.user (default release.owner), with LANES_RELEASE_ID, LANES_RELEASE_DIR, LANES_HOST",
      })
      .conflicts('release', 'as')
      .example('$0 run web -i inv.yml -- php -v', 'the PHP version on every web host')
      .example("$0 run web -i inv.yml --once --as app --cwd /srv/app/current -- 'php artisan migrate:status'", 'once, as app') as never,
  handler: async (args) => {
    const shell = [...args.command, ...(args['--'] ?? [])].map(String).join(' ');
    // `--cwd current` is the release's current directory, which only the playbook's release: block locates.
    if (args.cwd === 'current' && !args.release) {
      throw new LanesError('--cwd current needs --release PLAYBOOK, whose release: block says where the release lives', { hint: 'or give a path, e.g. ./current' });
    }
    if (args.release && args.cwd !== undefined && args.cwd !== 'current') {
      throw new LanesError(`--release runs in the release's current directory: --cwd ${args.cwd} cannot be given with it`);
    }
    // The engine is loaded when the command runs, not when lanes starts.
    const [{ AdhocFailed, runAdhoc }, { selectFromInventory }] = await Promise.all([import('../agent/run/adhoc.js'), import('../agent/run/select.js')]);
    const { hosts } = await selectFromInventory(args.inventory, args.pattern, args.limit, inventoryOptions());
    const release = args.release ? await releaseRoots(args, hosts.map((h) => h.name)) : undefined;
    const opts = await connectOptions(args);
    const result = await withProgress(
      args.json,
      (bus, signal) =>
        runAdhoc(hosts, { ...opts, bus, signal, command: 'run', shell, cwd: args.cwd, once: args.once, as: args.as, release, forks: args.forks, timeoutMs: timeoutMs(args) }),
      { cancellable: true },
    );
    if (!args.json) {
      const outputs: RunHostOutput[] = result.hosts.map((h) => {
        const r = h.ok ? h.data : h.error instanceof AdhocFailed ? h.error.result : undefined;
        return r ? { host: h.host, code: r.code, signal: r.signal, stdout: r.stdout, stderr: r.stderr } : { host: h.host, error: errorLineForHost(h.error, h.host) };
      });
      process.stdout.write(secrets.mask(renderRunOutput(outputs, painter(colorEnabled(process.stdout)))));
    }
    process.exitCode = cancelExitCode() ?? (result.ok ? 0 : 1);
  },
};

/** --release PLAYBOOK: each selected host's release root and user, from the play's `release:` block. */
async function releaseRoots(args: Args, names: string[]): Promise<Map<string, { path: string; user: string }>> {
  const [{ preparePlaybookRun }, { releaseSpecFor }] = await Promise.all([import('../agent/plan/prepare.js'), import('../agent/rollout/spec.js')]);
  const prepared = await preparePlaybookRun({ playbook: args.release!, inventory: args.inventory, limit: args.limit, extraVars: await extraVars(args), inventoryOptions: inventoryOptions() });
  return new Map(
    names.map((host) => {
      const spec = releaseSpecFor(host, prepared.desired.get(host) ?? []);
      return [host, { path: spec.path, user: spec.user }] as const;
    }),
  );
}
