/**
 * Options shared by every command that talks to hosts, and their translation to agent options.
 * Defaults come from Ansible's settings where one applies (ansible.cfg, ANSIBLE_*: see
 * cli/settings.ts), so the precedence is command line > environment > ansible.cfg > lanes' default.
 *
 * Import-light: every command's builder uses these, and `lanes --help` / `--version` must not load
 * the engine (ssh2, zod, nunjucks…). Engine code is imported inside the async functions that need it.
 */
import type { Argv } from 'yargs';
import { checkBecomeMethod, inventoryOptionsOf, sshArgsOf } from '../agent/config/index.js';
import { LanesError } from '../agent/errors.js';
import type { InventoryOptions } from '../agent/inventory/index.js';
import { DEFAULT_CONNECT_RATE, DEFAULT_CONNECT_RETRIES } from '../agent/transport/connect-defaults.js';
import { durationMs } from '../agent/rollout/duration.js';
import type { SshConfigLookup, SshConfigResult } from '../agent/transport/ssh-config.js';
import type { ConnectOptions } from '../agent/transport/target.js';
import { promptHidden } from './prompt.js';
import { settingDefault, settings } from './settings.js';
import { vaultOptions, type VaultArgs } from './vault-options.js';

export interface HostArgs extends VaultArgs {
  inventory: string[];
  limit?: string;
  forks: number;
  user?: string;
  'private-key'?: string;
  'known-hosts'?: string[];
  'accept-new-host-keys': boolean;
  'strict-host-keys': boolean;
  'connect-timeout': number;
  'connect-rate'?: number;
  timeout: number;
  become: boolean;
  'become-user'?: string;
  'ask-become-pass': boolean;
  'ssh-config'?: string;
  json: boolean;
}

export function hostOptions<T>(y: Argv<T>): Argv<T & HostArgs> {
  return vaultOptions(y)
    .option('inventory', {
      alias: 'i',
      type: 'string',
      array: true,
      ...inventoryDefault(),
      describe: 'inventory file or directory (Ansible YAML or INI); repeatable',
    })
    .option('limit', { alias: 'l', type: 'string', describe: 'narrow the hosts with a pattern: group, host, glob, a:b, a:&b, a:!b' })
    .option('forks', { alias: 'f', type: 'number', ...settingDefault('DEFAULT_FORKS', 50), describe: 'how many hosts at once' })
    .option('user', { alias: 'u', type: 'string', ...settingDefault<string>('DEFAULT_REMOTE_USER'), describe: 'remote user when the inventory names none' })
    .option('private-key', { alias: 'key-file', type: 'string', ...settingDefault<string>('DEFAULT_PRIVATE_KEY_FILE'), describe: 'private key file to authenticate with' })
    .option('known-hosts', { type: 'string', array: true, describe: 'extra known_hosts file, checked before ~/.ssh/known_hosts' })
    .option('accept-new-host-keys', {
      type: 'boolean',
      ...acceptNewDefault(),
      describe: 'record the keys of hosts never seen before (like OpenSSH accept-new); changed keys are always refused',
    })
    .option('strict-host-keys', {
      type: 'boolean',
      default: process.env.LANES_STRICT_HOST_KEYS === '1',
      defaultDescription: '$LANES_STRICT_HOST_KEYS=1',
      describe: 'refuse to run when a host key would be accepted unchecked (StrictHostKeyChecking no/accept-new with no known_hosts entry)',
    })
    .option('connect-timeout', { type: 'number', ...settingDefault('DEFAULT_TIMEOUT', 10), describe: 'seconds to wait for the SSH handshake' })
    .option('connect-rate', {
      type: 'number',
      ...connectRateDefault(),
      describe: 'SSH connection starts in flight per jump host (sshd drops starts past MaxStartups, 10 by default); given, also for all direct connections together; 0: no limit',
    })
    .option('timeout', { type: 'number', default: 120, describe: 'seconds a remote command may run' })
    .option('become', { alias: 'b', type: 'boolean', ...settingDefault('DEFAULT_BECOME', false), describe: 'run commands with sudo' })
    .option('become-user', { type: 'string', ...settingDefault<string>('DEFAULT_BECOME_USER'), describe: 'user to become (default root)' })
    .option('ask-become-pass', {
      alias: 'K',
      type: 'boolean',
      ...settingDefault('DEFAULT_BECOME_ASK_PASS', false),
      describe: 'ask once for the sudo password ($LANES_BECOME_PASSWORD is used when set)',
    })
    .option('ssh-config', { type: 'string', ...sshConfigDefault(), describe: 'OpenSSH client config to read (default ~/.ssh/config)' })
    .option('json', { type: 'boolean', default: false, describe: 'print events as JSON lines' }) as unknown as Argv<T & HostArgs>;
}

export async function connectOptions(args: HostArgs): Promise<ConnectOptions> {
  checkBecomeMethod(settings());
  const { loadSshConfig, parseSshArgs } = await import('../agent/transport/ssh-config.js');
  let becomePassword = process.env.LANES_BECOME_PASSWORD || undefined;
  if (args['ask-become-pass'] && becomePassword === undefined) becomePassword = await promptHidden('BECOME password: ');
  return {
    user: args.user,
    privateKey: args['private-key'],
    knownHostsFiles: args['known-hosts'],
    acceptNewHostKeys: args['accept-new-host-keys'],
    strictHostKeys: args['strict-host-keys'] || process.env.LANES_STRICT_HOST_KEYS === '1',
    connectTimeoutMs: seconds(args['connect-timeout']),
    connectRate: args['connect-rate'],
    connectRetries: wholeEnv('LANES_CONNECT_RETRIES') ?? DEFAULT_CONNECT_RETRIES,
    become: args.become || undefined,
    becomeUser: args['become-user'],
    becomePassword,
    sshConfig: withSettingsSshArgs(await loadSshConfig(args['ssh-config']), parseSshArgs),
  };
}

