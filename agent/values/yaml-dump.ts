/**
 * PyYAML's `yaml.dump(value, Dumper=AnsibleDumper, allow_unicode=True, ...)`, the one YAML writer of
 * lanes: `ansible-inventory --yaml` (default_flow_style=False) and the to_yaml (default_flow_style=None)
 * and to_nice_yaml (indent=4, default_flow_style=False) filters. Ansible's dumper sits on libyaml's C
 * emitter when PyYAML has it (as Debian's python3-yaml does), so this follows libyaml's rules, which
 * differ from pure-Python PyYAML's in places (astral characters are escaped, long double-quoted
 * strings fold only at spaces):
 *
 *   - mappings with keys sorted, sequences in a mapping not indented ("key:\n- a"), empty mappings
 *     and sequences in flow style ({} and []); with flow 'auto' (default_flow_style=None) a list or
 *     mapping holding only scalars is in flow style too ([1, a], {k: v}), as PyYAML's representer
 *     decides;
 *   - a string is plain when it reads back as the same string and has no indicator, leading or
 *     trailing space or line break; otherwise single-quoted when it can be; otherwise double-quoted
 *     with escapes; lines fold past column 80 at single spaces;
 *   - None, bools, ints, floats and dates in PyYAML's own spelling (null, true, 8.0, .inf, 1.0e+16);
 *   - a list or mapping met a second time (the same object: Ansible shares a group's list among its
 *     hosts' variables, and so does lanes) is written once with an anchor (&id001) and then as an
 *     alias (*id001), numbered in the order the second meetings come, as PyYAML's serializer does.
 *
 * Only the value types lanes holds are written: plain JSON values, PyFloat, bigint and PyDate.
 */
import { PyDate, PyFloat, pyFloatRepr } from './python.js';

const BEST_WIDTH = 80;
/** libyaml writes a key as `? key` when it is longer than this (in UTF-8 bytes) or spans lines. */
const MAX_SIMPLE_KEY = 128;

type Style = 'plain' | 'single' | 'double';

interface Scalar {
  text: string;
  /** Only strings can need quotes; the other types are always written plain. */
  isString: boolean;
}

export interface PyYamlOptions {
  /** default_flow_style: 'never' is False (ansible-inventory, to_nice_yaml), 'auto' is None (to_yaml). */
  flow?: 'auto' | 'never';
  /** yaml.dump's indent (libyaml keeps 2 unless it is 2..9). */
  indent?: number;
}

export function pyYamlDump(value: unknown, opts: PyYamlOptions = {}): string {
  const indent = opts.indent !== undefined && opts.indent > 1 && opts.indent < 10 ? Math.trunc(opts.indent) : 2;
  const e = new Emitter(anchorsOf(value), indent, opts.flow === 'auto');
  e.emitNode(value, { mapping: false, simpleKey: false });
  e.endDocument();
  return e.out;
}

/** Where a node is written: as a mapping's key or value (for indentless sequences), and as a simple key. */
interface Context {
  mapping: boolean;
  simpleKey: boolean;
}

/** The collections that occur more than once, with their anchor names (PyYAML's anchor_node walk). */
function anchorsOf(root: unknown): Map<object, string> {
  const seen = new Set<object>();
  const anchors = new Map<object, string>();
  const walk = (v: unknown): void => {
    if (!Array.isArray(v) && !isMapping(v)) return;
    if (seen.has(v)) {
      if (!anchors.has(v)) anchors.set(v, `id${String(anchors.size + 1).padStart(3, '0')}`);
      return;
    }
    seen.add(v);
    if (Array.isArray(v)) for (const item of v) walk(item);
    else for (const k of Object.keys(v).sort(byCodePoint)) walk(v[k]);
  };
  walk(root);
  return anchors;
}

class Emitter {
  out = '';
  private readonly emitted = new Set<object>();

  constructor(
    private readonly anchors: Map<object, string>,
    private readonly bestIndent: number,
    /** default_flow_style=None: PyYAML's representer puts a collection of scalars in flow style. */
    private readonly autoFlow: boolean,
  ) {}

  private flowLevel = 0;

  private column = 0;
  private whitespace = true;
  private indention = true;
  private indent = -1;
  private readonly indents: number[] = [];

