/**
 * `lanes config`: the Ansible settings lanes honours and where each came from, in the form of
 * `ansible-config dump --only-changed` (`NAME(origin) = value`), then the settings that are set but
 * not supported. `--all` shows the honoured ones left at lanes' default too; `--file` only the
 * ansible.cfg used.
 */
import type { CommandModule } from 'yargs';
import { showValue, type Settings } from '../agent/config/index.js';
import { settings } from './settings.js';

interface Args {
  all: boolean;
  json: boolean;
  file: boolean;
}

export const configCommand: CommandModule<object, Args> = {
  command: 'config',
  describe: 'Show the Ansible settings in effect (ansible.cfg, ANSIBLE_*) and where each came from',
  builder: (y) =>
    y
      .option('all', { type: 'boolean', default: false, describe: 'also the settings lanes honours that are left at their default' })
      .option('json', { type: 'boolean', default: false, describe: 'as JSON' })
      .option('file', { type: 'boolean', default: false, describe: 'only the path of the ansible.cfg read (nothing when none)' }) as never,
  handler: (args) => {
    const s = settings();
    if (args.file) {
      if (s.file !== undefined) process.stdout.write(`${s.file}\n`);
      else process.stderr.write('lanes: no ansible.cfg found (ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg, /etc/ansible/ansible.cfg)\n');
      return;
    }
    process.stdout.write(args.json ? `${JSON.stringify(configJson(s, args.all), null, 2)}\n` : configText(s, args.all));
  },
};

function shown(s: Settings, all: boolean) {
  return [...s.byName.values()].filter((v) => all || v.origin !== 'default').sort((a, b) => (a.def.name < b.def.name ? -1 : a.def.name > b.def.name ? 1 : 0));
}

export function configText(s: Settings, all: boolean): string {
  const lines = [`CONFIG_FILE() = ${s.file ?? 'None'}`];
  for (const v of shown(s, all)) lines.push(`${v.def.name}(${v.origin}) = ${showValue(v.value)}`);
  if (s.unsupported.length > 0) {
    lines.push('', 'Set but not supported by lanes (no effect):');
    for (const u of s.unsupported) lines.push(`  ${u.name} (${u.where})`);
  }
  return `${lines.join('\n')}\n`;
}

export function configJson(s: Settings, all: boolean): unknown {
  return {
    config_file: s.file ?? null,
    settings: shown(s, all).map((v) => ({ name: v.def.name, value: v.value ?? null, origin: v.origin, lanes_option: v.def.feeds })),
    unsupported: s.unsupported,
  };
}
