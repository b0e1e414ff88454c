/**
 * The template sandbox: templates are data, not code.
 *
 * nunjucks compiles a template to JavaScript and has no sandbox of its own: `range.constructor(…)()`,
 * `"".constructor…`, `constructor` as a bare name (found on the render context's prototype) each reach
 * `Function` and so the whole controller. Every member lookup, call and bare-name lookup of compiled
 * code goes through a few functions of nunjucks' runtime object, which lanes replaces here (it is the
 * only user of nunjucks in the process). The rules are an allow-list:
 *   - a template can read own data of plain data (strings, numbers, booleans, null, lists, mappings),
 *     and the documented methods (dict items/keys/values/get, a few Python string methods);
 *   - it can call only those methods, `range()`, and its own macros (filters and tests are looked up
 *     by name among the installed ones only);
 *   - `constructor`, `__proto__`, `prototype` and every other name of JavaScript's machinery is
 *     refused with an error, and so is reading anything of a function or of a non-plain object.
 * Limits keep a template from exhausting the controller: output size, string size, range() length,
 * loop iterations and macro calls per render, nesting of macros and includes; regular expressions
 * fall back to a linear-time engine instead of backtracking without end. A refusal is a
 * RenderError raised through the engine, so that it carries the template's line and column.
 */
import { setFlagsFromString } from 'node:v8';
import nunjucks from 'nunjucks';
import { ArithError, pyArith, pyCompare, pyNeg, pyNumber, type ArithOp, type CompareOp } from '../values/arith.js';
import { PyFloat, isPyValue, pyFloat, pyStr } from '../values/python.js';

export const LIMITS = {
  /** Characters one render may output, and the longest string a template may build. */
  output: 16 * 1024 * 1024,
  /** Numbers one range() may make. */
  range: 1_000_000,
  /** Loop iterations plus macro calls of one render (nested renders share it). */
  steps: 1_000_000,
  /** Macro calls nested in each other. */
  macroDepth: 100,
  /** Includes nested in each other, and included templates rendered by one render. */
  includeDepth: 32,
  includes: 10_000,
} as const;

/** The engine a render runs in: a refusal is raised through it (it knows the line nunjucks is at). */
export interface SandboxHost {
  refuse(message: string): never;
}

interface Budget {
  host: SandboxHost;
  steps: number;
  output: number;
  macroDepth: number;
  includeDepth: number;
  includes: number;
}

let active: Budget | undefined;

/** Enter a render; a render nested in one of the same engine (a lazy variable) shares its budget. */
export function enterSandbox(host: SandboxHost): () => void {
  const prev = active;
  if (prev?.host !== host) active = { host, steps: 0, output: 0, macroDepth: 0, includeDepth: 0, includes: 0 };
  return () => {
    active = prev;
  };
}

export function refuse(message: string): never {
  if (active) active.host.refuse(message);
  throw new Error(message);
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function step(n: number): void {
  if (!active) return;
  active.steps += n;
  if (active.steps > LIMITS.steps) refuse(`the template runs more than ${fmt(LIMITS.steps)} loop iterations and macro calls`);
}

// ---------------------------------------------------------------------------------------------
// What templates can reach

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
type Fn = Function;
const callables = new WeakSet<object>();

/** Make a function callable from templates. */
export function allowCall<T extends Fn>(fn: T): T {
  callables.add(fn);
  return fn;
}

const SafeString = nunjucks.runtime.SafeString;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !(v instanceof SafeString) && !isPyValue(v) && Object.prototype.toString.call(v) === '[object Object]';
}

/** Names of JavaScript's object machinery: refused whatever they are looked up on. */
const FORBIDDEN = new Set([
  'constructor',
  'prototype',
  'caller',
  'callee',
  'arguments',
  'apply',
  'call',
  'bind',
  'toString',
  'toLocaleString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
]);

function forbidden(key: string): boolean {
  return FORBIDDEN.has(key) || /^__\w*__$/.test(key);
}

function cannotAccess(key: string): never {
  return refuse(`templates cannot access "${key}"`);
}