  emitNode(value: unknown, ctx: Context): void {
    const anchor = typeof value === 'object' && value !== null ? this.anchors.get(value) : undefined;
    if (anchor !== undefined && value !== null && typeof value === 'object') {
      const alias = this.emitted.has(value);
      this.emitted.add(value);
      this.writeIndicator(alias ? '*' : '&', true, false, false);
      for (const ch of anchor) this.put(ch);
      this.whitespace = false;
      this.indention = false;
      if (alias) {
        if (ctx.simpleKey) this.put(' ');
        return;
      }
    }
    if (Array.isArray(value)) {
      if (this.flowLevel > 0 || value.length === 0 || (this.autoFlow && value.every(isScalar))) this.emitFlowSequence(value);
      else this.emitBlockSequence(value, ctx);
      return;
    }
    if (isMapping(value)) {
      const keys = Object.keys(value);
      if (this.flowLevel > 0 || keys.length === 0 || (this.autoFlow && keys.every((k) => isScalar(value[k])))) this.emitFlowMapping(value, keys);
      else this.emitBlockMapping(value, keys);
      return;
    }
    this.emitScalar(scalarOf(value), ctx);
  }

  /**
   * The document ends with a line break. libyaml 0.2.5 writes no "..." even after a plain scalar at
   * the root (pure-Python PyYAML would: `1.0e+16\n...\n`), and Ansible's dumper is libyaml's.
   */
  endDocument(): void {
    this.putBreak();
  }

  private increaseIndent(flow: boolean, indentless: boolean): void {
    this.indents.push(this.indent);
    if (this.indent < 0) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }

  private popIndent(): void {
    this.indent = this.indents.pop() ?? -1;
  }

  /** A flow sequence ([a, b]). */
  private emitFlowSequence(items: unknown[]): void {
    this.emitFlow('[', ']', items.length, (i) => this.emitNode(items[i], { mapping: false, simpleKey: false }));
  }

  /** A flow mapping ({k: v}), keys sorted. */
  private emitFlowMapping(map: Record<string, unknown>, keys: string[]): void {
    const sorted = [...keys].sort(byCodePoint);
    this.emitFlow('{', '}', sorted.length, (i) => {
      const key = sorted[i] as string;
      this.emitKey(key, true);
      this.emitNode(map[key], { mapping: true, simpleKey: false });
    });
  }

  /** A flow collection's brackets and commas; an item moves to a new line once the column passes 80. */
  private emitFlow(open: string, close: string, count: number, item: (i: number) => void): void {
    this.writeIndicator(open, true, true, false);
    this.increaseIndent(true, false);
    this.flowLevel++;
    for (let i = 0; i < count; i++) {
      if (i > 0) this.writeIndicator(',', false, false, false);
      if (this.column > BEST_WIDTH) this.writeIndent();
      item(i);
    }
    this.flowLevel--;
    this.popIndent();
    this.writeIndicator(close, false, false, false);
  }

  private emitBlockSequence(items: unknown[], ctx: Context): void {
    this.increaseIndent(false, ctx.mapping && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.emitNode(item, { mapping: false, simpleKey: false });
    }
    this.popIndent();
  }

  private emitBlockMapping(map: Record<string, unknown>, keys: string[]): void {
    this.increaseIndent(false, false);
    for (const key of [...keys].sort(byCodePoint)) {
      this.writeIndent();
      this.emitKey(key, false);
      this.emitNode(map[key], { mapping: true, simpleKey: false });
    }
    this.popIndent();
  }

  /** A mapping key and its ":"; a key too long or spanning lines is written as "? key" (libyaml's check_simple_key). */
  private emitKey(key: string, flow: boolean): void {
    const k = scalarOf(key);
    if (isSimpleKey(k.text)) {
      this.emitScalar(k, { mapping: true, simpleKey: true });
      this.writeIndicator(':', false, false, false);
      return;
    }
    this.writeIndicator('?', true, false, !flow);
    this.emitScalar(k, { mapping: true, simpleKey: false });
    if (!flow || this.column > BEST_WIDTH) this.writeIndent();
    this.writeIndicator(':', true, false, !flow);
  }

  private emitScalar(s: Scalar, ctx: Context): void {
    const style = s.isString ? chooseStyle(s.text, ctx.simpleKey, this.flowLevel > 0) : 'plain';
    const breaks = !ctx.simpleKey;
    // A scalar's continuation lines are indented one step deeper than its parent.
    this.increaseIndent(true, false);
    if (style === 'plain') this.writePlain(s.text, breaks);
    else if (style === 'single') this.writeSingleQuoted(s.text, breaks);
    else this.writeDoubleQuoted(s.text, breaks);
    this.popIndent();
  }

  // --- low-level writers, with libyaml's column / whitespace / indention bookkeeping

  private put(ch: string): void {
    this.out += ch;
    this.column++;
  }

  private putBreak(): void {
    this.out += '\n';
    this.column = 0;
  }

