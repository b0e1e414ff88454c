/** `lanes schema`: the JSON Schema of a playbook, for editor completion and validation. */
import type { CommandModule } from 'yargs';
import { playbookJsonSchema } from '../agent/playbook/index.js';

export const schemaCommand: CommandModule<object, object> = {
  command: 'schema',
  describe: 'Print the JSON Schema of a playbook (for editors: yaml-language-server, VS Code)',
  handler: () => {
    process.stdout.write(`${JSON.stringify(playbookJsonSchema(), null, 2)}\n`);
  },
};
