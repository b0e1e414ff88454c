/**
 * Compiling a playbook into the desired resources of each host.
 *
 * For every play and every host it selects (the play's pattern, narrowed by --limit):
 *   1. the host's variables, lowest to highest precedence as in Ansible: inventory vars (group
 *      and host vars, already merged) < play `vars` < play `vars_files` < --extra-vars, then the
 *      magic variables (inventory_hostname, group_names, groups, …);
 *   2. every string of the play's sections — map keys included — is templated with them, and each
 *      `templates:` item's file is rendered into its content;
 *   3. each item becomes a spec of its resource type (sections.ts says how) and is checked with the
 *      type's zod schema; each problem is reported at the exact line and column of the playbook
 *      value it concerns.
 * Errors of all plays and hosts are collected and thrown together (PlaybookErrors), identical
 * ones once with the list of hosts.
 */
import { createHash } from 'node:crypto';
import { constants, readFileSync, statSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';
import { z } from 'zod';
import { LanesError, formatLocation, type SourceLocation } from '../errors.js';
import type { Inventory } from '../inventory/model.js';
import { groupHosts, selectHosts } from '../inventory/pattern.js';
import { loadVarsFile, type VarsFileCache } from '../inventory/vars-files.js';
import { combineVars, mergeVars, setVar, type HashBehaviour, type Vars } from '../inventory/vars.js';
import type { YamlNode, YamlSource } from '../inventory/yaml-source.js';
import { claimsOf, describeClaim } from '../resources/claims.js';
import type { DesiredResource, ResourceType } from '../resources/types.js';
import { ErrorCollector } from './errors.js';
import { joinPath, NO_EVAL, problemsOf } from './issues.js';
import type { Play, PlaySection, Playbook } from './load.js';
import type { Section } from './sections.js';
import { Confinement } from './confine.js';
import { registerSensitiveVars } from './sensitive-vars.js';
import { OMIT, RenderError, Scope, TemplateEngine, isTemplated } from './template.js';
import { describeValue, didYouMean, isMergeKey, keyText, mergeSources } from './yaml.js';
import { parseWithPyValues } from '../values/boundary.js';
import { isPyValue, plainValue } from '../values/python.js';

export interface CompileOptions {
  /** --extra-vars: the highest precedence. */
  extraVars?: Record<string, unknown>;
  /** --limit: a host pattern the plays' hosts are narrowed to. */
  limit?: string;
  /** hash_behaviour: 'merge' merges mapping variables across layers recursively (default 'replace'). */
  hashBehaviour?: HashBehaviour;
}

export interface CompiledPlan {
  plays: { name: string; hosts: string[] }[];
  /** Every selected host (inventory order), with its resources in play order. */
  hosts: Map<string, DesiredResource[]>;
}

/** What compile needs of a resource type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RegistryEntry = Pick<ResourceType<any>, 'type' | 'schema' | 'id' | 'claims'>;
export type ResourceRegistry = readonly RegistryEntry[];

export async function compilePlaybook(
  playbook: Playbook,
  inventory: Inventory,
  opts: CompileOptions = {},
  registry?: ResourceRegistry,
): Promise<CompiledPlan> {
  const types = registry ?? (await import('../resources/index.js')).resourceTypes;
  const limited = opts.limit !== undefined ? new Set(selectHosts(inventory, opts.limit)) : undefined;
  const c = new Compiler(playbook, inventory, opts.extraVars ?? {}, types, opts.hashBehaviour ?? 'replace');
  const plays: CompiledPlan['plays'] = [];
  for (const play of playbook.plays) {
    const hosts = c.playHosts(play).filter((h) => !limited || limited.has(h));
    plays.push({ name: play.name, hosts });
    for (const host of hosts) await c.compileHost(play, host, hosts);
  }
  c.errors.throwIfAny();
  const hosts = new Map<string, DesiredResource[]>();
  for (const name of inventory.hosts.keys()) {
    const list = c.resources.get(name);
    if (list) hosts.set(name, list);
  }
  return { plays, hosts };
}

/** Where a templated value came from: its node (and key node, for mapping entries), and its playbook path. */
interface Pos {
  node: YamlNode;
  key?: YamlNode;
  /** e.g. "fpm.pools.web_session.pm". */
  path: string;
  fields?: Map<string, Pos>;
  items?: Pos[];
}

interface Rendered {
  value: unknown;
  pos: Pos;
  /** False when some string could not be templated (its error is already reported). */
  ok: boolean;
}

/** Stands for a value whose templating failed (and was reported): items holding one are skipped. */
const FAILED = Symbol('failed');

function holdsFailure(v: unknown): boolean {
  if (v === FAILED) return true;
  if (Array.isArray(v)) return v.some(holdsFailure);
  if (typeof v === 'object' && v !== null) return Object.values(v).some(holdsFailure);
  return false;
}

interface Item {
  spec: Vars;
  pos: Pos;
  loc: SourceLocation;
}

function isPlainObject(v: unknown): v is Vars {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isPyValue(v);
}

function child(pos: Pos, seg: string | number): Pos {
  const found = typeof seg === 'number' ? pos.items?.[seg] : pos.fields?.get(seg);
  return found ?? { node: pos.node, key: pos.key, path: joinPath(pos.path, [seg]) };
}

/** A spec field's playbook path, when it is not the item's own key (renamed, inherited…). */
function fieldPos(item: Pos, field: string, from: Pos): Pos {
  item.fields ??= new Map();
  item.fields.set(field, from);
  return from;
}

let nextNodeId = 0;

/**
 * The structure of a Pos tree as text: the identity of each YAML node and key node, each path, each
 * field name and item, in order. Equal texts are trees that locate every spec path at the same place.
 */
function posText(pos: Pos, ids: WeakMap<object, number>): string {
  const id = (n: YamlNode | undefined): string => {
    if (typeof n !== 'object' || n === null) return String(n);
    let v = ids.get(n);
    if (v === undefined) ids.set(n, (v = nextNodeId++));
    return `#${v}`;
  };
  const parts: string[] = [];
  const walk = (p: Pos): void => {
    parts.push('(', id(p.node), id(p.key), JSON.stringify(p.path));
    for (const [k, f] of p.fields ?? []) {
      parts.push('f', JSON.stringify(k));
      walk(f);
    }
    for (const i of p.items ?? []) {
      parts.push('i');
      walk(i);
    }
    parts.push(')');
  };
  walk(pos);
  return parts.join('');
}

/**
 * The JSON text of a value that is exactly plain JSON (strings, finite numbers other than -0,
 * booleans, null, dense arrays, plain objects without undefined values), else undefined: for those
 * values alone, equal texts mean equal values.
 */
function plainJsonKey(value: unknown): string | undefined {
  return isPlainJson(value) ? JSON.stringify(value) : undefined;
}

function isPlainJson(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (!(i in v) || !isPlainJson(v[i])) return false;
    return true;
  }
  if (typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(v).length > 0) return false;
  for (const x of Object.values(v)) if (x === undefined || !isPlainJson(x)) return false;
  return true;
}