/** Python dict methods templates written for Ansible use: d.items(), d.keys(), d.values(), d.get(k, default). */
export const DICT_METHODS: Readonly<Record<string, (this: Record<string, unknown>, ...args: unknown[]) => unknown>> = {
  items(this: Record<string, unknown>) {
    return Object.keys(this).map((k) => [k, this[k]]);
  },
  keys(this: Record<string, unknown>) {
    return Object.keys(this);
  },
  values(this: Record<string, unknown>) {
    return Object.keys(this).map((k) => this[k]);
  },
  get(this: Record<string, unknown>, key: unknown, def: unknown = null) {
    return Object.hasOwn(this, String(key)) ? this[String(key)] : def;
  },
};

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof SafeString) return String(v);
  return refuse(`expected a string, got ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v}`);
}

function stripChars(s: string, chars: unknown, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) {
    if (left) s = s.replace(/^\s+/, '');
    if (right) s = s.replace(/\s+$/, '');
    return s;
  }
  const set = text(chars);
  let a = 0;
  let b = s.length;
  if (left) while (a < b && set.includes(s[a] as string)) a += 1;
  if (right) while (b > a && set.includes(s[b - 1] as string)) b -= 1;
  return s.slice(a, b);
}

function prefixTest(s: string, arg: unknown, test: (s: string, p: string) => boolean): boolean {
  const list = Array.isArray(arg) ? arg : [arg];
  return list.some((p) => test(s, text(p)));
}

/** Python str methods (Python's semantics: replace replaces all, split() splits on whitespace). */
const STRING_METHODS: Readonly<Record<string, (s: string, ...args: unknown[]) => unknown>> = {
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  capitalize: (s) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(),
  title: (s) => s.toLowerCase().replace(/(^|[^A-Za-z])([a-z])/g, (_, a: string, b: string) => a + b.toUpperCase()),
  strip: (s, chars) => stripChars(s, chars, true, true),
  lstrip: (s, chars) => stripChars(s, chars, true, false),
  rstrip: (s, chars) => stripChars(s, chars, false, true),
  startswith: (s, p) => prefixTest(s, p, (x, y) => x.startsWith(y)),
  endswith: (s, p) => prefixTest(s, p, (x, y) => x.endsWith(y)),
  find: (s, sub) => s.indexOf(text(sub)),
  count: (s, sub) => countOf(s, text(sub)),
  splitlines: (s) => s.split(/\r\n|\r|\n/).filter((l, i, all) => i < all.length - 1 || l !== ''),
  split: (s, sep, maxsplit) => {
    const max = typeof maxsplit === 'number' && maxsplit >= 0 ? maxsplit : Infinity;
    if (sep === undefined || sep === null) {
      const words = s.trim().split(/\s+/).filter((w) => w !== '');
      return max < words.length ? [...words.slice(0, max), s.trim().split(/\s+/).slice(max).join(' ')] : words;
    }
    const d = text(sep);
    if (d === '') return refuse('split: empty separator');
    const parts = s.split(d);
    return max < parts.length - 1 ? [...parts.slice(0, max), parts.slice(max).join(d)] : parts;
  },
  replace: (s, old, new_, count) => replaceAll(s, text(old), text(new_), typeof count === 'number' && count >= 0 ? count : Infinity),
  join: (s, items) => {
    if (!Array.isArray(items)) return refuse('join: expected a list');
    checkJoin(items, s);
    return items.map((i) => String(i)).join(s);
  },
};

function countOf(s: string, sub: string): number {
  if (sub === '') return s.length + 1;
  let n = 0;
  for (let i = s.indexOf(sub); i !== -1; i = s.indexOf(sub, i + sub.length)) n += 1;
  return n;
}

/** Python's str.replace, refused before it builds a string over the limit. */
export function replaceAll(s: string, old: string, new_: string, max: number = Infinity): string {
  const n = Math.min(countOf(s, old), max);
  checkLength(s.length + n * (new_.length - old.length));
  if (old === '') {
    const chars = [...s];
    return chars.slice(0, n).map((c, i) => (i === 0 ? new_ : '') + c).join(new_) + (n > chars.length ? new_ : '') + chars.slice(n).join('');
  }
  let out = '';
  let pos = 0;
  for (let k = 0; k < n; k += 1) {
    const i = s.indexOf(old, pos);
    out += s.slice(pos, i) + new_;
    pos = i + old.length;
  }
  return out + s.slice(pos);
}

