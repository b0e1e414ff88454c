/**
 * group_vars/ and host_vars/ next to an inventory source, found the way Ansible's host_group_vars
 * plugin finds them: for a name, the first of `name`, `name.yml`, `name.yaml`, `name.json` that
 * exists; if that is a directory, every file in it (recursively, lexical order, skipping hidden
 * and backup files), merged in that order.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { isMap } from 'yaml';
import { LanesError } from '../errors.js';
import { byCodePoint, mergeVars, type Vars } from './vars.js';
import { describeNode, isNullNode, parseYaml } from './yaml-source.js';
import { pyJsonLoads } from '../values/json-loads.js';
import { isVaultText, parseDecrypted, registerSecretLeaves, vault } from '../vault/index.js';

const VARS_EXTENSIONS = ['.yml', '.yaml', '.json'];


/** Variables found for each name in one group_vars/ or host_vars/ directory. */
export type VarsByName = Map<string, Vars>;

/** Parsed vars files, shared across lookups so that a file used twice is read once. */
export type VarsFileCache = Map<string, Vars | null>;

export async function loadVarsDir(dir: string, names: Iterable<string>, cache: VarsFileCache): Promise<VarsByName> {
  const out: VarsByName = new Map();
  const entries = await listDir(dir);
  if (!entries) return out;
  for (const name of names) {
    // Ansible skips names that are absolute paths (chroot-style host names).
    if (name.startsWith('/')) continue;
    const files = await findVarsFiles(dir, name, entries);
    let vars: Vars | undefined;
    for (const f of files) {
      const v = await loadVarsFile(f, cache);
      if (v) {
        vars ??= {};
        mergeVars(vars, v);
      }
    }
    if (vars) out.set(name, vars);
  }
  return out;
}

async function findVarsFiles(dir: string, name: string, entries: Set<string>): Promise<string[]> {
  // The bare name first, so that a directory `web/` wins over `web.yml` as in Ansible.
  for (const ext of ['', ...VARS_EXTENSIONS]) {
    const candidate = name + ext;
    if (!name.includes('/') && !entries.has(candidate)) continue;
    const full = join(dir, candidate);
    const st = await stat(full).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : unreadable(full, e)));
    if (!st) continue;
    return st.isDirectory() ? dirVarsFiles(full) : [full];
  }
  return [];
}

/**
 * Every vars file below `dir`. Symbolic links are followed, as Ansible does, but a directory is
 * never entered twice: a link back to an ancestor (a loop) is an error naming it, not a hang.
 */
async function dirVarsFiles(dir: string, seen: Set<string> = new Set()): Promise<string[]> {
  const real = await realpath(dir).catch((e: NodeJS.ErrnoException) => unreadable(dir, e));
  if (seen.has(real)) {
    throw new LanesError(`vars directory ${dir} is a symbolic link loop (it leads back to ${real})`, { location: { file: dir }, hint: 'remove or fix the link' });
  }
  seen.add(real);
  const found: string[] = [];
  const names = [...((await listDir(dir)) ?? [])].sort(byCodePoint);
  for (const n of names) {
    if (n.startsWith('.') || n.endsWith('~')) continue; // hidden and editor backup files
    const full = join(dir, n);
    const ext = extname(n);
    const st = await stat(full).catch((e: NodeJS.ErrnoException) => unreadable(full, e));
    if (st.isDirectory() && ext === '') found.push(...(await dirVarsFiles(full, new Set(seen))));
    else if (st.isFile() && (ext === '' || VARS_EXTENSIONS.includes(ext))) found.push(full);
  }
  return found;
}

/** A vars path that exists but cannot be read: one located sentence (a link loop, no permission…). */
function unreadable(file: string, e: NodeJS.ErrnoException): never {
  const why = e.code === 'ELOOP' ? 'a symbolic link loop' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'a directory' : (e.code ?? e.message);
  throw new LanesError(`cannot read ${file}: ${why}`, { location: { file }, hint: 'fix or remove it' });
}

/** One vars file: a mapping of variable names, or null when empty. */
export async function loadVarsFile(file: string, cache: VarsFileCache): Promise<Vars | null> {
  const cached = cache.get(file);
  if (cached !== undefined) return cached;
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => unreadable(file, e));
  const vars = parseVarsText(text, file);
  cache.set(file, vars);
  return vars;
}

/**
 * A vars file's text (group_vars/host_vars, vars_files, -e @file). A vault-encrypted file is
 * decrypted first, and every string value in it becomes a secret for the masker.
 */
export function parseVarsText(text: string, file: string): Vars | null {
  if (isVaultText(text)) {
    const plain = vault.decrypt(text, file);
    const vars = parseDecrypted(file, () => parsePlainVarsText(plain, file));
    registerSecretLeaves(vars);
    return vars;
  }
  return parsePlainVarsText(text, file);
}

function parsePlainVarsText(text: string, file: string): Vars | null {
  let src;
  try {
    src = parseYaml(text, file);
  } catch (e) {
    // Ansible reads .json with a JSON parser first; accept JSON that YAML 1.1 would not.
    if (extname(file) === '.json') {
      const json = tryJson(text);
      if (json !== undefined) return json;
    }
    throw e;
  }
  const root = src.deref(src.doc.contents);
  if (isNullNode(root)) return null;
  if (!isMap(root)) {
    throw new LanesError(`a vars file must be a mapping of variable names to values, got ${describeNode(root)}`, {
      location: src.loc(root),
      hint: 'e.g. "http_port: 8080"',
    });
  }
  return src.value(root) as Vars;
}

function tryJson(text: string): Vars | undefined {
  try {
    // Python's json.loads: 8.0 stays a float, big integers exact.
    const v: unknown = pyJsonLoads(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Vars) : undefined;
  } catch {
    return undefined;
  }
}

async function listDir(dir: string): Promise<Set<string> | undefined> {
  try {
    return new Set(await readdir(dir));
  } catch {
    return undefined; // no such directory (or not a directory): nothing to load
  }
}