  /** A line break character inside a scalar: LF as "\n", the Unicode breaks as themselves. */
  private writeBreak(ch: string): void {
    this.out += ch === '\r' ? '\n' : ch;
    this.column = 0;
  }

  private writeIndent(): void {
    const indent = this.indent >= 0 ? this.indent : 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.putBreak();
    while (this.column < indent) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.whitespace) this.put(' ');
    for (const ch of indicator) this.put(ch);
    this.whitespace = isWhitespace;
    this.indention = this.indention && isIndention;
  }

  private writePlain(text: string, allowBreaks: boolean): void {
    const chars = [...text];
    if (!this.whitespace && chars.length > 0) this.put(' ');
    this.writeFoldable(chars, allowBreaks, false);
    this.whitespace = false;
    this.indention = false;
  }

  private writeSingleQuoted(text: string, allowBreaks: boolean): void {
    this.writeIndicator("'", true, false, false);
    if (this.writeFoldable([...text], allowBreaks, true)) this.writeIndent();
    this.writeIndicator("'", false, false, false);
    this.whitespace = false;
    this.indention = false;
  }

  /**
   * The characters of a plain or single-quoted scalar: a single space past column 80 becomes a line
   * break (in a quoted one, not the first or last character), a line break is written twice (YAML
   * folds one away), a quote is doubled. Returns whether the text ended in line breaks.
   */
  private writeFoldable(chars: string[], allowBreaks: boolean, quoted: boolean): boolean {
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i] as string;
      if (ch === ' ') {
        const inside = !quoted || (i !== 0 && i !== chars.length - 1);
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && inside && chars[i + 1] !== ' ') this.writeIndent();
        else this.put(ch);
        spaces = true;
      } else if (isBreak(ch)) {
        if (!breaks && ch === '\n') this.putBreak();
        this.writeBreak(ch);
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent();
        if (quoted && ch === "'") this.put("'");
        this.put(ch);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
    return breaks;
  }

  private writeDoubleQuoted(text: string, allowBreaks: boolean): void {
    const chars = [...text];
    this.writeIndicator('"', true, false, false);
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i] as string;
      if (!isPrintable(ch) || ch === '\uFEFF' || isBreak(ch) || ch === '"' || ch === '\\') {
        for (const c of escape(ch)) this.put(c);
        spaces = false;
      } else if (ch === ' ') {
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && i !== 0 && i !== chars.length - 1) {
          this.writeIndent();
          if (chars[i + 1] === ' ') this.put('\\');
        } else this.put(ch);
        spaces = true;
      } else {
        this.put(ch);
        spaces = false;
      }
    }
    this.writeIndicator('"', false, false, false);
    this.whitespace = false;
    this.indention = false;
  }
}

/** PyYAML's representer makes a scalar node of it (anything but a list or mapping). */
function isScalar(v: unknown): boolean {
  return !Array.isArray(v) && !isMapping(v);
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat) && !(v instanceof PyDate);
}

/** PyYAML's SafeRepresenter spelling of each value type (strings as they are). */
function scalarOf(v: unknown): Scalar {
  if (typeof v === 'string') return { text: v, isString: true };
  if (v === null || v === undefined) return { text: 'null', isString: false };
  if (v === true) return { text: 'true', isString: false };
  if (v === false) return { text: 'false', isString: false };
  if (typeof v === 'bigint') return { text: v.toString(), isString: false };
  if (typeof v === 'number') {
    return { text: Number.isInteger(v) && !Object.is(v, -0) ? String(v) : floatText(v), isString: false };
  }
  if (v instanceof PyFloat) return { text: floatText(v.value), isString: false };
  // PyYAML writes date.isoformat() and datetime.isoformat(' ').
  if (v instanceof PyDate) return { text: v.toString(), isString: false };
  return { text: String(v), isString: true };
}

/** represent_float: .nan / .inf / -.inf, else repr() lower-cased with ".0" put before a bare exponent. */
function floatText(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Infinity) return '.inf';
  if (n === -Infinity) return '-.inf';
  const r = pyFloatRepr(n).toLowerCase();
  return !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r;
}

function byCodePoint(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const x = (ca[i] as string).codePointAt(0) as number;
    const y = (cb[i] as string).codePointAt(0) as number;
    if (x !== y) return x - y;
  }
  return ca.length - cb.length;
}

function isSimpleKey(text: string): boolean {
  return !analyze(text).multiline && Buffer.byteLength(text, 'utf8') <= MAX_SIMPLE_KEY;
}

// --- scalar analysis (which styles a string allows)

