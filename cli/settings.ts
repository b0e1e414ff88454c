/**
 * The run's Ansible settings (ansible.cfg + ANSIBLE_*), read once by main() before the commands are
 * built, and how an option's default is taken from them (its help then says where it came from).
 */
import { loadSettings, type Settings } from '../agent/config/index.js';

let current: Settings | undefined;

export function useSettings(s: Settings): void {
  current = s;
}

/** The settings main() read; read here on first use when a command is built on its own (tests). */
export function settings(): Settings {
  current ??= loadSettings();
  return current;
}

/**
 * A yargs default from a setting: its value and, when ansible.cfg or ANSIBLE_* set it, a
 * description naming where (`20 (from /srv/ansible.cfg)`); lanes' own default otherwise.
 */
export function settingDefault<T>(name: string, lanesDefault?: T): { default?: T; defaultDescription?: string } {
  const s = settings().byName.get(name);
  // An empty value (`remote_user =`) sets nothing, as for Ansible's ssh connection.
  if (!s || s.origin === 'default' || s.value === '' || s.value === undefined) return lanesDefault === undefined ? {} : { default: lanesDefault };
  const v = s.value as T;
  const where = s.origin.startsWith('env: ') ? `$${s.origin.slice(5)}` : s.origin;
  return { default: v, defaultDescription: `${Array.isArray(v) ? v.join(',') : String(v)} (${s.def.name} from ${where})` };
}
