/**
 * Reading a playbook: YAML (as Ansible reads it: YAML 1.1) with every node's position kept, and
 * the structure of each play checked against the schema built from the sections table. Values are
 * not templated here — that happens per host, in compile.ts.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isSeq, type Node, type YAMLMap } from 'yaml';
import { LanesError, type SourceLocation } from '../errors.js';
import { describeNode, firstDuplicateKey, isNullNode, parseYaml, type YamlNode, type YamlSource } from '../inventory/yaml-source.js';
import { ErrorCollector } from './errors.js';
import { joinPath, NO_EVAL, problemsOf } from './issues.js';
import { ANSIBLE_PLAY_KEYS, PARAMS, SECTIONS, allowedPlayKeys, sectionGroups, type Param, type Section } from './sections.js';
import { playShape } from './structure.js';
import { didYouMean, entryLoc, findPair, nodeAtPath } from './yaml.js';

export interface PlaySection {
  section: Section;
  node: YamlNode;
  /** Where the section's key is (`pools:`), for errors about the section as a whole. */
  loc: SourceLocation;
}

export interface PlayParam {
  param: Param;
  node: YamlNode;
}

export interface VarsFileEntry {
  /** A file name, or alternatives of which the first that exists is read. */
  names: string[];
  node: YamlNode;
}

export interface Play {
  /** 0-based position in the playbook. */
  index: number;
  /** `name:`, or the host pattern when there is none. */
  name: string;
  /** The host pattern (a list of patterns is joined with ","). */
  hosts: string;
  hostsNode: YamlNode;
  node: YAMLMap;
  loc: SourceLocation;
  /** Play vars, not templated. */
  vars: Record<string, unknown>;
  varsFiles: VarsFileEntry[];
  /** `sensitive_vars`: names or globs of variables whose per-host values are secrets. */
  sensitiveVars: string[];
  /** The sections present, in table order. */
  sections: PlaySection[];
  params: PlayParam[];
}

export interface Playbook {
  /** The file as given (messages use it). */
  file: string;
  /** Absolute directory of the playbook: vars_files and templates are relative to it. */
  dir: string;
  source: YamlSource;
  plays: Play[];
}

export async function loadPlaybook(file: string): Promise<Playbook> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LanesError(code === 'ENOENT' ? `playbook not found: ${file}` : `cannot read playbook ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parsePlaybook(text, file);
}

/** Parse playbook text; `file` is used for messages and as the base of relative paths. */
export function parsePlaybook(text: string, file: string): Playbook {
  const src = parseYaml(text, file);
  const dup = firstDuplicateKey(src);
  if (dup) {
    throw new LanesError(`key "${dup.key}" appears twice in this mapping; the first is at line ${dup.first.line}, column ${dup.first.column}`, {
      location: dup.again,
      hint: 'merge the two into one (YAML would silently keep only the last)',
    });
  }
  const root = src.deref(src.doc.contents);
  if (isNullNode(root)) {
    throw new LanesError('the playbook is empty', { location: { file }, hint: 'a playbook is a list of plays: "- hosts: web"' });
  }
  if (!isSeq(root)) {
    throw new LanesError(`a playbook must be a list of plays, got ${describeNode(root)}`, {
      location: src.loc(root),
      hint: isMap(root) ? 'start the play with "- ", e.g. "- hosts: web"' : 'e.g. "- hosts: web"',
    });
  }
  const errors = new ErrorCollector();
  const shape = playShape();
  const plays: Play[] = [];
  root.items.forEach((item, index) => {
    const node = src.deref(item as YamlNode);
    if (!isMap(node)) {
      errors.add(`play ${index + 1} must be a mapping, got ${describeNode(node)}`, {
        location: src.loc(node ?? (item as Node)),
        hint: 'e.g. "- hosts: web"',
      });
      return;
    }
    const value = src.value(node);
    const result = shape.safeParse(value, NO_EVAL);
    if (!result.success) {
      const named = (value as Record<string, unknown>).name;
      const play = typeof named === 'string' && named !== '' ? `play "${named}"` : `play ${index + 1}`;
      for (const p of problemsOf(result.error.issues, value)) {
        const keyed = p.missingKey !== undefined || p.unknownKey !== undefined;
        const parent = keyed ? p.path.slice(0, -1) : p.path;
        const at = nodeAtPath(src, node, p.unknownKey !== undefined ? p.path : parent);
        const location = at.depth === 0 ? src.loc(node) : entryLoc(src, at);
        const label = joinPath('', parent);
        const message = label === '' ? `${p.message} in ${play}` : `${label}: ${p.message}`;
        errors.add(message, { location, hint: p.unknownKey !== undefined ? unknownKeyHint(p.path) : undefined });
      }
      return;
    }
    plays.push(readPlay(src, node, index, value as Record<string, unknown>));
  });
  errors.throwIfAny();
  return { file, dir: dirname(resolve(file)), source: src, plays };
}

function unknownKeyHint(path: readonly PropertyKey[]): string {
  const key = String(path[path.length - 1]);
  const allowed = path.length === 1 ? allowedPlayKeys() : (sectionGroups().get(String(path[0])) ?? []);
  const where = path.length === 1 ? 'a play takes' : `${String(path[0])} takes`;
  const ansible = path.length === 1 ? ANSIBLE_PLAY_KEYS[key] : undefined;
  const near = didYouMean(key, allowed);
  return (ansible ? `${ansible}; ` : '') + `${where}: ${allowed.join(', ')}` + (near ? `; did you mean "${near}"?` : '');
}

function readPlay(src: YamlSource, node: YAMLMap, index: number, value: Record<string, unknown>): Play {
  const hostsPair = findPair(src, node, 'hosts');
  const rawHosts = value.hosts as string | string[];
  const hosts = Array.isArray(rawHosts) ? rawHosts.join(',') : rawHosts;
  const name = typeof value.name === 'string' && value.name !== '' ? value.name : hosts;

  const varsFiles: VarsFileEntry[] = [];
  const vfNode = src.deref(findPair(src, node, 'vars_files')?.value as YamlNode);
  if (isSeq(vfNode)) {
    (value.vars_files as (string | string[])[]).forEach((entry, i) => {
      varsFiles.push({ names: Array.isArray(entry) ? entry : [entry], node: vfNode.items[i] as YamlNode });
    });
  }

  const sections: PlaySection[] = [];
  for (const section of SECTIONS) {
    const at = nodeAtPath(src, node, section.path);
    if (at.depth === section.path.length && !isNullNode(src.deref(at.node))) {
      sections.push({ section, node: at.node, loc: entryLoc(src, at) });
    }
  }
  const params: PlayParam[] = [];
  for (const param of PARAMS) {
    const at = nodeAtPath(src, node, param.path);
    if (at.depth === param.path.length && !isNullNode(src.deref(at.node))) params.push({ param, node: at.node });
  }
  return {
    index,
    name,
    hosts,
    hostsNode: hostsPair?.value as YamlNode,
    node,
    loc: src.loc(node),
    vars: (value.vars as Record<string, unknown> | null | undefined) ?? {},
    varsFiles,
    sensitiveVars: (value.sensitive_vars as string[] | null | undefined) ?? [],
    sections,
    params,
  };
}
