/**
 * Ansible's own settings (ansible.cfg and ANSIBLE_* variables) as lanes reads and uses them. The CLI
 * loads them once at start (loadSettings) and turns them into option defaults; the helpers here give
 * the engine-facing pieces (inventory options, ssh options).
 */
import type { InventoryOptions } from '../inventory/options.js';
import { LanesError } from '../errors.js';
import { settingValue, type Settings } from './settings.js';
import { scanSshArgs } from './ssh-args.js';

export { SETTINGS, type SettingDef } from './definitions.js';
export { findConfigFile, type FoundConfig } from './find.js';
export { parseIni, type IniFile } from './ini.js';
export { loadSettings, settingValue, showValue, unsupportedWarning, type Setting, type Settings, type Unsupported } from './settings.js';
export { scanSshArgs } from './ssh-args.js';

/** hash_behaviour and force_valid_group_names, for loadInventory / preparePlaybookRun. */
export function inventoryOptionsOf(s: Settings): InventoryOptions {
  return {
    hashBehaviour: settingValue<'replace' | 'merge'>(s, 'DEFAULT_HASH_BEHAVIOUR'),
    invalidGroupChars: settingValue<InventoryOptions['invalidGroupChars']>(s, 'TRANSFORM_INVALID_GROUP_CHARS'),
    ignoreExtensions: settingValue<string[]>(s, 'INVENTORY_IGNORE_EXTS'),
    ignorePatterns: settingValue<string[]>(s, 'INVENTORY_IGNORE_PATTERNS'),
  };
}

/**
 * ssh_args, ssh_common_args and ssh_extra_args as one ssh command line, in the order Ansible's ssh
 * connection passes them (ssh keeps the first value it sees for an option), and the `-F` file among
 * them. Empty when none is set.
 */
export function sshArgsOf(s: Settings): { args: string; configFile?: string; where: string } {
  const parts: string[] = [];
  const where: string[] = [];
  let configFile: string | undefined;
  for (const name of ['ssh_args', 'ssh_common_args', 'ssh_extra_args']) {
    const setting = s.byName.get(name);
    const v = setting?.value;
    if (typeof v !== 'string' || v.trim() === '') continue;
    parts.push(v);
    where.push(`${name} (${setting?.origin})`);
    configFile ??= scanSshArgs(v, name).configFile;
  }
  return { args: parts.join(' '), ...(configFile !== undefined ? { configFile } : {}), where: where.join(', ') };
}

/** become_method: lanes escalates with sudo only; anything else is refused where it was set. */
export function checkBecomeMethod(s: Settings): void {
  const m = s.byName.get('DEFAULT_BECOME_METHOD');
  if (m && m.value !== 'sudo') {
    throw new LanesError(`become_method "${String(m.value)}" is not supported`, {
      location: m.location ?? { file: m.origin },
      hint: 'lanes escalates with sudo only: set become_method = sudo, or remove it',
    });
  }
}
