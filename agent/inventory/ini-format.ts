/**
 * Ansible's INI inventory format, ported from its ini plugin:
 *
 *   web1.example.com            # before any section: the 'ungrouped' group
 *   [web]
 *   web[01:03] ansible_user=deploy motd="hello world"
 *   [web:vars]
 *   http_port=8080
 *   [prod:children]
 *   web
 *
 * Host-line values are shlex-split, then read as Python literals (parseIniValue): `22` is a number,
 * `True` a boolean, `"a b"` the string a b. `[group:vars]` values are split at the first `=` with
 * no shell quoting and read as Python literals as well (so `x="quoted"` is the string quoted).
 * Errors name the line and the column of the offending token.
 */
import { LanesError, type SourceLocation } from '../errors.js';
import { expandHostPattern } from './address.js';
import type { InventoryData } from './data.js';
import { parseIniValue } from './pylit.js';
import { ShlexError, shlexSplit } from './shlex.js';

// [group] or [group:suffix], with an optional trailing # comment (Ansible's section pattern).
const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;
const SECTION_HINT = 'sections are [group], [group:vars] or [group:children]';

type State = 'hosts' | 'vars' | 'children';

interface Pending {
  state: 'vars' | 'children';
  loc: SourceLocation;
  /** For a child group not declared yet: the groups that listed it. */
  parents: string[];
}

/** White space as Python's str.isspace() has it (JavaScript's \s also matches U+FEFF, Python's does not). */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_START = new RegExp(`^[${PY_SPACE}]+`);
const PY_SPACE_END = new RegExp(`[${PY_SPACE}]+$`);

export function parseIniInventory(text: string, file: string, data: InventoryData): void {
  // Groups referenced before they are declared; an entry still here at the end is an error.
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state: State = 'hosts';

  const lines = text.split(/\r\n|\r|\n/);
  for (let n = 0; n < lines.length; n += 1) {
    const raw = lines[n] as string;
    // Python's str.strip(), not JavaScript's trim(): a byte order mark is not white space to Python,
    // so a file starting with one fails in Ansible's ini plugin, and must fail here too.
    const line = raw.replace(PY_SPACE_START, '').replace(PY_SPACE_END, '');
    // 1-based column of the stripped line's first character.
    const indent = raw.length - raw.replace(PY_SPACE_START, '').length;
    const at = (offset: number): SourceLocation => ({ file, line: n + 1, column: indent + offset + 1 });
    if (line === '' || line[0] === '#' || line[0] === ';') continue;

    const section = SECTION.exec(line);
    if (section) {
      const written = section[1] as string;
      // As Ansible's ini plugin: the header's name is made valid (force_valid_group_names) before
      // anything else, while [x:children] lines below keep the name as written (see there).
      const name = data.groupName(written);
      const suffix = section[2];
      if (suffix !== undefined && suffix !== 'hosts' && suffix !== 'vars' && suffix !== 'children') {
        throw new LanesError(`section [${written}:${suffix}] has unknown type "${suffix}"`, {
          location: at(written.length + 2),
          hint: SECTION_HINT,
        });
      }
      group = name;
      state = (suffix ?? 'hosts') as State;
      if (!data.hasGroup(name)) {
        // [x:vars] alone does not declare x: it must be declared by [x] or [x:children] somewhere.
        if (state === 'vars' && !pending.has(name)) pending.set(name, { state, loc: at(1), parents: [] });
        data.addGroup(name, at(1));
      }
      const waiting = pending.get(name);
      if (waiting && state !== 'vars') {
        if (waiting.state === 'children') addPendingChildren(data, name, pending);
        else pending.delete(name);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      throw new LanesError(`invalid section header ${line}`, {
        location: at(0),
        hint: `${SECTION_HINT}, with no spaces inside the brackets`,
      });
    }

    if (state === 'hosts') parseHostLine(data, group, line, at);
    else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        throw new LanesError(`expected key=value in [${group}:vars], got "${line}"`, {
          location: at(0),
          hint: 'each line of a [group:vars] section is name=value',
        });
      }
      const key = line.slice(0, eq).trim();
      if (key === '') {
        throw new LanesError(`missing variable name before "=" in [${group}:vars]`, {
          location: at(0),
          hint: 'each line of a [group:vars] section is name=value',
        });
      }
      data.setGroupVar(group, key, parseIniValue(line.slice(eq + 1).trim()), at(eq + 1));
    } else {
      const m = GROUP_NAME.exec(line);
      if (!m) {
        throw new LanesError(`expected a group name in [${group}:children], got "${line}"`, {
          location: at(0),
          hint: 'each line of a [group:children] section is one group name',
        });
      }
      const child = m[1] as string;
      // Looked up as written, not as force_valid_group_names would change it: with 'always',
      // Ansible then finds no group "web-servers" (it became web_servers) and fails the file.
      if (data.groups.has(child)) data.addChild(group, child, at(0));
      else {
        const p = pending.get(child);
        if (p) p.parents.push(group);
        else pending.set(child, { state: 'children', loc: at(0), parents: [group] });
      }
    }
  }

  // Report the first reference that was never resolved, as Ansible does.
  for (const [name, p] of pending) {
    if (p.state === 'vars') {
      throw new LanesError(`section [${name}:vars] is for group "${name}", which is not defined`, {
        location: p.loc,
        hint: `declare the group with [${name}] or [${name}:children]`,
      });
    }
    throw new LanesError(`[${p.parents[p.parents.length - 1]}:children] includes undefined group "${name}"`, {
      location: p.loc,
      hint: `declare the group with [${name}] or [${name}:children]`,
    });
  }
}