interface Analysis {
  empty: boolean;
  multiline: boolean;
  blockPlain: boolean;
  flowPlain: boolean;
  singleQuoted: boolean;
}

const BREAKS = new Set(['\r', '\n', '\u0085', '\u2028', '\u2029']);

function isBreak(ch: string): boolean {
  return BREAKS.has(ch);
}

function isBlankOrEnd(ch: string | undefined): boolean {
  return ch === undefined || ch === ' ' || ch === '\t' || ch === '\0' || isBreak(ch);
}

/**
 * libyaml's printable set: LF, ASCII 0x20-0x7E, U+00A0-U+D7FF and U+E000-U+FFFD except the BOM.
 * Characters beyond the BMP are not in it, so libyaml escapes them (PyYAML's Python emitter would not).
 */
function isPrintable(ch: string): boolean {
  const c = ch.codePointAt(0) as number;
  if (c === 0x0a || (c >= 0x20 && c <= 0x7e)) return true;
  if (c >= 0xa0 && c <= 0xd7ff) return true;
  return c >= 0xe000 && c <= 0xfffd && c !== 0xfeff;
}

function analyze(text: string): Analysis {
  const chars = [...text];
  if (chars.length === 0) return { empty: true, multiline: false, blockPlain: true, flowPlain: true, singleQuoted: true };
  let blockIndicators = text.startsWith('---') || text.startsWith('...');
  let flowIndicators = blockIndicators;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const followedByWhitespace = isBlankOrEnd(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = flowIndicators = true;
      if (ch === '?' || ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '-' && followedByWhitespace) blockIndicators = flowIndicators = true;
    } else {
      if (',?[]{}'.includes(ch)) flowIndicators = true;
      if (ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '#' && precededByWhitespace) blockIndicators = flowIndicators = true;
    }
    if (!isPrintable(ch)) special = true;
    if (isBreak(ch)) lineBreaks = true;
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = isBlankOrEnd(ch);
  }
  let blockPlain = !(leadingSpace || leadingBreak || trailingSpace || trailingBreak);
  let flowPlain = blockPlain;
  let singleQuoted = true;
  if (breakSpace || spaceBreak || special) blockPlain = flowPlain = singleQuoted = false;
  if (lineBreaks) blockPlain = flowPlain = false;
  if (flowIndicators) flowPlain = false;
  if (blockIndicators) blockPlain = false;
  return { empty: false, multiline: lineBreaks, blockPlain, flowPlain, singleQuoted };
}

/** libyaml's choice for a string, in block or flow context. */
function chooseStyle(text: string, simpleKey: boolean, flow: boolean): Style {
  const a = analyze(text);
  if (simpleKey && a.multiline) return 'double';
  let style: Style = 'plain';
  if (!(flow ? a.flowPlain : a.blockPlain) || (a.empty && (simpleKey || flow)) || !resolvesToString(text)) style = 'single';
  if (style === 'single' && !a.singleQuoted) style = 'double';
  return style;
}

// --- PyYAML's implicit resolvers (YAML 1.1): a plain scalar that matches one is not a string.
// Python's `$` also matches before a final newline, hence the optional \n.

const IMPLICIT: [string, RegExp][] = [
  ['yYnNtTfFoO', /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\n?$/],
  [
    '-+0123456789.',
    /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\n?$/,
  ],
  ['-+0123456789', /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\n?$/],
  ['<', /^<<\n?$/],
  ['~nN', /^(?:~|null|Null|NULL)\n?$/],
  [
    '0123456789',
    /^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)\n?$/,
  ],
  ['=', /^=\n?$/],
];

function resolvesToString(text: string): boolean {
  if (text === '') return false; // the empty plain scalar is null
  const first = text[0] as string;
  return !IMPLICIT.some(([firsts, re]) => firsts.includes(first) && re.test(text));
}

/** A double-quoted escape: YAML's short forms, else \xXX, \uXXXX or \UXXXXXXXX (upper-case hex). */
function escape(ch: string): string {
  const c = ch.codePointAt(0) as number;
  const short: Record<number, string> = {
    0x00: '0', 0x07: 'a', 0x08: 'b', 0x09: 't', 0x0a: 'n', 0x0b: 'v', 0x0c: 'f', 0x0d: 'r', 0x1b: 'e',
    0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
  };
  const s = short[c];
  if (s !== undefined) return `\\${s}`;
  const hex = c.toString(16).toUpperCase();
  if (c <= 0xff) return `\\x${hex.padStart(2, '0')}`;
  if (c <= 0xffff) return `\\u${hex.padStart(4, '0')}`;
  return `\\U${hex.padStart(8, '0')}`;
}
