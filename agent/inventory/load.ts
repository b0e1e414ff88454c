/**
 * Loading inventories from -i paths, as Ansible does: each path is a YAML or INI file, a
 * directory of such files, or (when no such path exists and it contains a comma) a host list like
 * `web1,web2:2222`. All paths merge into one inventory; group_vars/ and host_vars/ are read from
 * the directory of each file source, or from inside each directory source.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LanesError } from '../errors.js';
import { parseAddress } from './address.js';
import { InventoryData } from './data.js';
import { detectFormat, type InventoryFormat } from './detect.js';
import { parseIniInventory } from './ini-format.js';
import type { Inventory } from './model.js';
import { resolveInventory, type SourceVars } from './resolve.js';
import { isVaultText, parseDecrypted, registerSecretLeaves, vault } from '../vault/index.js';
import type { InventoryOptions } from './options.js';
import { loadVarsDir, type VarsFileCache } from './vars-files.js';
import { byCodePoint } from './vars.js';
import { parseYamlInventory } from './yaml-format.js';

/**
 * Entries of an inventory directory that are not inventories. This is Ansible's default list
 * (INVENTORY_IGNORE_EXTS and the names it always skips); note that it includes `.ini`, so an
 * INI file inside a directory source is skipped, exactly as `ansible -i dir/` skips it.
 */
export const IGNORED_IN_DIRECTORY: readonly RegExp[] = [
  /^\./,
  /^host_vars$/,
  /^group_vars$/,
  /^vars_plugins$/,
  ...['.pyc', '.pyo', '.swp', '.bak', '~', '.rpm', '.md', '.txt', '.rst', '.orig', '.ini', '.cfg', '.retry'].map(
    (ext) => new RegExp(`${ext.replace(/\./g, '\\.')}$`),
  ),
];

export async function loadInventory(paths: string[], options: InventoryOptions = {}): Promise<Inventory> {
  if (paths.length === 0) {
    throw new LanesError('no inventory given', { hint: 'pass an inventory file or directory with -i' });
  }
  const data = new InventoryData();
  const varsDirs: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) {
      if (p.includes(',')) {
        addHostList(data, p);
        continue;
      }
      throw new LanesError(`inventory ${p} does not exist`, {
        location: { file: p },
        hint: 'pass an inventory file or directory with -i, or a host list such as -i web1,web2',
      });
    }
    if (st.isDirectory()) {
      await loadDirectory(data, p);
      varsDirs.push(p);
    } else {
      await loadFile(data, p);
      varsDirs.push(dirname(p));
    }
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
export function parseInventoryText(text: string, file: string, format?: InventoryFormat): Inventory {
  const data = new InventoryData();
  parseInto(data, text, file, format ?? detectFormat(file, text));
  data.reconcile();
  return resolveInventory(data, [file], []);
}

function parseInto(data: InventoryData, text: string, file: string, format: InventoryFormat): void {
  if (format === 'yaml') parseYamlInventory(text, file, data);
  else parseIniInventory(text, file, data);
}

async function loadFile(data: InventoryData, file: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  if (text.startsWith('#!')) {
    const st = await stat(file);
    if ((st.mode & 0o111) !== 0) {
      throw new LanesError(`inventory ${file} is an executable script; dynamic inventories are not supported`, {
        location: { file, line: 1, column: 1 },
        hint: 'save its output with `ansible-inventory -i SCRIPT --list -y > inventory.yml` and use that',
      });
    }
  }
  if (isVaultText(text)) {
    const plain = vault.decrypt(text, file);
    const format = detectFormat(file, plain);
    // Every variable value of an encrypted inventory is a secret; host and group names are not
    // (masking them would hide which host a line is about).
    const own = new InventoryData();
    parseDecrypted(file, () => parseInto(own, plain, file, format));
    for (const g of own.groups.values()) registerSecretLeaves(g.vars);
    for (const h of own.hosts.values()) registerSecretLeaves(h.vars);
    parseInto(data, plain, file, format);
    return;
  }
  parseInto(data, text, file, detectFormat(file, text));
}

async function loadDirectory(data: InventoryData, dir: string): Promise<void> {
  const names = (await readdir(dir)).sort(byCodePoint);
  for (const name of names) {
    if (IGNORED_IN_DIRECTORY.some((re) => re.test(name))) continue;
    const full = join(dir, name);
    const st = await stat(full);
    if (st.isDirectory()) await loadDirectory(data, full);
    else if (st.isFile()) await loadFile(data, full);
  }
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

