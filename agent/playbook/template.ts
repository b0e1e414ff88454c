/**
 * `{{ … }}` interpolation and Jinja2-style template files, with nunjucks.
 *
 * Variables behave as in Ansible:
 *   - they are templated lazily, when used: `app_root: "/srv/{{ app }}"` is rendered where
 *     `{{ app_root }}` is used, with the variables of that host (and a loop is reported);
 *   - a string that is exactly one expression, `"{{ workers }}"`, keeps the value's type (a number,
 *     a list…); anything else renders to a string;
 *   - using an undefined variable is an error naming it (Ansible's StrictUndefined): not only when
 *     it is printed, but in `{% if x %}`, `x ~ "…"`, `x | upper`… — only `x | default(…)` and
 *     `x is defined` / `is undefined` may look at an undefined variable.
 *
 * nunjucks has no hook for undefined lookups, so every variable is served through a Proxy (the
 * environment's globals, and each mapping or list value) that records lookups of missing names;
 * `default` and the `defined` tests consume the record they were given, and a render that leaves a
 * record behind fails. nunjucks prints `true`/`false` and joins lists with "," where Jinja2 prints
 * `True` and `['a', 'b']`.
 *
 * Templates are data, not code: sandbox.ts decides what a template can reach and call, and bounds
 * what it can build; confine.ts keeps the template files it reads inside the playbook's tree.
 */
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import nunjucks from 'nunjucks';
import { setVar } from '../inventory/vars.js';
import { pyArith, pyCompare, pyNumber } from '../values/arith.js';
import { pyRound, toPyFloat, toPyInt } from '../values/convert.js';
import { PyFloat, isPyValue, pyFloat, pyJsonDumps, pyStr } from '../values/python.js';
import { JsonLoadsError, pyJsonLoads } from '../values/json-loads.js';
import { pyYamlDump } from '../values/yaml-dump.js';
import { Confinement } from './confine.js';
import { DICT_METHODS, LIMITS, NOT_A_VALUE, allowCall, enterSandbox, guardFilter, installSandbox, range, stringSize } from './sandbox.js';

