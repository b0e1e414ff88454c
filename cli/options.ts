/** Options shared by every command that talks to hosts, and their translation to agent options. */
import type { Argv } from 'yargs';
import { loadSshConfig } from '../agent/transport/ssh-config.js';
import type { ConnectOptions } from '../agent/transport/target.js';
import { promptHidden } from './prompt.js';

export interface HostArgs {
  inventory: string[];
  limit?: string;
  forks: number;
  user?: string;
  'private-key'?: string;
  'known-hosts'?: string[];
  'accept-new-host-keys': boolean;
  'connect-timeout': number;
  timeout: number;
  become: boolean;
  'become-user'?: string;
  'ask-become-pass': boolean;
  'ssh-config'?: string;
  json: boolean;
}

export function hostOptions<T>(y: Argv<T>): Argv<T & HostArgs> {
  return y
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
