/** Options of the commands that take a playbook (plan, apply). */
import type { Argv } from 'yargs';
import { inventoryOptions } from './options.js';

export interface PlaybookArgs {
  'extra-vars'?: string[];
}

export function playbookOptions<T>(y: Argv<T>): Argv<T & PlaybookArgs> {
  return y.option('extra-vars', {
    alias: 'e',
    type: 'string',
    array: true,
    describe: 'variables that override all others: key=value …, JSON, or @file.yml (repeatable)',
  }) as unknown as Argv<T & PlaybookArgs>;
}

export async function extraVars(args: PlaybookArgs): Promise<Record<string, unknown>> {
  // Several -e are combined as Ansible does, honouring hash_behaviour. Imported here: the options'
  // definitions above must not load the playbook compiler (`--help` stays fast).
  const { parseExtraVars } = await import('../agent/playbook/vars.js');
  return parseExtraVars(args['extra-vars'] ?? [], process.cwd(), inventoryOptions().hashBehaviour);
}