/** The deepest known position along a spec path, and the segments below it. */
function locate(item: Pos, path: readonly PropertyKey[]): { pos: Pos; rest: PropertyKey[] } {
  let pos = item;
  let i = 0;
  for (; i < path.length; i += 1) {
    const seg = path[i];
    const next = typeof seg === 'number' ? pos.items?.[seg] : pos.fields?.get(String(seg));
    if (!next) break;
    pos = next;
  }
  return { pos, rest: path.slice(i) };
}

/** Where a `src:` template is: its path, why it may not be read, or undefined when there is none. */
type TemplateLookup = { path: string; outside?: undefined } | { path?: undefined; outside: string } | undefined;

class Compiler {
  readonly errors: ErrorCollector;
  readonly resources = new Map<string, DesiredResource[]>();
  private readonly seen = new Map<string, Map<string, DesiredResource>>();
  private readonly engine: TemplateEngine;
  /** Template files, includes and vars_files stay in the playbook's tree. */
  private readonly confinement: Confinement;
  private readonly src: YamlSource;
  private readonly groups: Record<string, string[]> = {};
  private readonly varsFileCache: VarsFileCache = new Map();
  private readonly schemaKeys = new Map<string, object | null>();
  private readonly templateLookups = new Map<string, TemplateLookup>();
  /** Validated specs by resource type and exact JSON text of the input (see validate). */
  private readonly validated = new Map<string, { spec: unknown; id: string }>();
  /** Resource locators by digest of their positions, and the ids of YAML nodes in those digests (see locator). */
  private readonly locators = new Map<string, (path: readonly PropertyKey[]) => SourceLocation | undefined>();
  private readonly nodeIds = new WeakMap<object, number>();

