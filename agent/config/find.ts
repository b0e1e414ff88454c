/**
 * Which ansible.cfg is read: the first that exists and is readable of
 *   1. $ANSIBLE_CONFIG (a file, or a directory holding ansible.cfg; relative to the working directory)
 *   2. ./ansible.cfg — skipped when the working directory is world-writable (anyone could plant one
 *      there), with Ansible's warning unless ANSIBLE_CONFIG named the file that was used
 *   3. ~/.ansible.cfg
 *   4. /etc/ansible/ansible.cfg
 * Only one file is read; settings are never merged across files (as Ansible).
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, normalize } from 'node:path';

export interface FindConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** Default /etc/ansible/ansible.cfg (injectable for tests). */
  systemFile?: string;
}

export interface FoundConfig {
  /** Absolute path of the file used, or undefined when none exists. */
  file?: string;
  warnings: string[];
}

export function findConfigFile(o: FindConfigOptions = {}): FoundConfig {
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const home = o.home ?? env.HOME ?? homedir();
  const candidates: string[] = [];
  let fromEnv: string | undefined;
  if (env.ANSIBLE_CONFIG !== undefined) {
    fromEnv = expandPath(env.ANSIBLE_CONFIG, cwd, home, env);
    if (isDirectory(fromEnv)) fromEnv = join(fromEnv, 'ansible.cfg');
    candidates.push(fromEnv);
  }
  let skippedCwd = false;
  const cwdFile = join(cwd, 'ansible.cfg');
  try {
    // S_IWOTH: the directory is writable by anyone.
    if ((statSync(cwd).mode & 0o002) !== 0) skippedCwd = existsSync(cwdFile);
    else candidates.push(cwdFile);
  } catch {
    // An unreadable working directory is simply not a source.
  }
  candidates.push(join(home, '.ansible.cfg'));
  candidates.push(o.systemFile ?? '/etc/ansible/ansible.cfg');

  const file = candidates.find(readable);
  const warnings: string[] = [];
  if (skippedCwd && (fromEnv === undefined || file !== fromEnv)) {
    warnings.push(
      `Ansible is being run in a world writable directory (${cwd}), ignoring it as an ansible.cfg source. ` +
        'For more information see https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir',
    );
  }
  return { file, warnings };
}

/** `$VAR`/`${VAR}` and `~` expanded, made absolute against `base`, normalised (Ansible's path type). */
export function expandPath(p: string, base: string, home: string, env: NodeJS.ProcessEnv): string {
  // Python's expandvars leaves unknown variables as written.
  let out = p.replace(/\$(\w+|\{[^}]*\})/g, (whole, name: string) => {
    const v = env[name.startsWith('{') ? name.slice(1, -1) : name];
    return v === undefined ? whole : v;
  });
  if (out === '~') out = home;
  else if (out.startsWith('~/')) out = join(home, out.slice(2));
  if (!isAbsolute(out)) out = join(base, out);
  return normalize(out).replace(/(.)\/$/, '$1');
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readable(p: string): boolean {
  try {
    accessSync(p, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
