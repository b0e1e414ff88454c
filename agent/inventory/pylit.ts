/**
 * INI inventory values go through Python's ast.literal_eval in Ansible: `port=22` is the int 22,
 * `debug=True` a boolean, `ports=80,443` the tuple (80, 443), `name='x'` the string x, and anything
 * literal_eval rejects (`true`, `yes`, `a b`, `0777`) stays the raw string. This is a small parser
 * for exactly the Python literal grammar, so lanes reads those files to the same values.
 *
 * Numbers keep their Python type and text (agent/values/python.ts): `8.0` and `1e3` are floats that
 * print 8.0 and 1000.0, integers beyond 2^53 are exact (bigint). Differences that cannot be helped
 * in JavaScript: tuples and sets become arrays, dict keys become strings (integer-like ones listed
 * first, as JavaScript orders them), and complex numbers are kept as the raw string.
 */
import { PyFloat, pyFloat, pyInt } from '../values/python.js';

/** ast.literal_eval(text), or the text itself when Python would reject it. */
export function parseIniValue(text: string): unknown {
  const r = literalEval(text);
  return r.ok ? r.value : text;
}

export type LiteralResult = { ok: true; value: unknown } | { ok: false };

class Reject extends Error {}

const NUMBER = new RegExp(
  [
    // floats: 1.5  1.  .5  1e3  1.5e-3
    String.raw`(?:[0-9](?:_?[0-9])*)?\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?`,
    String.raw`[0-9](?:_?[0-9])*\.(?:[eE][+-]?[0-9](?:_?[0-9])*)?`,
    String.raw`[0-9](?:_?[0-9])*[eE][+-]?[0-9](?:_?[0-9])*`,
    // ints
    String.raw`0[xX](?:_?[0-9a-fA-F])+`,
    String.raw`0[oO](?:_?[0-7])+`,
    String.raw`0[bB](?:_?[01])+`,
    String.raw`0+(?:_?0)*`,
    String.raw`[1-9](?:_?[0-9])*`,
  ].join('|'),
  'y',
);
const NAME = /[\p{L}_][\p{L}\p{N}_]*/uy;

