/**
 * Loading inventories from -i paths, as Ansible does: each path is a file (read by the first parser
 * of Ansible's chain that accepts it: inventory script, plugin config, YAML, INI; see chain.ts), a
 * directory of such files, or (when no such path exists and it contains a comma) a host list like
 * `web1,web2:2222`. All paths merge into one inventory; group_vars/ and host_vars/ are read from
 * the directory of each file source, or from inside each directory source.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { LanesError } from '../errors.js';
import { parseAddress } from './address.js';
import { parseFileChain, parseTextOnly, type ChainContext } from './chain.js';
import { InventoryData } from './data.js';
import { type InventoryFormat } from './detect.js';
import { parseIniInventory } from './ini-format.js';
import type { Inventory } from './model.js';
import { resolveInventory, type SourceVars } from './resolve.js';
import { isVaultText, parseDecrypted, registerSecretLeaves, vault } from '../vault/index.js';
import { IGNORED_EXTENSIONS, type InventoryOptions } from './options.js';
import { loadVarsDir, type VarsFileCache } from './vars-files.js';
import { byCodePoint } from './vars.js';
import { parseYamlInventory } from './yaml-format.js';

/**
 * Entries of an inventory directory that are not inventories. This is Ansible's default list
 * (INVENTORY_IGNORE_EXTS and the names it always skips); note that it includes `.ini`, so an
 * INI file inside a directory source is skipped, exactly as `ansible -i dir/` skips it.
 */

/** Names Ansible always skips in a directory source, whatever the settings say. */
const IGNORED_ALWAYS: readonly RegExp[] = [/^\./, /^host_vars$/, /^group_vars$/, /^vars_plugins$/];

/**
 * What a directory source skips, as Ansible's inventory manager builds it: the names always skipped,
 * INVENTORY_IGNORE_PATTERNS (searched anywhere in the name) and INVENTORY_IGNORE_EXTS (at the end).
 * Note that the default extensions include `.ini`, so an INI file inside a directory source is
 * skipped, exactly as `ansible -i dir/` skips it.
 */
