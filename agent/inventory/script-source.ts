/**
 * Executable inventory scripts, as Ansible's `script` inventory plugin runs them: `SCRIPT --list`
 * prints a JSON object of groups, and host variables either under `_meta.hostvars` or, when `_meta`
 * is absent, from `SCRIPT --host HOST` once per host.
 *
 *   {"web": {"hosts": ["web1"], "vars": {"http_port": 80}, "children": ["canary"]},
 *    "db": ["db1", "db2"],
 *    "_meta": {"hostvars": {"web1": {"ansible_host": "10.0.0.5"}}}}
 *
 * Unlike a YAML inventory, host names are taken literally (no `web[1:3]` ranges, no `:port`), and a
 * group given as a mapping without hosts/vars/children is a host of that name with those variables.
 * The script runs without a shell, stdin closed, from the working directory (as Ansible runs it),
 * within a time limit and an output cap; a failure is a LanesError naming the script.
 */
import { resolve } from 'node:path';
import { LanesError, type SourceLocation } from '../errors.js';
import type { InventoryData } from './data.js';
import { JsonLoadsError, pyJsonLoads } from '../values/json-loads.js';
import { firstLine, MAX_INVENTORY_OUTPUT, runCapped } from './run-capped.js';
import { parseYaml, type YamlNode } from './yaml-source.js';

/**
 * Ansible itself waits for an inventory script forever; lanes stops it after this many seconds
 * (settable as scriptTimeout) so that a hung cloud API does not hang a CI rollout.
 */
export const DEFAULT_SCRIPT_TIMEOUT = 300;

export interface ScriptRun {
  cwd: string;
  timeoutSeconds: number;
}

export async function readScriptInventory(data: InventoryData, file: string, run: ScriptRun): Promise<void> {
  const loc: SourceLocation = { file };
  const { stdout: list, stderr } = await runScriptOutput(file, ['--list'], run);
  // Ansible shows a successful script's stderr too (always_show_stderr, as an [ERROR] line); lanes
  // keeps it as a warning so that deprecations and partial failures are not lost.
  const said = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (said.length > 0) data.warn(`inventory script ${file} --list wrote on stderr: ${said[0]}${said.length > 1 ? ` (and ${said.length - 1} more lines)` : ''}`);
  if (list.trim() === '') throw new LanesError(`inventory script ${file} printed nothing for --list`, { location: loc, hint: SCRIPT_HINT });
  const parsed = parseOutput(list, file, '--list');
  const hosts = addGroups(data, parsed, file);
  const meta = parsed._meta;
  // `"_meta": {"hostvars": null}` asks for --host like a missing _meta, as in Ansible.
  const fromMeta = isDict(meta) && 'hostvars' in meta && meta.hostvars !== null ? meta.hostvars : undefined;
  for (const host of hosts) {
    let vars: unknown;
    if (fromMeta === undefined) {
      const out = await runScript(file, ['--host', host], run);
      // Ansible 2.14 fails on empty --host output too (it compares bytes with ''), so a script must print {}.
      if (out.trim() === '') {
        throw new LanesError(`inventory script ${file} printed nothing for --host ${host}`, { location: loc, hint: 'print {} for a host without variables, or give all of them under _meta.hostvars in --list' });
      }
      vars = parseOutput(out, file, `--host ${host}`);
    } else {
      if (!isDict(fromMeta)) throw new LanesError(`_meta.hostvars of inventory script ${file} must be an object`, { location: loc, hint: SCRIPT_HINT });
      vars = Object.prototype.hasOwnProperty.call(fromMeta, host) ? fromMeta[host] : {};
    }
    if (vars === null) continue;
    if (!isDict(vars)) {
      throw new LanesError(`variables of host "${host}" from inventory script ${file} must be an object, got ${pyTypeName(vars)}`, { location: loc, hint: SCRIPT_HINT });
    }
    for (const [k, v] of Object.entries(vars)) data.setHostVar(host, k, v, loc);
  }
}

/**
 * The groups of a script's (or `ansible-inventory --list`'s) JSON, added to `data`. Returns every
 * host named, in order, for their variables.
 */