export function literalEval(text: string): LiteralResult {
  try {
    const p = new Parser(text.replace(/^[ \t]+/, ''));
    const value = p.parseTop();
    return { ok: true, value };
  } catch (e) {
    if (e instanceof Reject) return { ok: false };
    throw e;
  }
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  parseTop(): unknown {
    this.ws();
    if (this.i >= this.s.length) throw new Reject();
    const first = this.parseValue();
    this.ws();
    // `1, 2` is a tuple in Python's eval mode.
    if (this.peek() === ',') {
      const items: unknown[] = [first];
      while (this.eat(',')) {
        this.ws();
        if (this.i >= this.s.length) break;
        items.push(this.parseValue());
        this.ws();
      }
      this.end();
      return items;
    }
    this.end();
    return first;
  }

  private end(): void {
    this.ws();
    if (this.i < this.s.length) throw new Reject();
  }

  /** Skip blanks and a trailing `# comment`, which Python's parser allows. */
  private ws(): void {
    while (this.i < this.s.length) {
      const c = this.s[this.i] as string;
      if (c === ' ' || c === '\t' || c === '\f') this.i += 1;
      else if (c === '#') this.i = this.s.length;
      else break;
    }
  }

  private peek(): string {
    return this.s[this.i] ?? '';
  }

  private eat(c: string): boolean {
    if (this.s[this.i] === c) {
      this.i += 1;
      return true;
    }
    return false;
  }

  private parseValue(): unknown {
    this.ws();
    const c = this.peek();
    if (c === '+' || c === '-') {
      // literal_eval allows one sign, on a number only.
      this.i += 1;
      this.ws();
      const n = this.parseNumber();
      if (n === undefined) throw new Reject();
      if (typeof n === 'bigint') return pyInt(c === '-' ? -n : n);
      return pyFloat(c === '-' ? -n : n);
    }
    if (c === '[') return this.parseSeq('[', ']');
    if (c === '(') return this.parseParen();
    if (c === '{') return this.parseBrace();
    const n = this.parseNumber();
    if (n !== undefined) return typeof n === 'bigint' ? pyInt(n) : pyFloat(n);
    const str = this.parseStrings();
    if (str !== undefined) return str;
    NAME.lastIndex = this.i;
    const m = NAME.exec(this.s);
    if (m) {
      this.i += m[0].length;
      if (m[0] === 'True') return true;
      if (m[0] === 'False') return false;
      if (m[0] === 'None') return null;
    }
    throw new Reject();
  }

  private parseSeq(open: string, close: string): unknown[] {
    this.eat(open);
    const items: unknown[] = [];
    this.ws();
    while (!this.eat(close)) {
      items.push(this.parseValue());
      this.ws();
      if (this.eat(close)) break;
      if (!this.eat(',')) throw new Reject();
      this.ws();
    }
    return items;
  }

  private parseParen(): unknown {
    this.eat('(');
    this.ws();
    if (this.eat(')')) return [];
    const first = this.parseValue();
    this.ws();
    if (this.eat(')')) return first; // (x) is x, not a tuple
    if (!this.eat(',')) throw new Reject();
    const items: unknown[] = [first];
    this.ws();
    while (!this.eat(')')) {
      items.push(this.parseValue());
      this.ws();
      if (this.eat(')')) break;
      if (!this.eat(',')) throw new Reject();
      this.ws();
    }
    return items;
  }

  private parseBrace(): unknown {
    this.eat('{');
    this.ws();
    if (this.eat('}')) return {};
    const firstKey = this.parseValue();
    this.ws();
    if (!this.eat(':')) {
      // a set literal
      const items: unknown[] = [firstKey];
      this.ws();
      while (this.eat(',')) {
        this.ws();
        if (this.peek() === '}') break;
        items.push(this.parseValue());
        this.ws();
      }
      if (!this.eat('}')) throw new Reject();
      return [...new Set(items)];
    }
    const out: Record<string, unknown> = {};
    let key: unknown = firstKey;
    for (;;) {
      // Lists and dicts are unhashable; a float key (1.0) is fine.
      if (Array.isArray(key) || (typeof key === 'object' && key !== null && !(key instanceof PyFloat))) throw new Reject();
      out[keyString(key)] = this.parseValue();
      this.ws();
      if (this.eat('}')) return out;
      if (!this.eat(',')) throw new Reject();
      this.ws();
      if (this.eat('}')) return out;
      key = this.parseValue();
      this.ws();
      if (!this.eat(':')) throw new Reject();
    }
  }

  /** A number token (an int as bigint, a float as number), or undefined if none starts here. Rejects `0777`, `1abc`, `2j`. */
  private parseNumber(): bigint | number | undefined {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) return undefined;
    const text = m[0];
    const next = this.s[this.i + text.length] ?? '';
    // A number glued to a letter, digit or dot is a syntax error in Python (`0777`, `1abc`, `2j`).
    if (/[\p{L}\p{N}_.]/u.test(next)) throw new Reject();
    this.i += text.length;
    const clean = text.replace(/_/g, '');
    if (/^0[xXoObB]/.test(clean) || /^[0-9]+$/.test(clean)) return BigInt(clean.replace(/^0[oO]/, '0o').replace(/^0[xX]/, '0x').replace(/^0[bB]/, '0b'));
    return Number(clean);
  }

  /** One or more adjacent string literals, concatenated as Python does. */
  private parseStrings(): string | undefined {
    let out: string | undefined;
    let kind: 'str' | 'bytes' | undefined;
    for (;;) {
      const save = this.i;
      const lit = this.parseString();
      if (lit === undefined) {
        this.i = save;
        break;
      }
      if (kind !== undefined && kind !== lit.kind) throw new Reject(); // cannot mix bytes and str
      kind = lit.kind;
      out = (out ?? '') + lit.value;
      this.ws();
    }
    return out;
  }

  private parseString(): { value: string; kind: 'str' | 'bytes' } | undefined {
    const m = /([rRbBuU]{0,2})(['"])/y;
    m.lastIndex = this.i;
    const pm = m.exec(this.s);
    if (!pm) return undefined;
    const prefix = (pm[1] as string).toLowerCase();
    if (!['', 'r', 'u', 'b', 'br', 'rb'].includes(prefix)) throw new Reject();
    const raw = prefix.includes('r');
    const kind = prefix.includes('b') ? 'bytes' : 'str';
    const q = pm[2] as string;
    this.i += pm[0].length;
    const triple = this.s.startsWith(q + q, this.i);
    if (triple) this.i += 2;
    const closer = triple ? q.repeat(3) : q;
    let value = '';
    for (;;) {
      if (this.i >= this.s.length) throw new Reject(); // unterminated
      if (this.s.startsWith(closer, this.i)) {
        this.i += closer.length;
        return { value, kind };
      }
      const c = this.s[this.i] as string;
      if (c === '\n' && !triple) throw new Reject();
      if (c !== '\\') {
        value += c;
        this.i += 1;
        continue;
      }
      const n = this.s[this.i + 1];
      if (n === undefined) throw new Reject();
      if (raw) {
        // In raw strings the backslash stays, but still keeps the next quote from closing.
        value += c + n;
        this.i += 2;
        continue;
      }
      this.i += 2;
      value += this.escape(n, kind);
    }
  }

  private escape(n: string, kind: 'str' | 'bytes'): string {
    const simple: Record<string, string> = {
      '\n': '',
      '\\': '\\',
      "'": "'",
      '"': '"',
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
    };
    if (n in simple) return simple[n] as string;
    if (/[0-7]/.test(n)) {
      let digits = n;
      while (digits.length < 3 && /[0-7]/.test(this.s[this.i] ?? '')) {
        digits += this.s[this.i];
        this.i += 1;
      }
      return String.fromCodePoint(Number.parseInt(digits, 8));
    }
    const hexLen = n === 'x' ? 2 : kind === 'str' && n === 'u' ? 4 : kind === 'str' && n === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = this.s.slice(this.i, this.i + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) throw new Reject();
      this.i += hexLen;
      const cp = Number.parseInt(hex, 16);
      if (cp > 0x10ffff) throw new Reject();
      return String.fromCodePoint(cp);
    }
    if (n === 'N' && kind === 'str') throw new Reject(); // named escapes need Unicode's name table
    // Unknown escapes keep their backslash.
    return `\\${n}`;
  }
}

/** How Python's json.dumps writes a non-string dict key. */
function keyString(key: unknown): string {
  if (key === null) return 'null';
  if (key === true) return 'true';
  if (key === false) return 'false';
  return String(key);
}