export function ignoredInDirectory(options: Pick<InventoryOptions, 'ignoreExtensions' | 'ignorePatterns'> = {}): RegExp[] {
  const exts = options.ignoreExtensions ?? IGNORED_EXTENSIONS;
  return [
    ...IGNORED_ALWAYS,
    ...(options.ignorePatterns ?? []).map((p) => new RegExp(p, 'u')),
    ...exts.map((ext) => new RegExp(`${ext.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)),
  ];
}

/** The default list (stock Ansible settings). */
export const IGNORED_IN_DIRECTORY: readonly RegExp[] = ignoredInDirectory();

export async function loadInventory(paths: string[], options: InventoryOptions = {}): Promise<Inventory> {
  if (paths.length === 0) {
    throw new LanesError('no inventory given', { hint: 'pass an inventory file or directory with -i' });
  }
  const data = new InventoryData(options);
  // `before` grows as sources are read: a plugin config later in the list works on what they built.
  const before: string[] = [];
  const ctx: ChainContext = { cwd: options.cwd ?? process.cwd(), scriptTimeout: options.scriptTimeout, before };
  const ignored = ignoredInDirectory(options);
  const varsDirs: string[] = [];
  for (const given of paths) {
    // Relative to options.cwd when one is given; errors then name the full path.
    const p = options.cwd !== undefined && !isAbsolute(given) ? resolve(options.cwd, given) : given;
    const st = await stat(p).catch(() => undefined);
    if (!st) {
      if (p.includes(',')) {
        addHostList(data, given);
        before.push(given);
        continue;
      }
      throw new LanesError(`inventory ${p} does not exist`, {
        location: { file: p },
        hint: 'pass an inventory file or directory with -i, or a host list such as -i web1,web2',
      });
    }
    if (st.isDirectory()) {
      await loadDirectory(data, p, ctx, ignored);
      varsDirs.push(p);
    } else {
      await loadFile(data, p, ctx);
      varsDirs.push(dirname(p));
    }
    // A plugin config later in the list (constructed, say) works on what these built, as in Ansible.
    before.push(p);
  }
  data.reconcile();

  const cache: VarsFileCache = new Map();
  const layers: SourceVars[] = [];
  for (const dir of varsDirs) {
    layers.push({
      groupVars: await loadVarsDir(join(dir, 'group_vars'), data.groups.keys(), cache),
      hostVars: await loadVarsDir(join(dir, 'host_vars'), data.hosts.keys(), cache),
    });
  }
  return resolveInventory(data, paths, layers, options.hashBehaviour);
}

/**
 * Parse inventory text on its own (no group_vars/ or host_vars/), mostly for tests and for
 * inventories that do not live in files. The format is detected from `file` and the text unless given.
 */
export function parseInventoryText(text: string, file: string, format?: InventoryFormat, options: InventoryOptions = {}): Inventory {
  const data = new InventoryData(options);
  if (format === 'yaml') parseYamlInventory(text, file, data);
  else if (format === 'ini') parseIniInventory(text, file, data);
  else parseTextOnly(data, file, text);
  data.reconcile();
  return resolveInventory(data, [file], []);
}

async function loadFile(data: InventoryData, file: string, ctx: ChainContext): Promise<void> {
  const text = await readFile(file, 'utf8');
  if (isVaultText(text)) {
    const plain = vault.decrypt(text, file);
    // Every variable value of an encrypted inventory is a secret; host and group names are not
    // (masking them would hide which host a line is about). The text is parsed once on its own to
    // find those values, then into the shared inventory.
    const own = new InventoryData();
    parseDecrypted(file, () => parseTextOnly(own, file, plain));
    for (const g of own.groups.values()) registerSecretLeaves(g.vars);
    for (const h of own.hosts.values()) registerSecretLeaves(h.vars);
    parseTextOnly(data, file, plain);
    return;
  }
  await parseFileChain(data, file, text, ctx);
}

/**
 * Every entry of a directory source, in name order, skipping what Ansible skips. Returns how many
 * files were read. A directory given with -i that holds no inventory at all (say only hosts.ini,
 * which Ansible skips in directories) is refused where Ansible warns "Unable to parse"; a
 * subdirectory without one gets Ansible's warning.
 */
async function loadDirectory(data: InventoryData, dir: string, ctx: ChainContext, ignored: readonly RegExp[], top = true): Promise<number> {
  const names = (await readdir(dir)).sort(byCodePoint);
  let read = 0;
  const skipped: string[] = [];
  for (const name of names) {
    if (ignored.some((re) => re.test(name))) {
      if (!name.startsWith('.') && name !== 'group_vars' && name !== 'host_vars') skipped.push(name);
      continue;
    }
    const full = join(dir, name);
    const st = await stat(full);
    if (st.isDirectory()) read += await loadDirectory(data, full, ctx, ignored, false);
    else if (st.isFile()) {
      await loadFile(data, full, ctx);
      read += 1;
    }
  }
  if (read === 0) {
    if (!top) data.warn(`Unable to parse ${resolve(dir)} as an inventory source`);
    else {
      throw new LanesError(`no inventory in directory ${dir}${skipped.length > 0 ? `: ${skipped.join(', ')} ${skipped.length === 1 ? 'is' : 'are'} skipped there, as Ansible skips them` : ''}`, {
        location: { file: dir },
        hint: 'inside an inventory directory Ansible ignores names ending in .ini, .cfg, .md, .txt, .rst, .orig, .retry, .bak, ~ and hidden files; pass such a file itself with -i, or rename it',
      });
    }
  }
  return read;
}

/** `-i web1,web2:2222,` — hosts straight from the command line, all ungrouped. */
function addHostList(data: InventoryData, list: string): void {
  for (const part of list.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const parsed = parseAddress(item);
    data.addHost(parsed ? parsed.host : item, 'ungrouped', parsed?.port);
  }
}

