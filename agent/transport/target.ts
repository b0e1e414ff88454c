/**
 * Everything needed to reach one host, resolved once before connecting: address, user, keys, known
 * hosts, jump hosts and privilege escalation. Sources, lowest precedence first (as Ansible + OpenSSH):
 * `~/.ssh/config` for the address < the command line < the inventory's connection variables
 * (`ansible_host`, `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`,
 * `ansible_ssh_common_args`/`ansible_ssh_extra_args`, `ansible_become*`), already templated by the
 * caller (agent/run/connection-vars.ts); a template left in one is refused.
 */
import os from 'node:os';
import path from 'node:path';
import { LanesError } from '../errors.js';
import { expandProxyCommand, parseJumpSpec, parseSshArgs, type SshConfigLookup, type SshConfigResult } from './ssh-config.js';

export interface BecomeSpec {
  user: string;
  /** Given once (inventory, --ask-become-pass or LANES_BECOME_PASSWORD); otherwise sudo must not ask. */
  password?: string;
}

export interface HostTarget {
  /** Inventory name, used in every message. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Private key files to offer, in order. `explicitKey` when the user named one. */
  identityFiles: string[];
  explicitKey: boolean;
  /** ssh-agent socket, unless IdentitiesOnly with an explicit key. */
  agentSocket?: string;
  /** known_hosts files checked, in order. */
  knownHostsFiles: string[];
  /**
   * Where a newly accepted key is recorded (the --known-hosts file, else the first
   * UserKnownHostsFile); undefined with `UserKnownHostsFile none` or `/dev/null`, where an accepted
   * key is forgotten and so the next run accepts whatever key it sees again.
   */
  recordKnownHostsFile?: string;
  acceptNewHostKeys: boolean;
  /** Jump hosts to pass through, outermost first (ProxyJump). */
  jumps: HostTarget[];
  /**
   * ProxyCommand with its %-tokens expanded, run through the shell as the transport (ssh's
   * ProxyCommand); undefined for a direct connection. Excludes `jumps` (the first of the two wins).
   */
  proxyCommand?: string;
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  become?: BecomeSpec;
}

