/** `lanes schema`: the JSON Schema of a playbook, for editor completion and validation. */
import type { CommandModule } from 'yargs';

export const schemaCommand: CommandModule<object, object> = {
  command: 'schema',
  describe: 'Print the JSON Schema of a playbook (for editors: yaml-language-server, VS Code)',
  handler: async () => {
    // The playbook compiler (and every resource type) is imported when the command runs.
    const { playbookJsonSchema } = await import('../agent/playbook/index.js');
    process.stdout.write(`${JSON.stringify(playbookJsonSchema(), null, 2)}\n`);
  },
};