  constructor(
    private readonly playbook: Playbook,
    private readonly inventory: Inventory,
    private readonly extraVars: Vars,
    private readonly registry: ResourceRegistry,
    private readonly hashBehaviour: HashBehaviour = 'replace',
  ) {
    this.src = playbook.source;
    this.errors = new ErrorCollector(playbook.file);
    this.confinement = new Confinement([playbook.dir], 'the playbook directory', 'templates, includes and vars_files');
    this.engine = new TemplateEngine([join(playbook.dir, 'templates'), playbook.dir], this.confinement);
    for (const g of inventory.groups.keys()) setVar(this.groups, g, groupHosts(inventory, g));
  }

  loc(node: YamlNode): SourceLocation {
    return this.src.loc(node as Node | null | undefined);
  }

  /** The hosts a play's pattern selects (templated with play vars and extra vars, as in Ansible). */
  playHosts(play: Play): string[] {
    let pattern: string = play.hosts;
    try {
      if (isTemplated(pattern)) {
        const vars: Vars = {};
        combineVars(vars, play.vars, this.hashBehaviour);
        combineVars(vars, this.extraVars, this.hashBehaviour);
        mergeVars(vars, { groups: this.groups, playbook_dir: this.playbook.dir, omit: OMIT });
        pattern = String(new Scope(this.engine, vars).render(pattern));
      }
      return selectHosts(this.inventory, pattern);
    } catch (e) {
      if (e instanceof RenderError) this.errors.add(`hosts: ${e.describe()}`, { location: this.loc(play.hostsNode) });
      else if (e instanceof LanesError) this.errors.add(`hosts: ${e.message}`, { location: this.loc(play.hostsNode), hint: e.hint });
      else throw e;
      return [];
    }
  }