/** A child group was finally declared: attach it to every group that listed it, recursively. */
function addPendingChildren(data: InventoryData, group: string, pending: Map<string, Pending>): void {
  const p = pending.get(group);
  if (!p) return;
  for (const parent of p.parents) {
    data.addChild(parent, group, p.loc);
    if (pending.get(parent)?.state === 'children') addPendingChildren(data, parent, pending);
  }
  pending.delete(group);
}

function parseHostLine(
  data: InventoryData,
  group: string,
  line: string,
  at: (offset: number) => SourceLocation,
): void {
  let tokens;
  try {
    tokens = shlexSplit(line);
  } catch (e) {
    if (e instanceof ShlexError) {
      throw new LanesError(`cannot parse host line: ${e.message.toLowerCase()}`, {
        location: at(e.offset),
        hint: 'quote values with matching "double" or \'single\' quotes',
      });
    }
    throw e;
  }
  const first = tokens[0];
  if (!first || first.value === '') {
    throw new LanesError('expected a host name', { location: at(0), hint: 'host lines are: name key=value ...' });
  }
  const pattern = first.value;
  const loc = at(first.start);
  const { hosts, port } = expandHostPattern(pattern, loc);
  if (pattern.trim().endsWith(':') && port === undefined) {
    throw new LanesError(`invalid host "${pattern}": a trailing ":" must be followed by a port`, {
      location: loc,
      hint: 'host:port, e.g. web1:2222',
    });
  }
  if (hosts.some((h) => h.trim() === '---')) {
    throw new LanesError('"---" is not a host name; this looks like a YAML file', {
      location: loc,
      hint: 'name YAML inventories *.yml or *.yaml',
    });
  }

  const vars: [string, unknown, SourceLocation][] = [];
  for (const t of tokens.slice(1)) {
    const eq = t.value.indexOf('=');
    if (eq < 0) {
      throw new LanesError(`expected key=value after the host name, got "${t.value}"`, {
        location: at(t.start),
        hint: 'host lines are: name key=value key2="a b"',
      });
    }
    vars.push([t.value.slice(0, eq), parseIniValue(t.value.slice(eq + 1)), at(t.start + eq + 1)]);
  }
  for (const host of hosts) {
    data.addHost(host, group, port, loc);
    for (const [k, v, l] of vars) data.setHostVar(host, k, v, l);
  }
}
