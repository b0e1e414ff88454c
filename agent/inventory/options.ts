/**
 * How an inventory is read: the Ansible settings that change the result (from ansible.cfg, ANSIBLE_*
 * environment or the command line; see agent/config/). Every field is optional and defaults to
 * Ansible's own default, so `loadInventory(paths)` reads an inventory as a stock Ansible does.
 */
export interface InventoryOptions {
  /** hash_behaviour (DEFAULT_HASH_BEHAVIOUR): 'replace' (default) or 'merge' (dicts merged recursively). */
  hashBehaviour?: 'replace' | 'merge';
  /** force_valid_group_names (TRANSFORM_INVALID_GROUP_CHARS): 'never' (default), 'always', 'silently', 'ignore'. */
  invalidGroupChars?: 'never' | 'always' | 'silently' | 'ignore';
  /**
   * Names ending in these are skipped inside a directory source (INVENTORY_IGNORE_EXTS; default
   * IGNORED_EXTENSIONS below, Ansible's own list).
   */
  ignoreExtensions?: readonly string[];
  /** Regular expressions: names they match are skipped inside a directory source (INVENTORY_IGNORE_PATTERNS). */
  ignorePatterns?: readonly string[];
  /** Seconds an executable inventory script may run before it is stopped (a located error). */
  scriptTimeout?: number;
  /** Directory relative paths and scripts run from (default: process.cwd()). */
  cwd?: string;
}

/**
 * Ansible's default INVENTORY_IGNORE_EXTS: its REJECT_EXTS plus .orig, .ini, .cfg and .retry. Here, not
 * in load.ts, so the settings (agent/config/) can name the default without loading the inventory code.
 */
export const IGNORED_EXTENSIONS: readonly string[] = ['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'];