/** How ansible.cfg / ANSIBLE_* shape the inventory: hash_behaviour, force_valid_group_names. */
export function inventoryOptions(): InventoryOptions {
  return inventoryOptionsOf(settings());
}

/** -i: $LANES_INVENTORY (lanes' own, the more specific), else ANSIBLE_INVENTORY / ansible.cfg inventory. */
export function inventoryDefault(): { default: string[]; defaultDescription?: string } {
  if (process.env.LANES_INVENTORY) return { default: [process.env.LANES_INVENTORY], defaultDescription: `${process.env.LANES_INVENTORY} ($LANES_INVENTORY)` };
  const fromSettings = settingDefault<string[]>('DEFAULT_HOST_LIST');
  return fromSettings.defaultDescription !== undefined ? { default: fromSettings.default ?? [], defaultDescription: fromSettings.defaultDescription } : { default: [], defaultDescription: '$LANES_INVENTORY' };
}

/**
 * --connect-rate: $LANES_CONNECT_RATE, else none given: the engine then paces 8 per jump host (below
 * sshd's default MaxStartups of 10) and leaves direct connections to --forks.
 */
function connectRateDefault(): { default?: number; defaultDescription: string } {
  const env = wholeEnv('LANES_CONNECT_RATE');
  return env === undefined ? { defaultDescription: `${DEFAULT_CONNECT_RATE} per jump host; direct connections: --forks` } : { default: env, defaultDescription: `${env} ($LANES_CONNECT_RATE)` };
}

/** A whole number from the environment (unset or empty: undefined); anything else is refused. */
function wholeEnv(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new LanesError(`$${name} must be a whole number of at least 0, got ${JSON.stringify(v)}`);
  return n;
}

/** host_key_checking = False accepts unknown hosts' keys, as `StrictHostKeyChecking no` does (a changed key is still refused). */
function acceptNewDefault(): { default: boolean; defaultDescription?: string } {
  const d = settingDefault<boolean>('HOST_KEY_CHECKING');
  if (d.defaultDescription === undefined || d.default !== false) return { default: false };
  return { default: true, defaultDescription: d.defaultDescription.replace(/^false \(HOST_KEY_CHECKING /, 'true (HOST_KEY_CHECKING=False ') };
}

/** --ssh-config: the `-F FILE` of ssh_args / ssh_common_args / ssh_extra_args, if any. */
function sshConfigDefault(): { default?: string; defaultDescription?: string } {
  const a = sshArgsOf(settings());
  return a.configFile !== undefined ? { default: a.configFile, defaultDescription: `${a.configFile} (-F in ${a.where})` } : {};
}

/**
 * ssh_args / ssh_common_args / ssh_extra_args (the options lanes understands of them) apply to every
 * host like command-line ssh options: over the ssh config file, under the host's own
 * ansible_ssh_common_args / ansible_ssh_extra_args and inventory connection variables.
 */
function withSettingsSshArgs(lookup: SshConfigLookup, parseSshArgs: typeof import('../agent/transport/ssh-config.js').parseSshArgs): SshConfigLookup {
  const a = sshArgsOf(settings());
  if (a.args === '') return lookup;
  const fromSettings = parseSshArgs(a.args, a.where);
  return {
    resolve: (host: string, overrides?: Partial<SshConfigResult>) =>
      lookup.resolve(host, {
        ...fromSettings,
        ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined)),
        identityFiles: [...(overrides?.identityFiles ?? []), ...(fromSettings.identityFiles ?? [])],
        ...(overrides?.userKnownHostsFiles?.length ? {} : fromSettings.userKnownHostsFiles ? { userKnownHostsFiles: fromSettings.userKnownHostsFiles } : {}),
      }),
  };
}

function seconds(n: number): number {
  return Math.round(n * 1000);
}

export function timeoutMs(args: HostArgs): number {
  return seconds(args.timeout);
}

export interface LeaseArgs {
  'lock-wait'?: string;
  'lock-ttl'?: string;
  'break-lock': boolean;
}

/** The host lease options of every command that changes hosts (apply, release, rollback, drain, undrain). */
export function leaseOptions<T>(y: Argv<T>): Argv<T & LeaseArgs> {
  return y
    .option('lock-wait', { type: 'string', describe: 'wait this long (90s, 5m) for another run holding a host, instead of refusing at once' })
    .option('lock-ttl', { type: 'string', describe: "how long a host's lease outlives this process if it dies (default 2m, or release.lock_ttl); renewed every third of it" })
    .option('break-lock', { type: 'boolean', default: false, describe: "remove any host's lease first (names who held it); only when that run is gone" }) as unknown as Argv<T & LeaseArgs>;
}

/** --lock-wait / --lock-ttl / --break-lock → engine options (ms). */
export function leaseSettings(args: LeaseArgs): { lockWaitMs?: number; lockTtlMs?: number; breakLock: boolean } {
  const ms = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    try {
      return durationMs(v.trim());
    } catch {
      throw new LanesError(`--${flag} ${JSON.stringify(v)} is not a duration`, { hint: 'e.g. 90s, 5m, 1h' });
    }
  };
  const lockTtlMs = ms('lock-ttl', args['lock-ttl']);
  if (lockTtlMs !== undefined && lockTtlMs < 3000) throw new LanesError(`--lock-ttl must be at least 3s, got ${args['lock-ttl']}`, { hint: 'e.g. 2m' });
  return { lockWaitMs: ms('lock-wait', args['lock-wait']), lockTtlMs, breakLock: args['break-lock'] };
}