function checkLength(n: number): void {
  if (n > LIMITS.output) refuse(`the template builds a string of ${fmt(n)} characters; the limit is ${fmt(LIMITS.output)}`);
}

/** A list joined with a separator stays within the limit. */
export function checkJoin(items: readonly unknown[], sep: string): void {
  checkLength(stringSize(items) + Math.max(items.length - 1, 0) * sep.length);
}

/**
 * The size of a value as text, counted without building it, stopping past the limit: lists are
 * counted through (JavaScript joins them), mappings as their placeholder — or through them too
 * when `data` (to_json, to_yaml… write them out; a list of one list of one list… shared many
 * times would otherwise expand beyond memory).
 */
export function stringSize(v: unknown, data = false): number {
  let total = 0;
  const stack: unknown[] = [v];
  while (stack.length > 0 && total <= LIMITS.output) {
    const x = stack.pop();
    if (typeof x === 'string') total += x.length;
    else if (x instanceof SafeString) total += String(x).length;
    else if (Array.isArray(x)) {
      total += x.length + 1;
      for (let i = 0; i < x.length && total <= LIMITS.output; i += 1) stack.push(x[i]);
    } else if (data && isPlainObject(x)) {
      for (const k of Object.keys(x)) {
        total += k.length + 2;
        stack.push(x[k]);
        if (total > LIMITS.output) break;
      }
    } else total += typeof x === 'object' && x !== null ? 15 : 8;
  }
  return total;
}

/** A value a template may hold: refused when it is a function it may not call or a string over the limit. */
function checked(v: unknown, what: string): unknown {
  if (typeof v === 'function' && !callables.has(v)) return refuse(`templates cannot use "${what}": it is JavaScript code, not data`);
  if (typeof v === 'string') checkLength(v.length);
  return v;
}

function memberLookup(obj: unknown, val: unknown): unknown {
  let key: string;
  if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') key = String(val);
  else if (val instanceof SafeString) key = String(val);
  else if (obj === undefined || obj === null) return undefined;
  else return refuse(`a key must be a name or a number, got ${val === null ? 'null' : Array.isArray(val) ? 'a list' : typeof val}`);
  // Own data of a mapping is data whatever its name (a YAML key "call" or even "constructor").
  if (isPlainObject(obj) && Object.hasOwn(obj, key)) {
    const desc = Object.getOwnPropertyDescriptor(obj, key);
    if (desc && (desc.get || desc.set)) return cannotAccess(key);
    return checked(obj[key], key);
  }
  if (forbidden(key)) return cannotAccess(key);
  if (obj === undefined || obj === null) return undefined;
  if (typeof obj === 'function') return refuse(`templates cannot access "${key}" of a function`);
  if (typeof obj === 'string' || obj instanceof SafeString) {
    const s = String(obj);
    if (key === 'length') return s.length;
    if (/^(0|[1-9]\d*)$/.test(key)) return s[Number(key)];
    const method = STRING_METHODS[key];
    if (method && Object.hasOwn(STRING_METHODS, key)) return allowCall((...args: unknown[]) => checked(method(s, ...args), key));
    return missing(obj, key);
  }
  if (Array.isArray(obj)) {
    if (key === 'length') return obj.length;
    if (/^(0|[1-9]\d*)$/.test(key) && Object.hasOwn(obj, key)) return checked(obj[Number(key)], key);
    return missing(obj, key);
  }
  if (isPlainObject(obj)) {
    const method = DICT_METHODS[key];
    if (method && Object.hasOwn(DICT_METHODS, key)) return allowCall((...args: unknown[]) => checked(method.apply(obj, args), key));
    return missing(obj, key);
  }
  // A float, big int or date is a number to a template: no members of its own.
  if (isPyValue(obj)) return key in Number.prototype ? cannotAccess(key) : undefined;
  if (typeof obj === 'object') return refuse(`templates cannot access "${key}" of a ${Object.prototype.toString.call(obj).slice(8, -1)} object`);
  return missing(obj, key);
}

