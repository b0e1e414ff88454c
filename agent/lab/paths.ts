/**
 * Where the lab keeps things. The base image is a cache (rebuildable, shared by every lab); each lab's
 * hosts, key pair and generated files are state. Neither lives in the repository.
 */
import os from 'node:os';
import path from 'node:path';
import { LanesError } from '../errors.js';

export const DEFAULT_LAB_NAME = 'lanes';
/** Hosts `lanes lab up` boots when not told (here, not in index.ts: the CLI's --help shows it without loading the lab). */
export const DEFAULT_HOSTS = 3;
/** Hosts are lab1 … labN; N is capped by the last octet of their loopback address. */
export const MAX_HOSTS = 254;

const LAB_NAME = /^[a-z][a-z0-9-]{0,23}$/;

export function validateLabName(name: string): string {
  if (!LAB_NAME.test(name)) {
    throw new LanesError(`invalid lab name ${JSON.stringify(name)}`, {
      kind: 'input',
      hint: 'use 1–24 characters: a lowercase letter, then lowercase letters, digits or "-"',
    });
  }
  return name;
}

function absoluteOrUndefined(value: string | undefined): string | undefined {
  return value && path.isAbsolute(value) ? value : undefined;
}

/** `$LANES_CACHE_DIR`, else `$XDG_CACHE_HOME/lanes`, else `~/.cache/lanes`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  if (env.LANES_CACHE_DIR) return path.resolve(env.LANES_CACHE_DIR);
  const xdg = absoluteOrUndefined(env.XDG_CACHE_HOME);
  return xdg ? path.join(xdg, 'lanes') : path.join(home, '.cache', 'lanes');
}

/** `$LANES_STATE_DIR`, else `$XDG_STATE_HOME/lanes`, else `~/.local/state/lanes`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env, home = os.homedir()): string {
  if (env.LANES_STATE_DIR) return path.resolve(env.LANES_STATE_DIR);
  const xdg = absoluteOrUndefined(env.XDG_STATE_HOME);
  return xdg ? path.join(xdg, 'lanes') : path.join(home, '.local', 'state', 'lanes');
}

export interface LabPathOptions {
  name?: string;
  stateDir?: string;
  cacheDir?: string;
}

export interface LabPaths {
  /** The lab's name. */
  name: string;
  /** The lanes state directory (all labs live under `<stateDir>/lab/`). */
  stateDir: string;
  /** The lanes cache directory (base images live under `<cacheDir>/lab/images/`). */
  cacheDir: string;
  /** `<stateDir>/lab` — every lab's directory. */
  labsDir: string;
  /** `<stateDir>/lab/<name>` — this lab. */
  labDir: string;
  /** JSON record of the lab: its address block and its hosts with their pids. */
  stateFile: string;
  /** Serialises `up`/`down` of this lab. */
  lockFile: string;
  /** The lab's SSH private key (ed25519, mode 0600); `lanes` on every host accepts it. */
  keyFile: string;
  publicKeyFile: string;
  /** OpenSSH known_hosts with every host's host keys. */
  knownHostsFile: string;
  /** Ansible YAML inventory of the lab, rewritten on every `up`. */
  inventoryFile: string;
  /** `<labDir>/hosts/<host>/{upper,work,merged,console.log}`. */
  hostsDir: string;
  /** `<cacheDir>/lab/images`. */
  imagesDir: string;
}

export function resolveLabPaths(opts: LabPathOptions = {}): LabPaths {
  const name = validateLabName(opts.name ?? DEFAULT_LAB_NAME);
  const stateDir = path.resolve(opts.stateDir ?? defaultStateDir());
  const cacheDir = path.resolve(opts.cacheDir ?? defaultCacheDir());
  const labsDir = path.join(stateDir, 'lab');
  const labDir = path.join(labsDir, name);
  return {
    name,
    stateDir,
    cacheDir,
    labsDir,
    labDir,
    stateFile: path.join(labDir, 'state.json'),
    lockFile: path.join(labDir, '.lock'),
    keyFile: path.join(labDir, 'id_ed25519'),
    publicKeyFile: path.join(labDir, 'id_ed25519.pub'),
    knownHostsFile: path.join(labDir, 'known_hosts'),
    inventoryFile: path.join(labDir, 'inventory.yml'),
    hostsDir: path.join(labDir, 'hosts'),
    imagesDir: path.join(cacheDir, 'lab', 'images'),
  };
}

export interface HostPaths {
  dir: string;
  upper: string;
  work: string;
  merged: string;
  consoleLog: string;
}

export function hostPaths(paths: LabPaths, host: string): HostPaths {
  const dir = path.join(paths.hostsDir, host);
  return {
    dir,
    upper: path.join(dir, 'upper'),
    work: path.join(dir, 'work'),
    merged: path.join(dir, 'merged'),
    consoleLog: path.join(dir, 'console.log'),
  };
}

export function hostName(index: number): string {
  return `lab${index}`;
}

/** The nspawn machine name: unique across labs, so two labs can run side by side. */
export function machineName(lab: string, host: string): string {
  return `${lab}-${host}`;
}
