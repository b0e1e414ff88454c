/**
 * The Ansible settings lanes honours: their names as `ansible-config dump` prints them, where
 * Ansible reads them (ansible.cfg sections/keys and ANSIBLE_* variables; when several are set, the
 * last listed wins, as in Ansible), their type, lanes' default and the option each one feeds.
 * Everything else set in ansible.cfg or an ANSIBLE_* variable is reported as not supported.
 */

import { IGNORED_EXTENSIONS } from '../inventory/options.js';

export type SettingType = 'string' | 'boolean' | 'integer' | 'path' | 'pathlist' | 'list';

export interface IniKey {
  section: string;
  key: string;
}

export interface SettingDef {
  name: string;
  type: SettingType;
  ini: IniKey[];
  env: string[];
  /** lanes' default, when nothing sets it (may differ from Ansible's: see `note`). */
  default: unknown;
  choices?: readonly string[];
  /** The lanes option (or behaviour) it feeds. */
  feeds: string;
  note?: string;
}

const d = (section: string, key: string): IniKey => ({ section, key });

export const SETTINGS: readonly SettingDef[] = [
  {
    name: 'DEFAULT_HOST_LIST',
    type: 'pathlist',
    ini: [d('defaults', 'inventory')],
    env: ['ANSIBLE_INVENTORY'],
    default: [],
    feeds: '--inventory',
    note: "after $LANES_INVENTORY; Ansible's default /etc/ansible/hosts is not used",
  },
  { name: 'DEFAULT_REMOTE_USER', type: 'string', ini: [d('defaults', 'remote_user')], env: ['ANSIBLE_REMOTE_USER'], default: undefined, feeds: '--user' },
  {
    name: 'DEFAULT_PRIVATE_KEY_FILE',
    type: 'path',
    ini: [d('defaults', 'private_key_file')],
    env: ['ANSIBLE_PRIVATE_KEY_FILE'],
    default: undefined,
    feeds: '--private-key',
  },
  {
    name: 'HOST_KEY_CHECKING',
    type: 'boolean',
    ini: [d('defaults', 'host_key_checking'), d('ssh_connection', 'host_key_checking')],
    env: ['ANSIBLE_HOST_KEY_CHECKING', 'ANSIBLE_SSH_HOST_KEY_CHECKING'],
    default: true,
    feeds: '--accept-new-host-keys',
    note: 'False accepts the keys of unknown hosts (StrictHostKeyChecking no); a changed key is still refused',
  },
  {
    name: 'DEFAULT_TIMEOUT',
    type: 'integer',
    ini: [d('defaults', 'timeout'), d('ssh_connection', 'timeout')],
    env: ['ANSIBLE_TIMEOUT', 'ANSIBLE_SSH_TIMEOUT'],
    default: 10,
    feeds: '--connect-timeout',
  },
  { name: 'DEFAULT_FORKS', type: 'integer', ini: [d('defaults', 'forks')], env: ['ANSIBLE_FORKS'], default: 50, feeds: '--forks', note: "Ansible's default is 5" },
  { name: 'DEFAULT_BECOME', type: 'boolean', ini: [d('privilege_escalation', 'become')], env: ['ANSIBLE_BECOME'], default: false, feeds: '--become' },
  {
    name: 'DEFAULT_BECOME_USER',
    type: 'string',
    ini: [d('privilege_escalation', 'become_user')],
    env: ['ANSIBLE_BECOME_USER'],
    default: 'root',
    feeds: '--become-user',
  },
  {
    name: 'DEFAULT_BECOME_METHOD',
    type: 'string',
    ini: [d('privilege_escalation', 'become_method')],
    env: ['ANSIBLE_BECOME_METHOD'],
    default: 'sudo',
    feeds: 'become method',
    note: 'sudo only: any other method is refused by the commands that connect',
  },
  {
    name: 'DEFAULT_BECOME_ASK_PASS',
    type: 'boolean',
    ini: [d('privilege_escalation', 'become_ask_pass')],
    env: ['ANSIBLE_BECOME_ASK_PASS'],
    default: false,
    feeds: '--ask-become-pass',
  },
  { name: 'DEFAULT_ASK_VAULT_PASS', type: 'boolean', ini: [d('defaults', 'ask_vault_pass')], env: ['ANSIBLE_ASK_VAULT_PASS'], default: false, feeds: '--ask-vault-pass' },
  {
    name: 'DEFAULT_VAULT_PASSWORD_FILE',
    type: 'path',
    ini: [d('defaults', 'vault_password_file')],
    env: ['ANSIBLE_VAULT_PASSWORD_FILE'],
    default: undefined,
    feeds: '--vault-password-file',
  },
  {
    name: 'DEFAULT_VAULT_IDENTITY_LIST',
    type: 'list',
    ini: [d('defaults', 'vault_identity_list')],
    env: ['ANSIBLE_VAULT_IDENTITY_LIST'],
    default: [],
    feeds: '--vault-id',
  },
  {
    name: 'DEFAULT_HASH_BEHAVIOUR',
    type: 'string',
    ini: [d('defaults', 'hash_behaviour')],
    env: ['ANSIBLE_HASH_BEHAVIOUR'],
    default: 'replace',
    choices: ['replace', 'merge'],
    feeds: 'variable merging',
  },
  {
    name: 'TRANSFORM_INVALID_GROUP_CHARS',
    type: 'string',
    ini: [d('defaults', 'force_valid_group_names')],
    env: ['ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS'],
    default: 'never',
    choices: ['never', 'always', 'silently', 'ignore'],
    feeds: 'inventory group names',
  },
  {
    name: 'INVENTORY_IGNORE_EXTS',
    type: 'list',
    ini: [d('defaults', 'inventory_ignore_extensions'), d('inventory', 'ignore_extensions')],
    env: ['ANSIBLE_INVENTORY_IGNORE'],
    default: [...IGNORED_EXTENSIONS],
    feeds: 'what a directory inventory source skips',
  },
  {
    name: 'INVENTORY_IGNORE_PATTERNS',
    type: 'list',
    ini: [d('defaults', 'inventory_ignore_patterns'), d('inventory', 'ignore_patterns')],
    env: ['ANSIBLE_INVENTORY_IGNORE_REGEX'],
    default: [],
    feeds: 'what a directory inventory source skips',
  },
  { name: 'ssh_args', type: 'string', ini: [d('ssh_connection', 'ssh_args')], env: ['ANSIBLE_SSH_ARGS'], default: undefined, feeds: 'ssh options' },
  {
    name: 'ssh_common_args',
    type: 'string',
    ini: [d('ssh_connection', 'ssh_common_args')],
    env: ['ANSIBLE_SSH_COMMON_ARGS'],
    default: undefined,
    feeds: 'ssh options',
    note: "a host's own ansible_ssh_common_args/ansible_ssh_extra_args win where they set the same option",
  },
  {
    name: 'ssh_extra_args',
    type: 'string',
    ini: [d('ssh_connection', 'ssh_extra_args')],
    env: ['ANSIBLE_SSH_EXTRA_ARGS'],
    default: undefined,
    feeds: 'ssh options',
    note: "a host's own ansible_ssh_common_args/ansible_ssh_extra_args win where they set the same option",
  },
];

/** ANSIBLE_* variables that are not settings of their own but are read elsewhere (never "unsupported"). */
export const ENV_NOT_SETTINGS: ReadonlySet<string> = new Set(['ANSIBLE_CONFIG']);