/** Not own data: a JavaScript member (refused), or simply missing (undefined, recorded by a variable's Proxy). */
function missing(obj: object | string | number | boolean | bigint | symbol, key: string): unknown {
  if (key in Object(obj)) return cannotAccess(key);
  return typeof obj === 'object' ? (obj as Record<string, unknown>)[key] : undefined;
}

interface Context {
  ctx: Record<string, unknown>;
  env: { globals: Record<string, unknown> };
}
interface Frame {
  lookup(name: string): unknown;
}

function contextOrFrameLookup(context: Context, frame: Frame, name: string): unknown {
  const v = frame.lookup(name);
  if (v !== undefined) return v;
  // Context.lookup would answer "constructor", "toString"… from the prototype of its mapping.
  if (Object.hasOwn(context.ctx, name)) return context.ctx[name];
  const g = context.env.globals[name];
  if (g === undefined && forbidden(name)) return cannotAccess(name);
  return g;
}

function callWrap(obj: unknown, name: string, context: unknown, args: unknown[]): unknown {
  if (!obj) throw new Error(`Unable to call \`${name}\`, which is undefined or falsey`);
  if (typeof obj !== 'function') throw new Error(`Unable to call \`${name}\`, which is not a function`);
  if (!callables.has(obj)) return refuse(`templates cannot call "${name}" (only filters, tests, range(), macros and the documented methods)`);
  return checked(obj.apply(context, args), name);
}

/** range() as nunjucks has it, refused before it makes more than LIMITS.range numbers. */
export const range = allowCall(function range(start: unknown, stop?: unknown, stepBy?: unknown): number[] {
  let a = Number(start);
  let b = Number(stop);
  let s = Number(stepBy);
  if (stop === undefined) {
    b = a;
    a = 0;
    s = 1;
  } else if (!s) s = 1;
  if (![a, b, s].every(Number.isFinite)) return refuse('range() takes numbers');
  const n = s > 0 ? Math.ceil((b - a) / s) : Math.ceil((a - b) / -s);
  if (n > LIMITS.range) return refuse(`range() would make ${fmt(n)} numbers; the limit is ${fmt(LIMITS.range)}`);
  const out: number[] = [];
  for (let i = 0; i < n; i += 1) out.push(a + i * s);
  return out;
});

// ---------------------------------------------------------------------------------------------
// Installing it in nunjucks (once per process)

interface Runtime {
  memberLookup: typeof memberLookup;
  callWrap: typeof callWrap;
  contextOrFrameLookup: typeof contextOrFrameLookup;
  inOperator(key: unknown, val: unknown): boolean;
  makeMacro(argNames: string[], kwargNames: string[], func: Fn): Fn;
  fromIterator(arr: unknown): unknown;
  suppressValue(val: unknown, autoescape: boolean): unknown;
  ensureDefined(val: unknown, lineno: number, colno: number): unknown;
  lanesArith(op: ArithOp, a: unknown, b: unknown): unknown;
  lanesNeg(a: unknown): unknown;
  lanesCompare(a: unknown, op: CompareOp, b: unknown): boolean;
  lanesFloat(n: number): unknown;
  Frame: { prototype: { set(name: string, val: unknown, resolveUp?: boolean): void } };
  lanesAdd(a: unknown, b: unknown): unknown;
  lanesConcat(a: unknown, b: unknown): unknown;
}
interface AstNode {
  typename: string;
  value: unknown;
  lineno: number;
  colno: number;
  left: AstNode;
  right: AstNode;
  name: AstNode;
  args: AstNode;
  target: AstNode;
  expr: AstNode;
  ops: { type: CompareOp; expr: AstNode }[];
}
type Compile = (this: CompilerProto, node: AstNode, frame: unknown, ...rest: unknown[]) => unknown;
interface CompilerProto {
  _emit(code: string): void;
  _emitLine(code: string): void;
  _compileExpression(node: AstNode, frame: unknown): void;
  _compileAggregate(node: AstNode, frame: unknown, start: string, end: string): void;
  _getNodeName(node: AstNode): string;
  compile(node: AstNode, frame: unknown): void;
  compileAdd: Compile;
  compileConcat: Compile;
  compileSub: Compile;
  compileMul: Compile;
  compileDiv: Compile;
  compileFloorDiv: Compile;
  compileMod: Compile;
  compilePow: Compile;
  compileNeg: Compile;
  compileCompare: Compile;
  compileLiteral: Compile;
  compileFunCall: Compile;
  compileLookupVal: Compile;
  compileFilter: Compile;
  compileIs: Compile;
  _compileGetTemplate: Compile;
}

