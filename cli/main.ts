#!/usr/bin/env node
/**
 * The `lanes` command. Each subcommand lives in its own file and only parses, calls the agent and
 * renders. User errors (LanesError, bad arguments) print one line and exit 1; anything else is a
 * bug in lanes and is printed with its stack (exit 70).
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { loadSettings, unsupportedWarning } from '../agent/config/index.js';
import { isLanesError } from '../agent/errors.js';
import { secrets } from '../agent/report/mask.js';
import { applyCommand } from './apply.js';
import { configCommand } from './config.js';
import { drainCommand, undrainCommand } from './drain.js';
import { factsCommand } from './facts.js';
import { inventoryCommand } from './inventory.js';
import { labCommand } from './lab.js';
import { quietOnClosedPipes } from './pipes.js';
import { pingCommand } from './ping.js';
import { planCommand } from './plan.js';
import { releaseCommand } from './release.js';
import { releasesCommand } from './releases.js';
import { rollbackCommand } from './rollback.js';
import { runCommand } from './run.js';
import { schemaCommand } from './schema.js';
import { useSettings } from './settings.js';

export async function main(argv: string[]): Promise<number> {
  try {
    readSettings(argv);
  } catch (err) {
    return report(err);
  }
  const parser = yargs(argv)
    .scriptName('lanes')
    // '-i a.yml web1' must not swallow the positional: repeat -i for several inventories.
    .parserConfiguration({ 'greedy-arrays': false })
    .usage('$0 <command> [options]\n\nProvision PHP application servers over SSH and ship releases without downtime.')
    .command(planCommand)
    .command(applyCommand)
    .command(releaseCommand)
    .command(rollbackCommand)
    .command(releasesCommand)
    .command(drainCommand)
    .command(undrainCommand)
    .command(runCommand)
    .command(pingCommand)
    .command(factsCommand)
    .command(inventoryCommand)
    .command(labCommand)
    .command(schemaCommand)
    .command(configCommand)
    .demandCommand(1, 'name a command (lanes --help lists them)')
    .strict()
    .recommendCommands()
    .help()
    .alias('help', 'h')
    .version()
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

quietOnClosedPipes();
const code = await main(hideBin(process.argv));
process.exitCode = code;