export function addGroups(data: InventoryData, parsed: Record<string, unknown>, file: string): string[] {
  const loc: SourceLocation = { file };
  const hosts: string[] = [];
  const seen = new Set<string>();
  for (const [rawName, raw] of Object.entries(parsed)) {
    if (rawName === '_meta') continue;
    const group = data.addGroup(rawName, loc).name;
    let body: Record<string, unknown>;
    if (!isDict(raw)) body = { hosts: raw };
    else if (!['hosts', 'vars', 'children'].some((k) => k in raw)) body = { hosts: [rawName], vars: raw };
    else body = raw;

    if ('hosts' in body) {
      if (!Array.isArray(body.hosts)) {
        throw new LanesError(`group "${group}" from ${file} has bad data for the host list: expected a list, got ${pyTypeName(body.hosts)}`, { location: loc, hint: SCRIPT_HINT });
      }
      for (const h of body.hosts) {
        if (typeof h !== 'string' || h === '') {
          throw new LanesError(`a host of group "${group}" from ${file} is ${JSON.stringify(h)}, not a host name`, { location: loc, hint: SCRIPT_HINT });
        }
        data.addHost(h, group, undefined, loc);
        if (!seen.has(h)) {
          seen.add(h);
          hosts.push(h);
        }
      }
    }
    if ('vars' in body) {
      if (!isDict(body.vars)) {
        throw new LanesError(`group "${group}" from ${file} has bad data for variables: expected an object, got ${pyTypeName(body.vars)}`, { location: loc, hint: SCRIPT_HINT });
      }
      for (const [k, v] of Object.entries(body.vars)) data.setGroupVar(group, k, v, loc);
    }
    if ('children' in body) {
      const children = body.children;
      // Python iterates a list's items or an object's keys alike.
      const names = Array.isArray(children) ? children : isDict(children) ? Object.keys(children) : undefined;
      if (names === undefined) {
        throw new LanesError(`children of group "${group}" from ${file} must be a list, got ${pyTypeName(children)}`, { location: loc, hint: SCRIPT_HINT });
      }
      for (const c of names) {
        if (typeof c !== 'string' || c === '') {
          throw new LanesError(`a child of group "${group}" from ${file} is ${JSON.stringify(c)}, not a group name`, { location: loc, hint: SCRIPT_HINT });
        }
        data.addChild(group, data.addGroup(c, loc).name, loc);
      }
    }
  }
  return hosts;
}

const SCRIPT_HINT = 'an inventory script prints {"group": {"hosts": [...], "vars": {...}, "children": [...]}, "_meta": {"hostvars": {...}}} for --list';

async function runScript(file: string, args: string[], run: ScriptRun): Promise<string> {
  return (await runScriptOutput(file, args, run)).stdout;
}

async function runScriptOutput(file: string, args: string[], run: ScriptRun): Promise<{ stdout: string; stderr: string }> {
  const loc: SourceLocation = { file };
  const what = `inventory script ${file} ${args.join(' ')}`;
  // An absolute path: a bare name would be looked up on PATH instead of in the directory.
  const r = await runCapped(resolve(file), args, { cwd: run.cwd, timeoutSeconds: run.timeoutSeconds });
  if (r.kind === 'spawn-failed') {
    throw new LanesError(`cannot run ${what}: ${r.code === 'EACCES' ? 'it is not executable' : r.code === 'ENOEXEC' ? 'it is not a program (no #! line?)' : r.message}`, {
      location: loc,
      hint: r.code === 'EACCES' ? 'a file starting with #! is run as an inventory script: chmod +x it' : 'an executable inventory is run as a script; chmod -x it if it is a static inventory',
    });
  }
  if (r.kind === 'timeout') {
    throw new LanesError(`${what} did not finish within ${run.timeoutSeconds}s and was stopped${stderrTail(r.stderr)}`, {
      kind: 'timeout',
      location: loc,
      hint: 'raise the inventory script timeout, or make the script faster (cache its results)',
    });
  }
  if (r.kind === 'too-much-output') {
    throw new LanesError(`${what} printed more than ${MAX_INVENTORY_OUTPUT / 1024 / 1024} MiB and was stopped`, { location: loc, hint: SCRIPT_HINT });
  }
  if (r.code !== 0) {
    const how = r.code === null ? `was killed by ${r.signal ?? 'a signal'}` : `exited with status ${r.code}`;
    throw new LanesError(`${what} ${how}${stderrTail(r.stderr)}`, { location: loc, hint: 'run the script by hand to see its full output' });
  }
  try {
    return { stdout: new TextDecoder('utf-8', { fatal: true }).decode(r.stdout), stderr: r.stderr };
  } catch {
    throw new LanesError(`${what} printed text that is not UTF-8`, { location: loc, hint: SCRIPT_HINT });
  }
}

function stderrTail(stderr: string): string {
  const line = firstLine(stderr);
  return line === undefined ? '' : `: ${line}`;
}

function parseOutput(text: string, file: string, args: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = pyJsonLoads(text);
  } catch (e) {
    if (!(e instanceof JsonLoadsError)) throw e;
    // --host output goes through Ansible's loader, which takes YAML too; --list must be JSON.
    const yaml = args === '--list' ? undefined : yamlMapping(text, file);
    if (yaml !== undefined) return yaml;
    throw new LanesError(`output of inventory script ${file} ${args} is not JSON: ${e.message} at line ${e.line} column ${e.column}`, {
      location: { file },
      hint: SCRIPT_HINT,
    });
  }
  if (!isDict(parsed)) {
    throw new LanesError(`output of inventory script ${file} ${args} must be a JSON object, got ${pyTypeName(parsed)}`, { location: { file }, hint: SCRIPT_HINT });
  }
  return parsed;
}

function yamlMapping(text: string, file: string): Record<string, unknown> | undefined {
  try {
    const src = parseYaml(text, file);
    const v = src.value(src.doc.contents as YamlNode);
    return isDict(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function pyTypeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'object' && !isDict(v)) return `the number ${String(v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