interface ParserProto {
  peekToken(): { type: string } | null;
  parsePrimary(this: ParserProto, ...args: unknown[]): AstNode;
}

const COMPARE_OPS: Readonly<Record<CompareOp, true>> = { '==': true, '===': true, '!=': true, '!==': true, '<': true, '>': true, '<=': true, '>=': true };

/** Python's errors (division by zero) as template errors. */
function arith(op: ArithOp, a: unknown, b: unknown): unknown {
  try {
    return pyArith(op, a, b);
  } catch (e) {
    if (e instanceof ArithError) return refuse(e.message);
    throw e;
  }
}

/** Where the compiled code is, for errors: nunjucks tracks it at calls only, and 0-based. */
function at(node: AstNode): string {
  return `lineno = ${node.lineno + 1}, colno = ${node.colno + 1}`;
}

/** Printing a function would show lanes' JavaScript; it is always a mistake in a template. */
export const NOT_A_VALUE = 'a method or macro is not a value (call it with parentheses)';

let installed = false;

export function installSandbox(): void {
  if (installed) return;
  installed = true;
  // regex_replace and regex_search take patterns from templates: a pattern such as "(a+)+$" would
  // backtrack for hours on 40 characters. V8 then switches to its linear-time engine (same results;
  // patterns with backreferences or lookarounds, which it cannot run, keep backtracking).
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  const rt = nunjucks.runtime as unknown as Runtime;
  rt.memberLookup = memberLookup;
  rt.callWrap = callWrap;
  rt.contextOrFrameLookup = contextOrFrameLookup;
  // `"constructor" in d` is about d's keys, not JavaScript's prototype.
  const inOperator = rt.inOperator.bind(rt);
  rt.inOperator = (key, val) => (isPlainObject(val) ? Object.hasOwn(val, String(key)) : inOperator(key, val));

  const makeMacro = rt.makeMacro.bind(rt);
  rt.makeMacro = (argNames, kwargNames, func) =>
    allowCall(
      makeMacro(argNames, kwargNames, function (this: unknown, ...args: unknown[]) {
        const b = active;
        if (!b) return func.apply(this, args) as unknown;
        step(1);
        if (b.macroDepth >= LIMITS.macroDepth) refuse(`macros call each other more than ${LIMITS.macroDepth} deep`);
        b.macroDepth += 1;
        try {
          return func.apply(this, args) as unknown;
        } finally {
          b.macroDepth -= 1;
        }
      }),
    );

  const fromIterator = rt.fromIterator.bind(rt);
  rt.fromIterator = (arr) => {
    const out = fromIterator(arr);
    if (Array.isArray(out)) step(out.length);
    else if (typeof out === 'object' && out !== null) step(Object.keys(out).length);
    return out;
  };

  const suppressValue = rt.suppressValue.bind(rt);
  rt.suppressValue = (val, autoescape) => {
    if (typeof val === 'function') refuse(NOT_A_VALUE);
    const b = active;
    if (b) {
      b.output += typeof val === 'string' ? val.length : stringSize(val);
      if (b.output > LIMITS.output) refuse(`the template writes more than ${fmt(LIMITS.output)} characters`);
    }
    // Jinja2 prints str() of a value (True, 8.0, ['a', 1.0]); Ansible prints None as nothing.
    if (val === null) return '';
    return suppressValue(typeof val === 'string' || val instanceof SafeString ? val : pyStr(val), autoescape);
  };
  // Only an undefined value is an error to print: None prints as an empty string in Ansible.
  const ensureDefined = rt.ensureDefined.bind(rt);
  rt.ensureDefined = (val, lineno, colno) => (val === null ? val : ensureDefined(val, lineno, colno));

  const frameSet = rt.Frame.prototype.set;
  rt.Frame.prototype.set = function (this: unknown, name: string, val: unknown, resolveUp?: boolean) {
    if (typeof val === 'string' || val instanceof SafeString) checkLength(String(val).length);
    frameSet.call(this, name, val, resolveUp);
  };

  // `a + b` and `a ~ b` are compiled to plain JavaScript, which would turn a list into its text
  // whatever its size: they go through a function that measures first.
  rt.lanesAdd = (a, b) => {
    if (pyNumber(a) !== undefined && pyNumber(b) !== undefined) return arith('+', a, b);
    checkLength(stringSize(a) + stringSize(b));
    return arith('+', a, b);
  };
  rt.lanesConcat = (a, b) => {
    checkLength(stringSize(a) + stringSize(b));
    return `${pyStr(a)}${pyStr(b)}`;
  };
  // The other operators with Python's numbers too (8.0 * 2 is 16.0, 10 / 5 is 2.0, exact big ints).
  rt.lanesArith = (op, a, b) => {
    if (op === '*' && (typeof a === 'string' || typeof b === 'string' || Array.isArray(a) || Array.isArray(b))) {
      const n = Number(typeof a === 'string' || Array.isArray(a) ? b : a);
      checkLength((typeof a === 'string' || Array.isArray(a) ? stringSize(a) : stringSize(b)) * (Number.isFinite(n) ? Math.max(n, 0) : 0));
    }
    return arith(op, a, b);
  };
  rt.lanesNeg = (a) => pyNeg(a);
  rt.lanesCompare = (a, op, b) => pyCompare(a, op, b);
  rt.lanesFloat = (n) => pyFloat(n);
  const compiler = (nunjucks as unknown as { compiler: { Compiler: { prototype: CompilerProto } } }).compiler.Compiler.prototype;
  /** `left OP right` compiled to a runtime call: `runtime.<call>left, right)`. */
  const runtimeCall = (call: string): Compile =>
    function (this: CompilerProto, node: AstNode, frame: unknown): void {
      this._emit(`runtime.${call}`);
      this.compile(node.left, frame);
      this._emit(', ');
      this.compile(node.right, frame);
      this._emit(')');
    };
  const binary = (fn: string): Compile => runtimeCall(`${fn}(`);
  compiler.compileAdd = binary('lanesAdd');
  compiler.compileConcat = binary('lanesConcat');
  const arithmetic = (op: ArithOp): Compile => runtimeCall(`lanesArith("${op}", `);
  compiler.compileSub = arithmetic('-');
  compiler.compileMul = arithmetic('*');
  compiler.compileDiv = arithmetic('/');
  compiler.compileFloorDiv = arithmetic('//');
  compiler.compileMod = arithmetic('%');
  compiler.compilePow = arithmetic('**');
  compiler.compileNeg = function (node, frame) {
    this._emit('runtime.lanesNeg(');
    this.compile(node.target, frame);
    this._emit(')');
  };
  compiler.compileCompare = function (node, frame) {
    // a < b < c as nunjucks has it (left to right), each comparison with Python's numbers.
    const ops = node.ops.filter((o) => Object.hasOwn(COMPARE_OPS, o.type));
    if (ops.length !== node.ops.length) throw new Error('unknown comparison operator');
    this._emit('runtime.lanesCompare('.repeat(ops.length));
    this.compile(node.expr, frame);
    for (const o of ops) {
      this._emit(`, "${o.type}", `);
      this.compile(o.expr, frame);
      this._emit(')');
    }
  };
  // A float literal stays a float: {{ 8.0 }} prints 8.0 (the parser marks it, see below).
  const compileLiteral = compiler.compileLiteral;
  compiler.compileLiteral = function (node, frame, ...rest) {
    if (node.value instanceof PyFloat) {
      this._emit(`runtime.lanesFloat(${String(node.value.value)})`);
      return;
    }
    compileLiteral.call(this, node, frame, ...rest);
  };
  const parser = (nunjucks as unknown as { parser: { Parser: { prototype: ParserProto } } }).parser.Parser.prototype;
  const parsePrimary = parser.parsePrimary;
  parser.parsePrimary = function (this: ParserProto, ...args: unknown[]) {
    const tok = this.peekToken();
    const node = parsePrimary.apply(this, args);
    if (tok?.type === 'float' && node.typename === 'Literal' && typeof node.value === 'number') node.value = new PyFloat(node.value);
    return node;
  };

  // Every lookup, call, filter, test and template load records its line, so that a refusal names it.
  compiler.compileFunCall = function (node, frame) {
    this._emit(`(${at(node)}, runtime.callWrap(`);
    this._compileExpression(node.name, frame);
    this._emit(`, "${this._getNodeName(node.name).replace(/"/g, '\\"')}", context, `);
    this._compileAggregate(node.args, frame, '[', '])');
    this._emit(')');
  };
  for (const name of ['compileLookupVal', 'compileFilter', 'compileIs'] as const) {
    const original = compiler[name];
    compiler[name] = function (node, frame, ...rest) {
      this._emit(`(${at(node)}, `);
      original.call(this, node, frame, ...rest);
      this._emit(')');
    };
  }
  const getTemplate = compiler._compileGetTemplate;
  compiler._compileGetTemplate = function (node, frame, ...rest) {
    this._emitLine(`${at(node).replace(', ', '; ')};`);
    return getTemplate.call(this, node, frame, ...rest);
  };

  // Includes: Template.render with a parent frame.
  const tplProto = (nunjucks.Template as unknown as { prototype: { render(ctx: unknown, parentFrame?: unknown, cb?: unknown): unknown } }).prototype;
  const render = tplProto.render;
  tplProto.render = function (this: unknown, ctx: unknown, parentFrame?: unknown, cb?: unknown) {
    const b = active;
    if (!b || typeof parentFrame !== 'object' || parentFrame === null) return render.call(this, ctx, parentFrame, cb);
    b.includes += 1;
    if (b.includes > LIMITS.includes) refuse(`the template includes more than ${fmt(LIMITS.includes)} templates`);
    if (b.includeDepth >= LIMITS.includeDepth) refuse(`includes are nested more than ${LIMITS.includeDepth} deep`);
    b.includeDepth += 1;
    try {
      return render.call(this, ctx, parentFrame, cb);
    } finally {
      b.includeDepth -= 1;
    }
  };
}

