/**
 * What `lanes inventory` prints, as a library function: the views `ansible-inventory` gives, byte for
 * byte, so a team can diff lanes' reading of an inventory against Ansible's. The CLI only parses
 * arguments, calls this and writes the result; the conformance suite (test/conformance/) calls it the
 * same way.
 *
 * One deliberate difference: values decrypted from a vault are shown masked, where ansible-inventory
 * shows the vault ciphertext.
 */
import { writeFile } from 'node:fs/promises';
import { LanesError } from '../errors.js';
import { secrets } from '../report/mask.js';
import { pyJsonDumps } from '../values/python.js';
import { loadInventory } from './load.js';
import type { Inventory, InventoryGroup, InventoryHost } from './model.js';
import type { InventoryOptions } from './options.js';
import { selectHosts } from './pattern.js';
import { pyYamlDump } from '../values/yaml-dump.js';
import { hostVariables, inventoryGraph, inventoryListJson, inventoryYamlTree } from './render.js';
import { setVar } from './vars.js';

export type InventoryView = 'list' | 'graph' | 'host' | 'limit';

export interface ShowInventoryOptions extends InventoryOptions {
  inventory: string[];
  view: InventoryView;
  /** --graph [GROUP]: the group to start from (default all). */
  group?: string;
  /** --host HOST: a pattern that must match exactly one host. */
  host?: string;
  /** --graph --vars: show variables in the graph. */
  vars?: boolean;
  /** --yaml / --toml instead of JSON (list and host views; ignored for --graph, as by Ansible). */
  format?: 'json' | 'yaml' | 'toml';
  /** --export: group variables on groups, hosts with only their own. */
  export?: boolean;
  /** the 'limit' view: the hosts this pattern selects, one per line. */
  limit?: string;
  /** --output FILE: write the result there (exactly the text, as Ansible does) and print nothing. */
  output?: string;
}

export interface ShownInventory {
  /** Exactly what goes to stdout (ends with a newline, or is empty with `output`). */
  stdout: string;
  /** Ansible's warnings, each once, for stderr (without the "[WARNING]: " prefix). */
  warnings: string[];
}

export async function showInventory(o: ShowInventoryOptions): Promise<ShownInventory> {
  if (o.format === 'toml' && o.view !== 'graph') {
    throw new LanesError('--toml is not offered: lanes writes JSON and YAML only', {
      hint: 'like ansible-inventory on a system without the Python toml library; use --yaml or the default JSON',
    });
  }
  const inventory = masked(await loadInventory(o.inventory, o));
  const results = render(inventory, o);
  let stdout = '';
  if (o.output !== undefined) {
    try {
      await writeFile(o.output, results);
    } catch (e) {
      throw new LanesError(`cannot write ${o.output}: ${(e as Error).message}`, { cause: e, hint: '--output FILE needs a writable path' });
    }
  } else {
    // Ansible's display() ends what it prints with one newline (YAML already has it).
    stdout = results.endsWith('\n') ? results : `${results}\n`;
  }
  return { stdout, warnings: inventory.warnings };
}

/** The text ansible-inventory would produce, before display() or --output. */
function render(inv: Inventory, o: ShowInventoryOptions): string {
  const dump = (value: unknown): string =>
    o.format === 'yaml' ? pyYamlDump(value) : pyJsonDumps(value, { indent: 4, sortKeys: true, ensureAscii: false });
  const opts = { export: o.export ?? false };
  switch (o.view) {
    case 'list':
      return dump(o.format === 'yaml' ? inventoryYamlTree(inv, opts) : inventoryListJson(inv, opts));
    case 'graph':
      return inventoryGraph(inv, o.group ?? 'all', { ...opts, vars: o.vars ?? false });
    case 'host':
      return dump(hostVariables(inv, oneHost(inv, o.host ?? ''), opts));
    case 'limit': {
      const names = selectHosts(inv, o.limit ?? 'all');
      if (names.length === 0) throw new LanesError(`no hosts selected by "${o.limit ?? 'all'}"`, { kind: 'pattern' });
      return `${names.join('\n')}\n`;
    }
  }
}

/** --host takes a pattern, as Ansible does, but it must select exactly one host. */
function oneHost(inv: Inventory, pattern: string): string {
  let names: string[] = [];
  try {
    names = selectHosts(inv, pattern);
  } catch (e) {
    if (!(e instanceof LanesError)) throw e;
  }
  const [only] = names;
  if (names.length !== 1 || only === undefined) {
    throw new LanesError(`--host needs a single valid host, and "${pattern}" matches ${names.length} hosts`, {
      kind: 'pattern',
      hint: 'give one inventory host name, e.g. --host web1.example.com',
    });
  }
  return only;
}

/**
 * The inventory with every string value that holds a vault-decrypted secret masked. Only strings are
 * touched: floats, big integers and dates keep their Python types so they print as Ansible prints them.
 */
function masked(inv: Inventory): Inventory {
  const done = new Map<object, unknown>();
  const hosts = new Map<string, InventoryHost>();
  for (const [name, h] of inv.hosts) {
    hosts.set(name, { ...h, vars: maskVars(h.vars, done), ownVars: h.ownVars === undefined ? undefined : maskVars(h.ownVars, done) });
  }
  const groups = new Map<string, InventoryGroup>();
  for (const [name, g] of inv.groups) groups.set(name, { ...g, vars: maskVars(g.vars, done) });
  return { ...inv, hosts, groups };
}

function maskVars(vars: Record<string, unknown>, done: Map<object, unknown>): Record<string, unknown> {
  return maskStrings(vars, done) as Record<string, unknown>;
}

/**
 * A copy with strings masked. A list or mapping shared by several hosts stays shared (one copy for
 * all), because --yaml writes a shared one as an anchor and aliases, as Ansible's dumper does.
 */
function maskStrings(v: unknown, done: Map<object, unknown>): unknown {
  if (typeof v === 'string') return secrets.maskValue(v);
  if (v === null || typeof v !== 'object') return v;
  const known = done.get(v);
  if (known !== undefined) return known;
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    done.set(v, out);
    for (const item of v) out.push(maskStrings(item, done));
    return out;
  }
  if (Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    done.set(v, out);
    for (const k of Object.keys(v)) setVar(out, k, maskStrings((v as Record<string, unknown>)[k], done));
    return out;
  }
  return v;
}