export interface ConnectOptions {
  user?: string;
  privateKey?: string;
  /** Extra known_hosts files (checked before the user's own). */
  knownHostsFiles?: string[];
  acceptNewHostKeys?: boolean;
  /** Refuse to run when some host's key would be accepted unchecked (--strict-host-keys). */
  strictHostKeys?: boolean;
  connectTimeoutMs?: number;
  /** Connection starts in flight per jump host, and for all direct connections (--connect-rate; 0: no limit). */
  connectRate?: number;
  /** Retries of a start reset before authentication (LANES_CONNECT_RETRIES). */
  connectRetries?: number;
  become?: boolean;
  becomeUser?: string;
  becomePassword?: string;
  sshConfig?: SshConfigLookup;
  /** Defaults to process.env; injectable for tests. */
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

export function resolveTarget(name: string, vars: Record<string, unknown>, opts: ConnectOptions = {}): HostTarget {
  const env = opts.env ?? process.env;
  const home = env.HOME ?? os.homedir();
  const address = str(vars, 'ansible_host', name) ?? str(vars, 'ansible_ssh_host', name) ?? name;
  const cfg = opts.sshConfig?.resolve(address) ?? { identityFiles: [], userKnownHostsFiles: [] };
  const extra = mergeArgs(
    parseSshArgs(str(vars, 'ansible_ssh_common_args', name) ?? '', `${name}: ansible_ssh_common_args`),
    parseSshArgs(str(vars, 'ansible_ssh_extra_args', name) ?? '', `${name}: ansible_ssh_extra_args`),
  );

  const user =
    str(vars, 'ansible_user', name) ?? str(vars, 'ansible_ssh_user', name) ?? extra.user ?? opts.user ?? cfg.user ?? os.userInfo().username;
  const port = int(vars, 'ansible_port', name) ?? int(vars, 'ansible_ssh_port', name) ?? extra.port ?? cfg.port ?? 22;
  const varKey = str(vars, 'ansible_ssh_private_key_file', name) ?? str(vars, 'ansible_private_key_file', name);
  const explicit = [varKey, ...(extra.identityFiles ?? []), opts.privateKey].filter((k): k is string => !!k);
  const identityFiles = explicit.length > 0 ? explicit.map((k) => expandHome(k, home)) : cfg.identityFiles.length > 0 ? cfg.identityFiles : DEFAULT_KEYS.map((k) => path.join(home, '.ssh', k));
  const identitiesOnly = extra.identitiesOnly ?? cfg.identitiesOnly ?? false;

  // As OpenSSH: the first UserKnownHostsFile setting wins (command-line arguments before the
  // config file) and replaces the default ~/.ssh/known_hosts; `none` and /dev/null mean no file
  // (nothing is checked against it and an accepted key is not kept). The global file stays.
  const userFilesSetting = extra.userKnownHostsFiles?.length ? extra.userKnownHostsFiles : cfg.userKnownHostsFiles.length ? cfg.userKnownHostsFiles : [path.join(home, '.ssh', 'known_hosts')];
  const userFiles = userFilesSetting.filter((f) => !isNoFile(f)).map((f) => expandHome(f, home));
  const extraFiles = (opts.knownHostsFiles ?? []).map((f) => expandHome(f, home));
  const knownHostsFiles = unique([...extraFiles, ...userFiles, '/etc/ssh/ssh_known_hosts']);
  const recordKnownHostsFile = extraFiles[0] ?? userFiles[0];
  const strict = extra.strictHostKeyChecking ?? cfg.strictHostKeyChecking;
  // StrictHostKeyChecking=no is treated as accept-new: lanes never connects to a host whose key changed.
  const acceptNewHostKeys = opts.acceptNewHostKeys === true || strict === 'accept-new' || strict === 'no' || strict === 'off';

  const connectTimeoutMs =
    opts.connectTimeoutMs ?? (int(vars, 'ansible_timeout', name) ?? (extra.connectTimeout ?? cfg.connectTimeout ?? 10)) * 1000;
  // ProxyJump and ProxyCommand exclude each other; the command line's choice beats the file's.
  const proxySource = extra.proxyJump !== undefined || extra.proxyCommand !== undefined ? extra : cfg;
  const jumpSpec = proxySource.proxyJump;
  const proxyCommandSpec = proxySource.proxyCommand;
  const jumps =
    jumpSpec && jumpSpec !== 'none'
      ? parseJumpSpec(jumpSpec).map((j) =>
          resolveTarget(j.host, { ...(j.user ? { ansible_user: j.user } : {}), ...(j.port ? { ansible_port: j.port } : {}) }, {
            ...opts,
            // A jump host never escalates and is never itself jumped to through the same chain.
            become: false,
            becomePassword: undefined,
            privateKey: undefined,
            sshConfig: opts.sshConfig ? withoutProxyJump(opts.sshConfig) : undefined,
          }),
        )
      : [];

  const becomeWanted = bool(vars, 'ansible_become', name) ?? opts.become ?? false;
  const become: BecomeSpec | undefined = becomeWanted
    ? {
        user: str(vars, 'ansible_become_user', name) ?? opts.becomeUser ?? 'root',
        password: str(vars, 'ansible_become_password', name) ?? str(vars, 'ansible_become_pass', name) ?? opts.becomePassword,
      }
    : undefined;
  const method = str(vars, 'ansible_become_method', name);
  if (becomeWanted && method && method !== 'sudo') {
    throw new LanesError(`ansible_become_method "${method}" is not supported`, { host: name, hint: 'lanes escalates with sudo only' });
  }

  const resolvedAddress = cfg.hostName ?? address;
  const proxyCommand =
    proxyCommandSpec && proxyCommandSpec.trim().toLowerCase() !== 'none'
      ? expandProxyCommand(proxyCommandSpec, { h: resolvedAddress, n: address, p: String(port), r: user }, name)
      : undefined;

  return {
    name,
    address: resolvedAddress,
    port,
    user,
    identityFiles,
    explicitKey: explicit.length > 0,
    agentSocket: identitiesOnly && explicit.length > 0 ? undefined : env.SSH_AUTH_SOCK || undefined,
    knownHostsFiles,
    ...(recordKnownHostsFile !== undefined ? { recordKnownHostsFile } : {}),
    acceptNewHostKeys,
    jumps,
    ...(proxyCommand !== undefined ? { proxyCommand } : {}),
    connectTimeoutMs,
    keepaliveIntervalMs: (cfg.serverAliveInterval ?? 15) * 1000,
    become,
  };
}

function withoutProxyJump(lookup: SshConfigLookup): SshConfigLookup {
  return { resolve: (h: string) => ({ ...lookup.resolve(h), proxyJump: undefined }) };
}

function mergeArgs(a: Partial<SshConfigResult>, b: Partial<SshConfigResult>): Partial<SshConfigResult> {
  return {
    ...a,
    ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)),
    identityFiles: [...(a.identityFiles ?? []), ...(b.identityFiles ?? [])],
    userKnownHostsFiles: [...(a.userKnownHostsFiles ?? []), ...(b.userKnownHostsFiles ?? [])],
  };
}

/** `UserKnownHostsFile none` / `/dev/null`: no file at all (ssh neither finds nor keeps a key there). */
function isNoFile(f: string): boolean {
  return f.toLowerCase() === 'none' || f === '/dev/null';
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function str(vars: Record<string, unknown>, key: string, host: string): string | undefined {
  const v = vars[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') {
    // Connection variables are rendered before this (agent/run/connection-vars.ts). A template
    // here was not: it must never become an address, a user, or a password sudo is sent.
    if (/\{\{|\{%/.test(v)) {
      throw new LanesError(`${key} is a template that was not rendered`, { host, hint: 'connection variables are rendered with the host\'s inventory variables and -e before connecting' });
    }
    return v;
  }
  if (typeof v === 'number') return String(v);
  throw new LanesError(`${key} must be a string, got ${typeof v}`, { host });
}

function int(vars: Record<string, unknown>, key: string, host: string): number | undefined {
  const v = vars[key];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) {
    throw new LanesError(`${key} must be a whole number, got ${JSON.stringify(v)}`, { host, hint: 'for example 22' });
  }
  return n;
}

function bool(vars: Record<string, unknown>, key: string, host: string): boolean | undefined {
  const v = vars[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['true', 'yes', 'y', '1', 'on'].includes(s)) return true;
  if (['false', 'no', 'n', '0', 'off'].includes(s)) return false;
  throw new LanesError(`${key} must be true or false, got ${JSON.stringify(v)}`, { host });
}