  async compileHost(play: Play, host: string, playHosts: string[]): Promise<void> {
    const list = this.resources.get(host) ?? [];
    this.resources.set(host, list);
    const scope = await this.hostScope(play, host, playHosts);
    if (!scope) return;

    const params = new Map<string, Rendered>();
    for (const p of play.params) params.set(p.param.path.join('.'), this.renderParam(p.node, p.param.path.join('.'), scope, host));

    for (const ps of play.sections) {
      const rendered = this.renderNode(ps.node, ps.section.path.join('.'), scope, host);
      if (rendered.value === FAILED) continue;
      rendered.pos.key = undefined;
      for (const item of this.items(ps, rendered, host)) {
        if (holdsFailure(item.spec)) continue;
        if (!this.finishItem(ps.section, item, params, scope, host)) continue;
        const resource = this.validate(ps.section, item, host);
        if (resource) list.push(resource);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Variables

  private async hostScope(play: Play, host: string, playHosts: string[]): Promise<Scope | undefined> {
    const inv = this.inventory.hosts.get(host);
    const magic: Vars = {
      inventory_hostname: host,
      inventory_hostname_short: host.split('.')[0] ?? host,
      group_names: (inv?.groups ?? []).filter((g) => g !== 'all'),
      groups: this.groups,
      playbook_dir: this.playbook.dir,
      ansible_play_name: play.name,
      ansible_play_hosts: playHosts,
      ansible_play_hosts_all: playHosts,
      play_hosts: playHosts,
      omit: OMIT,
    };
    // Ansible's precedence, lowest first (vars_files come after, and win over, play vars).
    // hash_behaviour=merge merges mappings across these layers; the magic variables always replace.
    const layer = (target: Vars, source: Vars | undefined): void => combineVars(target, source, this.hashBehaviour);
    const vars: Vars = {};
    layer(vars, inv?.vars);
    layer(vars, play.vars);
    // vars_files names may use variables: those known before the files are read.
    const before: Vars = {};
    for (const l of [vars, this.extraVars]) layer(before, l);
    mergeVars(before, magic);
    const files = await this.varsFiles(play, host, before);
    if (!files) return undefined;
    for (const f of files) layer(vars, f);
    layer(vars, this.extraVars);
    mergeVars(vars, magic);
    const scope = new Scope(this.engine, vars);
    if (!registerSensitiveVars(play.sensitiveVars, vars, scope, (message) => this.errors.add(message, { location: play.loc, host }))) return undefined;
    return scope;
  }

  /** The play's vars files for a host (names may be templated), or undefined after an error. */
  private async varsFiles(play: Play, host: string, before: Vars): Promise<Vars[] | undefined> {
    const out: Vars[] = [];
    let ok = true;
    const scope = new Scope(this.engine, before);
    for (const entry of play.varsFiles) {
      const tried: string[] = [];
      let found: string | undefined;
      let refused: string | undefined;
      try {
        for (const name of entry.names) {
          const rendered = String(scope.render(name));
          const full = isAbsolute(rendered) ? rendered : resolve(this.playbook.dir, rendered);
          tried.push(rendered);
          const outside = this.confinement.outside('vars file', rendered, full);
          if (outside !== undefined) {
            refused = outside;
            break;
          }
          if (await exists(full)) {
            found = full;
            break;
          }
        }
      } catch (e) {
        if (!(e instanceof RenderError)) throw e;
        this.errors.add(`vars_files: ${e.describe()}`, { location: this.loc(entry.node), host });
        ok = false;
        continue;
      }
      if (refused !== undefined) {
        this.errors.add(refused, { location: this.loc(entry.node), host });
        ok = false;
        continue;
      }
      if (!found) {
        this.errors.add(`vars file not found: ${tried.join(', ')}`, {
          location: this.loc(entry.node),
          host,
          hint: `relative paths are read from ${this.display(this.playbook.dir)}`,
        });
        ok = false;
        continue;
      }
      try {
        const vars = await loadVarsFile(found, this.varsFileCache);
        if (vars) out.push(vars);
      } catch (e) {
        if (!(e instanceof LanesError)) throw e;
        this.errors.addError(e, host);
        ok = false;
      }
    }
    return ok ? out : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Templating the playbook's nodes

  private renderNode(node: YamlNode, path: string, scope: Scope, host: string, keyName?: string): Rendered {
    const target = this.src.deref(node);
    if (isMap(target)) {
      const value: Vars = {};
      const fields = new Map<string, Pos>();
      let ok = true;
      const merged: YamlNode[] = [];
      for (const pair of target.items as Pair[]) {
        if (isMergeKey(pair.key)) {
          merged.push(...mergeSources(this.src, pair.value as YamlNode));
          continue;
        }
        const key = this.renderKey(pair.key as YamlNode, path, scope, host);
        if (key === undefined) {
          ok = false;
          setVar(value, `\0failed-key-${fields.size}`, FAILED); // keeps the item (or the section entry) out
          continue;
        }
        const r = this.renderNode(pair.value as YamlNode, joinPath(path, [key]), scope, host, key);
        ok &&= r.ok;
        if (r.value === OMIT) continue;
        setVar(value, key, r.value);
        fields.set(key, { ...r.pos, key: pair.key as YamlNode });
      }
      // `<<` merges: explicit keys win, then the first merged mapping.
      for (const m of merged) {
        const r = this.renderNode(m, path, scope, host);
        ok &&= r.ok;
        if (!isPlainObject(r.value)) continue;
        for (const k of Object.keys(r.value)) {
          if (Object.hasOwn(value, k)) continue;
          setVar(value, k, r.value[k]);
          const p = r.pos.fields?.get(k);
          if (p) fields.set(k, p);
        }
      }
      return { value, pos: { node, path, fields }, ok };
    }
    if (isSeq(target)) {
      const value: unknown[] = [];
      const items: Pos[] = [];
      let ok = true;
      for (const item of target.items) {
        const r = this.renderNode(item as YamlNode, joinPath(path, [value.length]), scope, host);
        ok &&= r.ok;
        if (r.value === OMIT) continue;
        value.push(r.value);
        items.push(r.pos);
      }
      return { value, pos: { node, path, items }, ok };
    }
    if (isScalar(target)) {
      const v = target.value;
      if (typeof v === 'string') {
        if (!isTemplated(v)) return { value: v, pos: { node, path }, ok: true };
        try {
          return { value: scope.render(v), pos: { node, path }, ok: true };
        } catch (e) {
          if (!(e instanceof RenderError)) throw e;
          this.errors.add(`${path}: ${e.describe()}`, { location: this.loc(node), host });
          return { value: FAILED, pos: { node, path }, ok: false };
        }
      }
      // PyYAML reads `mode: 0755` as the octal number 493; a mode means the digits as written.
      if (typeof v === 'number' && keyName === 'mode' && /^[-+]?0[0-7_]+$/.test(target.source ?? '')) {
        return { value: target.source, pos: { node, path }, ok: true };
      }
      return { value: v, pos: { node, path }, ok: true };
    }
    return { value: this.src.value(target), pos: { node, path }, ok: true };
  }

  private renderKey(key: YamlNode, path: string, scope: Scope, host: string): string | undefined {
    const text = keyText(key);
    if (text === undefined) {
      this.errors.add(`${path}: keys must be plain names`, { location: this.loc(key), host });
      return undefined;
    }
    if (!isTemplated(text)) return text;
    try {
      const v = scope.render(text);
      if (typeof v === 'string' || typeof v === 'number' || isPyValue(v)) return String(v);
      this.errors.add(`${joinPath(path, [text])}: the key must render to a name, got ${describeValue(v)}`, { location: this.loc(key), host });
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      this.errors.add(`${joinPath(path, [text])}: ${e.describe()}`, { location: this.loc(key), host });
    }
    return undefined;
  }

  /** A play parameter such as fpm.version: numbers keep their source text (8.10 is "8.10"). */
  private renderParam(node: YamlNode, path: string, scope: Scope, host: string): Rendered {
    const target = this.src.deref(node);
    if (isScalar(target) && (typeof target.value === 'number' || isPyValue(target.value))) return { value: target.source ?? String(target.value), pos: { node, path }, ok: true };
    const r = this.renderNode(node, path, scope, host);
    // A rendered number as Python prints it: "{{ php_version }}" with 8.0 is "8.0".
    if (typeof r.value === 'number' || isPyValue(r.value)) r.value = String(r.value);
    return r;
  }

  // -------------------------------------------------------------------------------------------
  // From a section's value to specs

  private items(ps: PlaySection, r: Rendered, host: string): Item[] {
    const s = ps.section;
    const out: Item[] = [];
    const bad = (pos: Pos, what: string, v: unknown, loc?: SourceLocation): void => {
      this.errors.add(`${pos.path}: must be ${what}, got ${describeValue(v)}`, { location: loc ?? this.loc(pos.key ?? pos.node), host });
    };
    const keyField = s.keyField ?? 'name';
    switch (s.form) {
      case 'list':
      case 'names': {
        if (!Array.isArray(r.value)) {
          bad(r.pos, s.form === 'names' ? 'a list of names' : 'a list', r.value, ps.loc);
          break;
        }
        r.value.forEach((item, i) => {
          if (item === FAILED) return;
          // A float, big int or date where a name goes is its Python text ("{{ php_version }}" → "8.0").
          const v: unknown = isPyValue(item) ? String(item) : item;
          const pos = child(r.pos, i);
          const loc = this.loc(pos.node);
          if (s.form === 'names') {
            if (typeof v !== 'string') return bad(pos, 'a name', v);
            out.push({ spec: { [keyField]: v, ...s.fixed }, pos: { ...pos, fields: new Map([[keyField, pos]]) }, loc });
          } else if (typeof v === 'string' && s.shorthand) {
            out.push({ spec: { [s.shorthand]: v }, pos: { ...pos, fields: new Map([[s.shorthand, pos]]) }, loc });
          } else if (isPlainObject(v)) {
            out.push({ spec: { ...v }, pos: { ...pos, fields: new Map(pos.fields) }, loc });
          } else bad(pos, s.shorthand ? `a mapping or a ${s.shorthand}` : 'a mapping', v);
        });
        break;
      }
      case 'map': {
        if (!isPlainObject(r.value)) {
          bad(r.pos, 'a mapping of names to settings', r.value, ps.loc);
          break;
        }
        for (const [name, v] of Object.entries(r.value)) {
          if (v === FAILED) continue;
          const pos = child(r.pos, name);
          const settings = v ?? {};
          if (!isPlainObject(settings)) {
            bad(pos, 'a mapping of settings', v);
            continue;
          }
          if (Object.hasOwn(settings, keyField)) {
            const at = child(pos, keyField);
            this.errors.add(`${at.path}: the ${keyField} is the key ("${name}"); remove this line`, { location: this.loc(at.key ?? at.node), host });
            continue;
          }
          const fields = new Map(pos.fields);
          fields.set(keyField, { node: pos.key ?? pos.node, path: pos.path });
          out.push({ spec: { [keyField]: name, ...settings }, pos: { ...pos, fields }, loc: this.loc(pos.key ?? pos.node) });
        }
        break;
      }
      case 'single': {
        if (!isPlainObject(r.value)) {
          bad(r.pos, 'a mapping', r.value, ps.loc);
          break;
        }
        if (s.wrap === undefined) {
          // The mapping itself is the spec (e.g. release:), with field positions for error messages.
          out.push({ spec: { ...r.value }, pos: { ...r.pos, fields: new Map(r.pos.fields) }, loc: ps.loc });
          break;
        }
        const wrap = s.wrap;
        out.push({ spec: { [wrap]: r.value }, pos: { node: r.pos.node, path: r.pos.path, fields: new Map([[wrap, r.pos]]) }, loc: ps.loc });
        break;
      }
    }
    return out;
  }

  /** Forbidden keys, renames, fixed and inherited fields, rendered templates. False after an error. */
  private finishItem(s: Section, item: Item, params: Map<string, Rendered>, scope: Scope, host: string): boolean {
    const { spec, pos } = item;
    for (const [key, hint] of Object.entries(s.forbid ?? {})) {
      if (!Object.hasOwn(spec, key)) continue;
      const at = child(pos, key);
      this.errors.add(`${at.path}: not allowed in ${s.path.join('.')}`, { location: this.loc(at.key ?? at.node), host, hint });
      return false;
    }
    for (const [from, to] of Object.entries(s.rename ?? {})) {
      if (!Object.hasOwn(spec, from)) continue;
      setVar(spec, to, spec[from]);
      delete spec[from];
      fieldPos(pos, to, child(pos, from));
      pos.fields?.delete(from);
    }
    for (const [field, value] of Object.entries(s.fixed ?? {})) if (!Object.hasOwn(spec, field)) setVar(spec, field, value);
    for (const [field, param] of Object.entries(s.inherit ?? {})) {
      const p = params.get(param);
      if (!p || Object.hasOwn(spec, field)) continue;
      if (!p.ok) return false;
      if (p.value === null || p.value === undefined || p.value === OMIT) continue;
      setVar(spec, field, p.value);
      fieldPos(pos, field, p.pos);
    }
    if (s.template) return this.renderTemplate(s.template, item.spec, item.pos, scope, host);
    if (s.listTemplates) return this.renderListTemplates(s.listTemplates, item, scope, host);
    return true;
  }

  /** Each mapping of a list field that names a template file: exactly one of src / content, then rendered. */
  private renderListTemplates(t: { list: string; src: string; into: string }, item: Item, scope: Scope, host: string): boolean {
    const list = item.spec[t.list];
    if (!Array.isArray(list)) return true; // the resource schema reports a wrong type
    const listPos = child(item.pos, t.list);
    let ok = true;
    list.forEach((entry, i) => {
      if (!isPlainObject(entry) || !Object.hasOwn(entry, t.src)) return;
      const pos = child(listPos, i);
      if (Object.hasOwn(entry, t.into)) {
        const at = child(pos, t.into);
        this.errors.add(`${at.path}: set either ${t.src} (a template file) or ${t.into}, not both`, { location: this.loc(at.key ?? at.node), host });
        ok = false;
        return;
      }
      ok = this.renderTemplate(t, entry, pos, scope, host) && ok;
    });
    return ok;
  }

  private renderTemplate(t: { src: string; into: string }, spec: Vars, itemPos: Pos, scope: Scope, host: string): boolean {
    const srcPos = child(itemPos, t.src);
    const name = spec[t.src];
    if (typeof name !== 'string' || name === '') {
      // The resource schema reports the missing or malformed src.
      if (name === undefined) return true;
      this.errors.add(`${srcPos.path}: must be a file name, got ${describeValue(name)}`, { location: this.loc(srcPos.key ?? srcPos.node), host });
      return false;
    }
    const file = this.findTemplate(name);
    if (file?.outside !== undefined) {
      this.errors.add(`${srcPos.path}: ${file.outside}`, { location: this.loc(srcPos.key ?? srcPos.node), host });
      return false;
    }
    if (!file) {
      this.errors.add(`${srcPos.path}: template not found: ${name}`, {
        location: this.loc(srcPos.key ?? srcPos.node),
        host,
        hint: `looked in ${this.display(join(this.playbook.dir, 'templates'))} and ${this.display(this.playbook.dir)}`,
      });
      return false;
    }
    try {
      setVar(spec, t.into, this.engine.renderFile(file.path, scope));
      fieldPos(itemPos, t.into, srcPos);
      return true;
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      const where = e.file ?? file.path;
      // When nunjucks does not know the line (a value used in a statement such as {% if %}), point
      // at the first use of the variable in the template.
      const line = e.line ?? (e.variable !== undefined && e.file === undefined ? firstUse(file.path, e.variable) : undefined);
      this.errors.add(e.describe(), { location: { file: this.display(where), line, column: e.line !== undefined ? e.column : undefined }, host });
      return false;
    }
  }

  /** The template file a `src:` names (the first candidate inside the playbook's tree), or why none may be read. */
  private findTemplate(name: string): TemplateLookup {
    // Every host of a play names the same templates: resolving (realpath, stat) once per name per compile.
    if (!this.templateLookups.has(name)) this.templateLookups.set(name, this.lookUpTemplate(name));
    return this.templateLookups.get(name);
  }

  private lookUpTemplate(name: string): TemplateLookup {
    const candidates = isAbsolute(name) ? [name] : [join(this.playbook.dir, 'templates', name), join(this.playbook.dir, name)];
    let outside: string | undefined;
    for (const f of candidates) {
      const why = this.confinement.outside('template', name, f);
      if (why !== undefined) outside ??= why;
      else if (statSync(f, { throwIfNoEntry: false })?.isFile() === true) return { path: f };
    }
    return outside !== undefined ? { outside } : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Validation against the resource type

  private validate(s: Section, item: Item, host: string): DesiredResource | undefined {
    const rt = this.registry.find((t) => t.type === s.type);
    if (!rt) {
      this.errors.add(`${s.path.join('.')}: resource type "${s.type}" is not available`, { location: item.loc, host });
      return undefined;
    }
    // Every host of a play usually declares the same spec: validated once, and the one result shared
    // by those hosts (memory: one object per distinct spec, not per host). Only plain JSON specs are
    // cached, keyed by their exact JSON text, so equal keys are equal inputs to the schema.
    const key = plainJsonKey(item.spec);
    const cacheKey = key === undefined ? undefined : `${s.type}\0${key}`;
    const hit = cacheKey === undefined ? undefined : this.validated.get(cacheKey);
    if (hit) return this.desired(s, rt, hit, item, host);
    // Floats, big ints and dates from vars reach the schema as plain values (8.0 is "8.0" in a text field).
    const { result, input } = parseWithPyValues(item.spec, (x) => rt.schema.safeParse(x, NO_EVAL));
    if (!result.success) {
      for (const p of problemsOf(result.error.issues, input)) {
        // Unknown and missing keys are named in the message: the label is their mapping's path.
        const keyed = p.missingKey !== undefined || p.unknownKey !== undefined;
        const { pos } = locate(item.pos, p.missingKey !== undefined ? p.path.slice(0, -1) : p.path);
        const owner = locate(item.pos, keyed ? p.path.slice(0, -1) : p.path);
        const label = joinPath(owner.pos.path, owner.rest);
        this.errors.add(`${label}: ${p.message}`, {
          location: this.loc(pos.key ?? pos.node),
          host,
          hint: p.unknownKey !== undefined ? this.allowedKeysHint(s, rt, p.path) : undefined,
        });
      }
      return undefined;
    }
    // Whatever a schema lets through unchanged (free-form values) is plain JSON from here on.
    const spec: unknown = plainValue(result.data);
    const valid = { spec, id: rt.id(spec) };
    if (cacheKey !== undefined) this.validated.set(cacheKey, valid);
    return this.desired(s, rt, valid, item, host);
  }

  /** The desired resource of a validated spec, claimed for the host (undefined: a duplicate or a conflict). */
  private desired(s: Section, rt: RegistryEntry, { spec, id }: { spec: unknown; id: string }, item: Item, host: string): DesiredResource | undefined {
    const resource: DesiredResource = { type: s.type, id, spec, source: item.loc };
    Object.defineProperty(resource, 'at', { enumerable: false, value: this.locator(item.pos) });
    return this.claim(rt, resource, host) ? resource : undefined;
  }

  /**
   * A resource's `at`: the playbook location of a path in its spec. Every host of a play usually has
   * the same positions (the same YAML nodes, keys and paths), yet each host renders its own Pos tree:
   * keeping one tree per resource per host was most of a large fleet's compiled plan (~90 KB a host,
   * with the unvalidated spec the closure also held). Equal trees share one locator, keyed by a digest
   * of the tree's structure; the tree is complete here (finishItem has run), and nothing changes it later.
   */
  private locator(pos: Pos): (path: readonly PropertyKey[]) => SourceLocation | undefined {
    const key = createHash('sha256').update(posText(pos, this.nodeIds)).digest('base64');
    let at = this.locators.get(key);
    if (!at) {
      // Only the positions and the source are held: not the compiler (every host's claims, caches).
      const src = this.src;
      at = (path) => {
        const found = locate(pos, path).pos;
        return src.loc((found.key ?? found.node) as Node | null | undefined);
      };
      this.locators.set(key, at);
    }
    return at;
  }

  /**
   * One owner per path, unit, program or pool on a host, across sections and plays: a second
   * declaration is an error naming both places — unless it is the same declaration again (same
   * type, same spec), which is dropped.
   */
  private claim(rt: RegistryEntry, r: DesiredResource, host: string): boolean {
    let seen = this.seen.get(host);
    if (!seen) {
      seen = new Map();
      this.seen.set(host, seen);
    }
    for (const claim of claimsOf(rt, r.spec)) {
      const first = seen.get(claim);
      if (!first) continue;
      if (first.type === r.type && isDeepStrictEqual(first.spec, r.spec)) return false;
      const firstAt = first.source ? formatLocation(first.source) : 'another play';
      const what = first.type === r.type ? `${r.type} "${r.id}"` : `${describeClaim(claim)} (${r.type} here, ${first.type} there)`;
      this.errors.add(`${what} is declared twice, differently: first at ${firstAt}`, {
        location: r.source,
        host,
        hint: 'declare it once (merge the two), or make both declarations identical',
      });
      return false;
    }
    for (const claim of claimsOf(rt, r.spec)) seen.set(claim, r);
    return true;
  }

  /** "pm takes: max_children, start_servers…; did you mean …" for an unknown key. */
  private allowedKeysHint(s: Section, rt: RegistryEntry, path: readonly PropertyKey[]): string | undefined {
    const schema = this.jsonSchema(rt);
    if (!schema) return undefined;
    const parent = path.slice(0, -1);
    let keys = propertiesAt(schema, parent);
    if (!keys) return undefined;
    if (parent.length === 0) {
      const renamed = Object.entries(s.rename ?? {});
      keys = keys
        .map((k) => renamed.find(([, to]) => to === k)?.[0] ?? k)
        .filter((k) => k !== (s.form === 'map' || s.form === 'names' ? (s.keyField ?? 'name') : undefined))
        .filter((k) => k !== s.template?.into && !Object.hasOwn(s.forbid ?? {}, k));
    }
    const key = String(path[path.length - 1]);
    const near = didYouMean(key, keys);
    return `allowed: ${keys.join(', ')}` + (near ? `; did you mean "${near}"?` : '');
  }

  private jsonSchema(rt: RegistryEntry): object | null {
    if (!this.schemaKeys.has(rt.type)) {
      let js: object | null = null;
      try {
        js = z.toJSONSchema(rt.schema, { io: 'input', unrepresentable: 'any' }) as object;
      } catch {
        js = null;
      }
      this.schemaKeys.set(rt.type, js);
    }
    return this.schemaKeys.get(rt.type) ?? null;
  }

  /** A path as shown to the user: relative to the working directory when the playbook path was relative. */
  display(file: string): string {
    return isAbsolute(this.playbook.file) ? file : relative(process.cwd(), file) || '.';
  }
}

/** The 1-based line where a variable is first used inside a `{{ }}` or `{% %}` tag of a template file. */
function firstUse(file: string, variable: string): number | undefined {
  const root = /^[A-Za-z_][A-Za-z0-9_]*/.exec(variable)?.[0];
  if (!root) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const name = new RegExp(`(?<![\\w.'"])${root}(?![\\w'"])`);
  for (const tag of text.matchAll(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g)) {
    if (name.test(tag[0])) return text.slice(0, tag.index).split('\n').length;
  }
  return undefined;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

/** The property names a JSON Schema allows at a path (following properties, items and combinators). */
function propertiesAt(root: object, path: readonly PropertyKey[]): string[] | undefined {
  let nodes: JsonSchema[] = [root as JsonSchema];
  for (const seg of path) {
    const next: JsonSchema[] = [];
    for (const n of expand(nodes)) {
      if (typeof seg === 'number' && n.items) next.push(n.items);
      else if (n.properties?.[String(seg)]) next.push(n.properties[String(seg)] as JsonSchema);
      else if (typeof n.additionalProperties === 'object') next.push(n.additionalProperties);
    }
    nodes = next;
  }
  const keys = new Set<string>();
  for (const n of expand(nodes)) for (const k of Object.keys(n.properties ?? {})) keys.add(k);
  return keys.size > 0 ? [...keys] : undefined;
}

function expand(nodes: JsonSchema[]): JsonSchema[] {
  const out: JsonSchema[] = [];
  const walk = (n: JsonSchema): void => {
    out.push(n);
    for (const c of [...(n.anyOf ?? []), ...(n.oneOf ?? []), ...(n.allOf ?? [])]) walk(c);
  };
  nodes.forEach(walk);
  return out;
}
