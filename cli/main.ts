#!/usr/bin/env node
/**
 * The `lanes` command. Each subcommand lives in its own file and only parses, calls the agent and
 * renders. User errors (LanesError, bad arguments) print one line and exit 1; anything else is a
 * bug in lanes and is printed with its stack (exit 70).
 */
import { readFileSync } from 'node:fs';
import { loadSettings, unsupportedWarning } from '../agent/config/index.js';
import { isLanesError } from '../agent/errors.js';
import { secrets } from '../agent/report/mask.js';
import { quietOnClosedPipes } from './pipes.js';
import { useSettings } from './settings.js';

export async function main(argv: string[]): Promise<number> {
  // `lanes --version` alone answers before yargs and the commands are loaded (most of a start's cost).
  if (argv.length === 1 && argv[0] === '--version') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  try {
    readSettings(argv);
  } catch (err) {
    return report(err);
  }
  // The command definitions are light (their engines load in their handlers); yargs is needed from here on.
  const [{ default: yargs }, c] = await Promise.all([import('yargs'), import('./commands.js')]);
  const parser = yargs(argv)
    .scriptName('lanes')
    // '-i a.yml web1' must not swallow the positional: repeat -i for several inventories.
    .parserConfiguration({ 'greedy-arrays': false })
    .usage('$0 <command> [options]\n\nProvision PHP application servers over SSH and ship releases without downtime.')
    .command(c.planCommand)
    .command(c.applyCommand)
    .command(c.releaseCommand)
    .command(c.rollbackCommand)
    .command(c.releasesCommand)
    .command(c.drainCommand)
    .command(c.undrainCommand)
    .command(c.runCommand)
    .command(c.pingCommand)
    .command(c.factsCommand)
    .command(c.inventoryCommand)
    .command(c.labCommand)
    .command(c.schemaCommand)
    .command(c.configCommand)
    .demandCommand(1, 'name a command (lanes --help lists them)')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version(version())
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    });
  try {
    await parser.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return report(err);
  }
}

/**
 * ansible.cfg and ANSIBLE_* are read once, before the commands are built (their defaults come from
 * them). Settings lanes does not support are named in one warning (`lanes config` lists them instead).
 */
function readSettings(argv: string[]): void {
  const s = loadSettings();
  useSettings(s);
  for (const w of s.warnings) process.stderr.write(`[WARNING]: ${w}\n`);
  const unsupported = unsupportedWarning(s);
  if (unsupported !== undefined && argv[0] !== 'config') process.stderr.write(`[WARNING]: ${unsupported}\n`);
}

function report(err: unknown): number {
  if (isLanesError(err)) {
    process.stderr.write(`lanes: ${secrets.mask(err.format())}\n`);
    return 1;
  }
  if (err instanceof UsageError || (err instanceof Error && err.name === 'YError')) {
    process.stderr.write(`lanes: ${secrets.mask(err.message)} (see lanes --help)\n`);
    return 1;
  }
  // A stack's message may quote a value (a spec, a rendered file): registered secrets are masked here too.
  process.stderr.write(`lanes: internal error, please report it:\n${secrets.mask(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`);
  return 70;
}

class UsageError extends Error {}

/** lanes' version, from its package.json (two levels up from dist/cli/main.js and from the bundle's dist/bin/main.js). */
function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

quietOnClosedPipes();
// process.argv without node and the script (what yargs' hideBin returns for a node process).
const code = await main(process.argv.slice(2));
process.exitCode = code;