const TEMPLATE_MARK = /\{\{|\{%|\{#/;

/** Whether a string contains template syntax at all (most strings do not, and are taken as they are). */
export function isTemplated(s: string): boolean {
  return TEMPLATE_MARK.test(s);
}

/** The value of Ansible's `omit`: a field set to it is left out. */
export const OMIT = '__lanes_omit_place_holder__';

/** A template that could not be rendered: an undefined variable, a syntax error, a filter error. */
export class RenderError extends Error {
  /** Variables whose (lazy) templating led here, outermost first. */
  readonly via: string[] = [];
  constructor(
    message: string,
    /** The undefined variable, for undefined-variable errors. */
    readonly variable?: string,
    /** Where in a template file, when nunjucks knows it. */
    public file?: string,
    public line?: number,
    public column?: number,
  ) {
    super(message);
    this.name = 'RenderError';
  }

  /** The message with the chain of variables that led to it. */
  describe(): string {
    return this.via.length > 0 ? `${this.message} (in variable ${this.via.map((v) => `"${v}"`).join(' → ')})` : this.message;
  }
}

function undefinedVariable(name: string): RenderError {
  return new RenderError(`undefined variable "${name}"`, name);
}

type Vars = Record<string, unknown>;

interface Frame {
  scope: Scope;
  /** Lookups of missing variables not (yet) consumed by `default` or `is defined`. */
  missing: string[];
  /** An error raised by lanes code while nunjucks was running (nunjucks would rewrap it). */
  pending?: RenderError;
}

interface AstNode {
  typename: string;
  children?: AstNode[];
}
const nunjucksParser = (nunjucks as unknown as { parser: { parse(src: string): AstNode } }).parser;
const SafeString = nunjucks.runtime.SafeString;

const PY_CONSTANTS: Readonly<Record<string, unknown>> = { True: true, False: false, None: null };
const CAPTURE = '__lanes_capture';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !(v instanceof SafeString) && !isPyValue(v) && Object.prototype.toString.call(v) === '[object Object]';
}

interface Compiled {
  tpl: nunjucks.Template;
  /** The string is one `{{ expression }}`: its value keeps its type. */
  exact: boolean;
}

/**
 * Template files: a relative name is looked up in the search paths (the playbook's templates/,
 * then its directory, as Ansible does); `./x` and `../x` in an include are relative to the including
 * template. Every file must be inside the confinement (the playbook's tree): anything else — an
 * absolute path elsewhere, `..` out of the tree, a symbolic link out of it — is refused, not read.
 */
class TemplateLoader {
  cache: Record<string, unknown> = {};
  /** Names as written in include tags, by the path nunjucks resolved them to (for messages). */
  private readonly written = new Map<string, string>();
  constructor(
    private readonly searchPaths: string[],
    private readonly confinement: Confinement,
    private readonly fail: (message: string) => never,
  ) {}

  getSource(name: string): { src: string; path: string; noCache: boolean } | null {
    const candidates = this.searchPaths.map((d) => resolve(d, name));
    // resolve() just turned an include's relative name into this path.
    const shown = this.written.get(name) ?? name;
    this.written.delete(name);
    let refused: string | undefined;
    for (const path of candidates) {
      const why = this.confinement.outside('template', shown, path);
      if (why !== undefined) {
        refused ??= why;
        continue;
      }
      try {
        return { src: readFileSync(path, 'utf8'), path, noCache: false };
      } catch {
        // not here: try the next search path
      }
    }
    if (refused !== undefined) this.fail(refused);
    return null;
  }

  isRelative(name: string): boolean {
    return name.startsWith('./') || name.startsWith('../');
  }

  resolve(from: string, to: string): string {
    const full = resolve(dirname(from), to);
    this.written.set(full, to);
    return full;
  }
}

/** One nunjucks environment (per playbook: templates are looked up relative to it). */
export class TemplateEngine {
  readonly env: nunjucks.Environment;
  private readonly frames: Frame[] = [];
  private readonly compiled = new Map<string, Compiled>();
  private readonly builtins: Vars;

  /** What the template files may be: the search paths' tree, unless told otherwise. */
  readonly confinement: Confinement;

  constructor(searchPaths: string[], confinement?: Confinement) {
    installSandbox();
    this.confinement = confinement ?? new Confinement(searchPaths, 'the template directory', 'templates and includes');
    // nunjucks accepts a loader returning null for "not found"; its type declarations do not say so.
    const loader = new TemplateLoader(searchPaths, this.confinement, (message) => this.fail(new RenderError(message))) as unknown as nunjucks.ILoader;
    this.env = new nunjucks.Environment(loader, {
      autoescape: false,
      throwOnUndefined: true,
      // As Ansible's template module: the newline after a block tag is removed.
      trimBlocks: true,
    });
    const holder = this.env as unknown as { globals: Vars };
    // nunjucks' other globals (cycler, joiner, lipsum) are objects and functions: range() only.
    this.builtins = { range };
    // Every name is "a global", so that each lookup nunjucks does not find in its own frame
    // (loop variables, {% set %}) comes here and is answered by the current host's variables.
    holder.globals = new Proxy(this.builtins, {
      has: () => true,
      get: (target, key) => (typeof key === 'symbol' ? Reflect.get(target, key) : this.lookup(key)),
    });
    installFilters(this);
    // Filters and tests by name, among the installed ones only ("constructor" is no filter).
    const lookups = this.env as unknown as { filters: Vars; tests: Vars; getFilter(n: string): unknown; getTest(n: string): unknown };
    lookups.getFilter = (name: string) => {
      if (!Object.hasOwn(lookups.filters, name)) throw new Error(`filter not found: ${name}`);
      return lookups.filters[name];
    };
    lookups.getTest = (name: string) => {
      if (!Object.hasOwn(lookups.tests, name)) throw new Error(`test not found: ${name}`);
      return lookups.tests[name];
    };
  }

  /** Render a string with a scope's variables. One `{{ expression }}` keeps its type. */
  render(text: string, scope: Scope): unknown {
    const c = this.compile(text);
    if (!c.exact) return this.run(scope, () => c.tpl.render({}));
    return this.run(scope, () => {
      let captured: unknown;
      c.tpl.render({
        [CAPTURE]: allowCall((v: unknown) => {
          captured = v;
          return '';
        }),
      });
      if (typeof captured === 'function') this.fail(new RenderError(NOT_A_VALUE));
      // A small value can stand for a huge one (a list of the same list, many times over).
      const size = stringSize(captured, true);
      if (size > LIMITS.output) this.fail(new RenderError(`the expression's value is over ${LIMITS.output.toLocaleString('en-US')} characters`));
      return this.materialize(captured);
    });
  }

  /** Render a template file found in the search paths. */
  renderFile(name: string, scope: Scope): string {
    return this.run(scope, () => this.env.getTemplate(name).render({}));
  }

  /** A fully templated plain copy of a value (no proxies, no SafeStrings). */
  materialize(v: unknown): unknown {
    if (v instanceof SafeString) return String(v);
    if (Array.isArray(v)) return v.map((x: unknown) => this.materialize(x));
    if (isPlainObject(v)) {
      const out: Vars = {};
      for (const k of Object.keys(v)) setVar(out, k, this.materialize(v[k]));
      return out;
    }
    return v;
  }

  /** Note a lookup of something undefined, by its name or path (`app.root`, `ports[3]`). */
  recordMissing(name: string): void {
    const frame = this.frames[this.frames.length - 1];
    if (frame && frame.missing[frame.missing.length - 1] !== name) frame.missing.push(name);
  }

  /** `default` and `is defined` were given the undefined value of the last lookup: it is handled. */
  consumeMissing(): void {
    this.frames[this.frames.length - 1]?.missing.pop();
  }

  /** The last unhandled undefined lookup. */
  lastMissing(): string | undefined {
    const frame = this.frames[this.frames.length - 1];
    return frame?.missing[frame.missing.length - 1];
  }

  /** Raise an error from lanes code running inside a render, so that it reaches the caller intact. */
  fail(err: RenderError): never {
    const frame = this.frames[this.frames.length - 1];
    if (frame && !frame.pending) frame.pending = err;
    throw err;
  }

  private lookup(name: string): unknown {
    const frame = this.frames[this.frames.length - 1];
    if (frame?.scope.has(name)) return frame.scope.lookup(name);
    if (Object.hasOwn(this.builtins, name)) return this.builtins[name];
    if (Object.hasOwn(PY_CONSTANTS, name)) return PY_CONSTANTS[name];
    this.recordMissing(name);
    return undefined;
  }

  private compile(text: string): Compiled {
    let c = this.compiled.get(text);
    if (c) return c;
    const m = isExactExpression(text) ? /^\{\{-?([\s\S]*?)-?\}\}$/.exec(text) : null;
    c = m
      ? { tpl: new nunjucks.Template(`{{ ${CAPTURE}((${m[1] as string})) }}`, this.env), exact: true }
      : { tpl: new nunjucks.Template(text, this.env), exact: false };
    this.compiled.set(text, c);
    return c;
  }

  private run<T>(scope: Scope, fn: () => T): T {
    const frame: Frame = { scope, missing: [] };
    this.frames.push(frame);
    const leave = enterSandbox(this.sandboxHost);
    try {
      const out = fn();
      const first = frame.missing[0];
      if (first !== undefined) throw undefinedVariable(first);
      return out;
    } catch (e) {
      const pending = frame.pending;
      if (pending) {
        // Raised inside nunjucks: nunjucks knows the line it was at.
        const where = e === pending ? undefined : translate(e, frame);
        if (where?.line !== undefined && pending.line === undefined) Object.assign(pending, { file: where.file, line: where.line, column: where.column });
        throw pending;
      }
      if (e instanceof RenderError) throw e;
      throw translate(e, frame);
    } finally {
      leave();
      this.frames.pop();
    }
  }

  private readonly sandboxHost = { refuse: (message: string): never => this.fail(new RenderError(message)) };
}

/** `{{ x }}` alone (one output of one expression), as opposed to `a{{ x }}` or `{{ a }}{{ b }}`. */
function isExactExpression(text: string): boolean {
  if (!text.startsWith('{{') || !text.endsWith('}}')) return false;
  let ast: AstNode;
  try {
    ast = nunjucksParser.parse(text);
  } catch {
    return false; // rendering reports the syntax error
  }
  const out = ast.children?.length === 1 ? ast.children[0] : undefined;
  return out?.typename === 'Output' && out.children?.length === 1 && out.children[0]?.typename !== 'TemplateData';
}

// nunjucks' messages: "(path) [Line 3, Column 16]\n  message", nested once per include level.
const NUNJUCKS_WHERE = /\(([^()\n]*)\)(?: \[Line (\d+), Column (\d+)\])?\n\s*/g;

/** Turn a nunjucks error into a RenderError with the innermost file and line it names. */
function translate(e: unknown, frame: Frame): RenderError {
  const raw = e instanceof Error ? e.message : String(e);
  let file: string | undefined;
  let line: number | undefined;
  let column: number | undefined;
  let rest = raw;
  for (const m of raw.matchAll(NUNJUCKS_WHERE)) {
    const f = m[1] === 'unknown path' ? undefined : m[1];
    rest = raw.slice((m.index ?? 0) + m[0].length);
    // The same file again without a line (an error passed up through an import) keeps the line.
    if (m[2] === undefined && f === file && line !== undefined) continue;
    file = f;
    line = m[2] === undefined ? undefined : Number(m[2]);
    column = m[3] === undefined ? undefined : Number(m[3]);
  }
  rest = rest.replace(/^(?:Template render error: |Error: )+/, '').trim();
  if (/^attempted to output null or undefined value/.test(rest)) {
    const missing = frame.missing[frame.missing.length - 1];
    const err = missing !== undefined ? undefinedVariable(missing) : new RenderError('the expression has no value (it is null)');
    Object.assign(err, { file, line, column });
    return err;
  }
  return new RenderError(`template error: ${rest}`, undefined, file, line, column);
}

/**
 * The variables of one host in one play. Values are templated when first used and cached;
 * mappings and lists are handed to nunjucks as Proxies that template their members lazily too.
 */
export class Scope {
  private readonly rendered = new Map<string, unknown>();
  private readonly members = new WeakMap<object, Map<string, unknown>>();
  private readonly proxies = new WeakMap<object, object>();
  private readonly active = new Set<string>();

  constructor(
    readonly engine: TemplateEngine,
    readonly vars: Vars,
  ) {}

  has(name: string): boolean {
    return Object.hasOwn(this.vars, name);
  }

  /** A variable's templated value (Proxy-wrapped when it is a mapping or list). */
  lookup(name: string): unknown {
    let value: unknown;
    if (this.rendered.has(name)) value = this.rendered.get(name);
    else {
      value = this.resolve(this.vars[name], name);
      this.rendered.set(name, value);
    }
    return this.wrap(value, name);
  }

  /** Render a string of the playbook with this scope. */
  render(text: string): unknown {
    return isTemplated(text) ? this.engine.render(text, this) : text;
  }

  private resolve(raw: unknown, label: string): unknown {
    if (typeof raw !== 'string' || !isTemplated(raw)) return raw;
    if (this.active.has(label)) {
      this.engine.fail(new RenderError(`variable "${label}" refers to itself`));
    }
    this.active.add(label);
    try {
      return this.engine.render(raw, this);
    } catch (e) {
      if (e instanceof RenderError) {
        if (e.via[0] !== label) e.via.unshift(label);
        this.engine.fail(e);
      }
      throw e;
    } finally {
      this.active.delete(label);
    }
  }

  private wrap(value: unknown, label: string): unknown {
    if (!Array.isArray(value) && !isPlainObject(value)) return value;
    const known = this.proxies.get(value);
    if (known) return known;
    const raw = value as Vars;
    const isList = Array.isArray(value);
    // The target is a copy, so that frozen values never break a Proxy invariant.
    const target: Vars = isList ? ([...(value as unknown[])] as unknown as Vars) : { ...raw };
    const sub = (k: string): string => (isList ? `${label}[${k}]` : `${label}.${k}`);
    const proxy = new Proxy(target, {
      get: (t, key, receiver) => {
        if (typeof key === 'symbol') return Reflect.get(t, key, receiver);
        if (Object.hasOwn(t, key)) {
          if (isList && key === 'length') return t[key];
          return this.wrap(this.member(raw, key, sub(key)), sub(key));
        }
        if (!isList && Object.hasOwn(DICT_METHODS, key)) return DICT_METHODS[key];
        if (key in t) return Reflect.get(t, key, receiver);
        this.engine.recordMissing(sub(key));
        return undefined;
      },
    });
    this.proxies.set(value, proxy);
    return proxy;
  }

  private member(obj: Vars, key: string, label: string): unknown {
    let cache = this.members.get(obj);
    if (!cache) {
      cache = new Map();
      this.members.set(obj, cache);
    }
    if (cache.has(key)) return cache.get(key);
    const value = this.resolve(obj[key], label);
    cache.set(key, value);
    return value;
  }
}

// ---------------------------------------------------------------------------------------------
// Filters and tests (Ansible's, where nunjucks lacks them; no `quote`: lanes quotes shell words itself)

interface Kwargs {
  __keywords?: true;
  [k: string]: unknown;
}

function kwargs(args: unknown[]): Kwargs {
  const last = args[args.length - 1];
  if (isPlainObject(last) && Object.hasOwn(last, '__keywords')) {
    args.pop();
    return last as Kwargs;
  }
  return {};
}

/** Python `re` syntax to JavaScript: named groups and `\1` / `\g<name>` in replacements. */
function pyRegExp(pattern: string, flags: string): RegExp {
  return new RegExp(pattern.replace(/\(\?P<(\w+)>/g, '(?<$1>').replace(/\(\?P=(\w+)\)/g, '\\k<$1>'), flags);
}
function pyReplacement(repl: string): string {
  return repl
    .replace(/\$/g, '$$$$')
    .replace(/\\g<(\d+)>/g, '$$$1')
    .replace(/\\g<(\w+)>/g, '$$<$1>')
    .replace(/\\(\d)/g, '$$$1');
}

function combine(into: Vars, from: Vars, recursive: boolean): Vars {
  const out: Vars = { ...into };
  for (const k of Object.keys(from)) {
    const a = out[k];
    const b = from[k];
    setVar(out, k, recursive && isPlainObject(a) && isPlainObject(b) ? combine(a, b, true) : b);
  }
  return out;
}

function installFilters(engine: TemplateEngine): void {
  // addTest exists in nunjucks but not in its type declarations.
  const env = engine.env as nunjucks.Environment & { addTest(name: string, fn: (...args: unknown[]) => unknown): void };
  const m = (v: unknown): unknown => engine.materialize(v);
  const fail = (message: string): never => engine.fail(new RenderError(message));

  const defaultFilter = (val: unknown, def: unknown = '', boolean = false): unknown => {
    if (val === undefined) {
      engine.consumeMissing();
      return def;
    }
    return boolean && !val ? def : val;
  };
  env.addFilter('default', defaultFilter);
  env.addFilter('d', defaultFilter);
  env.addFilter('mandatory', (val: unknown, msg?: string) => {
    if (val !== undefined) return val;
    const missing = engine.lastMissing();
    engine.consumeMissing();
    return engine.fail(msg !== undefined ? new RenderError(msg) : undefinedVariable(missing ?? 'value'));
  });
  env.addTest('defined', (val: unknown) => {
    if (val === undefined) engine.consumeMissing();
    return val !== undefined;
  });
  env.addTest('undefined', (val: unknown) => {
    if (val === undefined) engine.consumeMissing();
    return val === undefined;
  });
  env.addTest('none', (val: unknown) => val === null);

  env.addFilter('bool', (val: unknown) => {
    if (typeof val === 'boolean') return val;
    if (pyNumber(val) !== undefined) return pyCompare(val, '==', 1);
    if (typeof val === 'string' || val instanceof SafeString) return ['yes', 'on', '1', 'true', 'y'].includes(String(val).trim().toLowerCase());
    return false;
  });
  // Numbers as Jinja2 converts them (Python's float(), int(), round()), keeping Python's types.
  env.addFilter('float', (val: unknown, def: unknown = new PyFloat(0)) => toPyFloat(val instanceof SafeString ? String(val) : val) ?? def);
  env.addFilter('int', (...args: unknown[]) => {
    const kw = kwargs(args);
    const [val, def = kw.default ?? 0] = args;
    const v = val instanceof SafeString ? String(val) : val;
    return toPyInt(v) ?? (typeof v === 'string' ? toPyInt(toPyFloat(v)) : undefined) ?? def;
  });
  env.addFilter('round', (...args: unknown[]) => {
    const kw = kwargs(args);
    const [val, precision = kw.precision ?? 0, method = kw.method ?? 'common'] = args;
    const digits = Number(precision);
    if (method === 'common') return pyRound(val, digits) ?? fail('round: expected a number');
    if (method !== 'floor' && method !== 'ceil') return fail('round: method must be common, ceil or floor');
    const n = pyNumber(val);
    if (n === undefined) return fail('round: expected a number');
    const x = 'int' in n ? Number(n.int) : n.float;
    const unit = 10 ** digits;
    return pyFloat((method === 'floor' ? Math.floor(x * unit) : Math.ceil(x * unit)) / unit);
  });
  env.addFilter('string', (val: unknown) => (val instanceof SafeString ? val : pyStr(val)));
  env.addFilter('join', (...args: unknown[]) => {
    const kw = kwargs(args);
    const [val, sep = kw.d ?? '', attribute = kw.attribute] = args;
    const items = Array.isArray(val) ? val : isPlainObject(val) ? Object.keys(val) : [...pyStr(val)];
    const picked = attribute === undefined || attribute === null ? items : items.map((i: unknown) => (isPlainObject(i) ? i[String(attribute)] : undefined));
    return picked.map((i: unknown) => pyStr(i)).join(pyStr(sep));
  });
  env.addFilter('sum', (...args: unknown[]) => {
    const kw = kwargs(args);
    const [val, attribute = kw.attribute, start = kw.start ?? 0] = args;
    const items = Array.isArray(val) ? val : [];
    return items.reduce((acc: unknown, i: unknown) => pyArith('+', acc, attribute === undefined || attribute === null || !isPlainObject(i) ? i : i[String(attribute)]), start);
  });
  env.addFilter('abs', (val: unknown) => (pyCompare(val, '<', 0) ? pyArith('-', 0, val) : val));
  env.addTest('number', (val: unknown) => pyNumber(val) !== undefined);
  // Equality tests with Python's numbers (8.0 is 8): selectattr('v', 'equalto', 8) finds 8.0.
  for (const name of ['eq', 'equalto']) env.addTest(name, (val: unknown, other: unknown) => pyCompare(val, '==', other));
  env.addTest('ne', (val: unknown, other: unknown) => pyCompare(val, '!=', other));
  env.addTest('float', (val: unknown) => { const n = pyNumber(val); return n !== undefined && 'float' in n; });
  env.addTest('integer', (val: unknown) => typeof val !== 'boolean' && pyNumber(val) !== undefined && 'int' in (pyNumber(val) as object));
  // Ansible's to_json / to_nice_json are Python's json.dumps (8.0, NaN, big ints exact, dates isoformat()).
  env.addFilter('to_json', (...args: unknown[]) => {
    const kw = kwargs(args);
    return pyJsonDumps(m(args[0]), {
      indent: typeof kw.indent === 'number' ? kw.indent : undefined,
      sortKeys: kw.sort_keys === true,
      ensureAscii: kw.ensure_ascii !== false,
    });
  });
  env.addFilter('to_nice_json', (...args: unknown[]) => {
    const kw = kwargs(args);
    const [val, indent = kw.indent ?? 4, sortKeys = kw.sort_keys ?? true] = args;
    return pyJsonDumps(m(val), { indent: Number(indent), sortKeys: sortKeys === true, ensureAscii: kw.ensure_ascii !== false });
  });
  env.addFilter('from_json', (val: unknown) => {
    try {
      return pyJsonLoads(String(val));
    } catch (e) {
      return fail(`from_json: ${e instanceof JsonLoadsError ? e.pythonMessage : (e as Error).message}`);
    }
  });
  // PyYAML's yaml.dump as Ansible calls it: flow style for collections of scalars, or block style (nice).
  env.addFilter('to_yaml', (val: unknown) => pyYamlDump(m(val), { flow: 'auto' }));
  env.addFilter('to_nice_yaml', (val: unknown, indent: number = 4) => pyYamlDump(m(val), { flow: 'never', indent: Number(indent) }));
  env.addFilter('b64encode', (val: unknown) => Buffer.from(String(val), 'utf8').toString('base64'));
  env.addFilter('b64decode', (val: unknown) => Buffer.from(String(val), 'base64').toString('utf8'));
  env.addFilter('basename', (val: unknown) => posix.basename(String(val)));
  env.addFilter('dirname', (val: unknown) => posix.dirname(String(val)));
  env.addFilter('ternary', (val: unknown, yes: unknown, no: unknown, none?: unknown) =>
    val === null && none !== undefined ? none : val ? yes : no,
  );
  env.addFilter('regex_replace', (...args: unknown[]) => {
    const kw = kwargs(args);
    const [val, pattern, replacement = '', ignorecase = kw.ignorecase ?? false, multiline = kw.multiline ?? false] = args;
    let re: RegExp;
    try {
      re = pyRegExp(String(pattern), `g${ignorecase ? 'i' : ''}${multiline ? 'm' : ''}`);
    } catch (e) {
      return fail(`regex_replace: ${(e as Error).message}`);
    }
    return String(val).replace(re, pyReplacement(String(replacement)));
  });
  env.addFilter('regex_search', (...args: unknown[]) => {
    const kw = kwargs(args);
    const [val, pattern, ignorecase = kw.ignorecase ?? false, multiline = kw.multiline ?? false] = args;
    let re: RegExp;
    try {
      re = pyRegExp(String(pattern), `${ignorecase ? 'i' : ''}${multiline ? 'm' : ''}`);
    } catch (e) {
      return fail(`regex_search: ${(e as Error).message}`);
    }
    return re.exec(String(val))?.[0] ?? null;
  });
  env.addFilter('combine', (...args: unknown[]) => {
    const kw = kwargs(args);
    let out: Vars = {};
    for (const d of args.flat()) {
      const v = m(d);
      if (!isPlainObject(v)) return fail(`combine: expected mappings, got ${Array.isArray(v) ? 'a list' : typeof v}`);
      out = combine(out, v, kw.recursive === true);
    }
    return out;
  });
  env.addFilter('map', function (this: unknown, ...args: unknown[]) {
    const kw = kwargs(args);
    const [list, filter, ...rest] = args;
    const items = Array.isArray(list) ? list : isPlainObject(list) ? Object.keys(list) : [];
    if (typeof kw.attribute === 'string') {
      const attr = kw.attribute;
      return items.map((i: unknown) => (isPlainObject(i) && Object.hasOwn(i, attr) ? i[attr] : undefined) ?? kw.default);
    }
    if (typeof filter !== 'string') return fail('map: give a filter name, or attribute="…"');
    const f = env.getFilter(filter);
    return items.map((i: unknown) => f.call(this, i, ...rest) as unknown);
  });
  env.addFilter('unique', (list: unknown) => {
    const seen: unknown[] = [];
    for (const i of Array.isArray(list) ? list : []) if (!seen.some((s) => JSON.stringify(m(s)) === JSON.stringify(m(i)))) seen.push(i);
    return seen;
  });
  env.addFilter('flatten', (list: unknown, levels?: number) => (Array.isArray(list) ? (m(list) as unknown[]).flat(levels ?? Infinity) : list));
  env.addFilter('dict2items', (val: unknown, keyName: string = 'key', valueName: string = 'value') => {
    const v = m(val);
    if (!isPlainObject(v)) return fail('dict2items: expected a mapping');
    return Object.keys(v).map((k) => ({ [keyName]: k, [valueName]: v[k] }));
  });
  env.addFilter('items2dict', (val: unknown, keyName: string = 'key', valueName: string = 'value') => {
    const v = m(val);
    if (!Array.isArray(v)) return fail('items2dict: expected a list');
    const out: Vars = {};
    for (const item of v) if (isPlainObject(item)) setVar(out, String(item[keyName]), item[valueName]);
    return out;
  });

  // Any other filter given an undefined value fails at once (StrictUndefined), so that the error
  // carries the line nunjucks is at.
  const filters = (env as unknown as { filters: Record<string, (...args: unknown[]) => unknown> }).filters;
  for (const [name, unguarded] of Object.entries(filters)) {
    const filter = guardFilter(name, unguarded);
    if (name === 'default' || name === 'd' || name === 'mandatory') {
      filters[name] = filter;
      continue;
    }
    filters[name] = function (this: unknown, value: unknown, ...rest: unknown[]) {
      const missing = value === undefined ? engine.lastMissing() : undefined;
      if (missing !== undefined) engine.fail(undefinedVariable(missing));
      return filter.call(this, value, ...rest);
    };
  }
}
