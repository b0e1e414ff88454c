/** Options shared by every command that talks to hosts, and their translation to agent options. */
import type { Argv } from 'yargs';
import { LanesError } from '../agent/errors.js';
import { durationMs } from '../agent/rollout/spec.js';
import { loadSshConfig } from '../agent/transport/ssh-config.js';
import type { ConnectOptions } from '../agent/transport/target.js';
import { promptHidden } from './prompt.js';
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
      default: process.env.LANES_INVENTORY ? [process.env.LANES_INVENTORY] : [],
      defaultDescription: '$LANES_INVENTORY',
      describe: 'inventory file or directory (Ansible YAML or INI); repeatable',
    })
    .option('limit', { alias: 'l', type: 'string', describe: 'narrow the hosts with a pattern: group, host, glob, a:b, a:&b, a:!b' })
    .option('forks', { alias: 'f', type: 'number', default: 50, describe: 'how many hosts at once' })
    .option('user', { alias: 'u', type: 'string', describe: 'remote user when the inventory names none' })
    .option('private-key', { alias: 'key-file', type: 'string', describe: 'private key file to authenticate with' })
    .option('known-hosts', { type: 'string', array: true, describe: 'extra known_hosts file, checked before ~/.ssh/known_hosts' })
    .option('accept-new-host-keys', {
      type: 'boolean',
      default: false,
      describe: 'record the keys of hosts never seen before (like OpenSSH accept-new); changed keys are always refused',
    })
    .option('strict-host-keys', {
      type: 'boolean',
      default: process.env.LANES_STRICT_HOST_KEYS === '1',
      defaultDescription: '$LANES_STRICT_HOST_KEYS=1',
      describe: 'refuse to run when a host key would be accepted unchecked (StrictHostKeyChecking no/accept-new with no known_hosts entry)',
    })
    .option('connect-timeout', { type: 'number', default: 10, describe: 'seconds to wait for the SSH handshake' })
    .option('timeout', { type: 'number', default: 120, describe: 'seconds a remote command may run' })
    .option('become', { alias: 'b', type: 'boolean', default: false, describe: 'run commands with sudo' })
    .option('become-user', { type: 'string', describe: 'user to become (default root)' })
    .option('ask-become-pass', {
      alias: 'K',
      type: 'boolean',
      default: false,
      describe: 'ask once for the sudo password ($LANES_BECOME_PASSWORD is used when set)',
    })
    .option('ssh-config', { type: 'string', describe: 'OpenSSH client config to read (default ~/.ssh/config)' })
    .option('json', { type: 'boolean', default: false, describe: 'print events as JSON lines' }) as unknown as Argv<T & HostArgs>;
}

export async function connectOptions(args: HostArgs): Promise<ConnectOptions> {
  let becomePassword = process.env.LANES_BECOME_PASSWORD || undefined;
  if (args['ask-become-pass'] && becomePassword === undefined) becomePassword = await promptHidden('BECOME password: ');
  return {
    user: args.user,
    privateKey: args['private-key'],
    knownHostsFiles: args['known-hosts'],
    acceptNewHostKeys: args['accept-new-host-keys'],
    strictHostKeys: args['strict-host-keys'] || process.env.LANES_STRICT_HOST_KEYS === '1',
    connectTimeoutMs: seconds(args['connect-timeout']),
    become: args.become || undefined,
    becomeUser: args['become-user'],
    becomePassword,
    sshConfig: await loadSshConfig(args['ssh-config']),
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