/** Checks around a filter: its input is measured when it writes data out, its result is data. */
export function guardFilter(name: string, filter: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  return function (this: unknown, ...args: unknown[]): unknown {
    const [value, a1, a2] = args;
    switch (name) {
      case 'to_json':
      case 'to_nice_json':
      case 'to_yaml':
      case 'to_nice_yaml':
      case 'dump':
      case 'string':
      case 'list':
      case 'flatten':
      case 'unique':
      case 'combine':
      case 'dict2items':
      case 'items2dict':
      case 'urlencode':
        checkLength(stringSize(value, true));
        break;
      case 'join':
        if (Array.isArray(value)) checkJoin(value, a1 === undefined || a1 === null ? '' : String(a1));
        break;
      case 'center':
        if (typeof a1 === 'number') checkLength(a1);
        break;
      case 'indent':
        if (typeof a1 === 'number' && typeof value === 'string') checkLength(value.length + a1 * (countOf(value, '\n') + 1));
        break;
      case 'batch':
        if (Number(a1) > LIMITS.range || (a2 !== undefined && !(Number(a1) >= 1))) refuse(`batch: ${String(a1)} is not a usable line count`);
        break;
      case 'replace':
        if (typeof value === 'string' && (typeof a1 === 'string' || typeof a1 === 'number') && a2 !== undefined)
          checkLength(value.length + countOf(value, String(a1)) * stringSize(a2));
        break;
      default:
    }
    return checked(filter.apply(this, args), name);
  };
}
