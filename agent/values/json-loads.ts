/**
 * Python's json.loads, the one JSON reader of lanes: inventory scripts' and plugins' output (as
 * Ansible reads it), JSON vars files, -e, and the from_json filter. `8.0` and `1e3` stay floats
 * (PyFloat where JavaScript would print them differently), integers beyond 2^53 stay exact (bigint),
 * NaN/Infinity/-Infinity are accepted, and a repeated key keeps its last value at the place of the
 * first. JSON.parse would turn `8.0` into 8, so the text is parsed here. Errors carry Python's
 * message ("Expecting value") with its line, column and character offset.
 */
import { pyFloat, pyInt } from './python.js';

export class JsonLoadsError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
    /** The offset in the text (Python's "char"). */
    readonly pos: number,
  ) {
    super(message);
  }

  /** The whole text of Python's JSONDecodeError: "Expecting value: line 1 column 1 (char 0)". */
  get pythonMessage(): string {
    return `${this.message}: line ${this.line} column ${this.column} (char ${this.pos})`;
  }
}

/** Deeper nesting than this is refused rather than risking the stack (Python's own limit is ~1000). */
const MAX_DEPTH = 500;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const WS = /[ \t\n\r]*/y;
// The characters of a string up to its next quote, backslash or control character.
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in strings; they end a run
const STRING_RUN = /[^"\\\u0000-\u001f]*/y;

export function pyJsonLoads(text: string): unknown {
  let pos = 0;

  const fail = (message: string, at = pos): never => {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i += 1) {
      if (text.charCodeAt(i) === 10) {
        line += 1;
        lineStart = i + 1;
      }
    }
    throw new JsonLoadsError(message, line, at - lineStart + 1, at);
  };
  const skip = (): void => {
    WS.lastIndex = pos;
    WS.exec(text);
    pos = WS.lastIndex;
  };

  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    skip();
    const c = text[pos];
    if (c === '{') return object(depth);
    if (c === '[') return array(depth);
    if (c === '"') return string();
    for (const [word, v] of WORDS) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m) {
      pos = NUMBER.lastIndex;
      return jsonNumber(m[0]);
    }
    return fail('Expecting value');
  };

  /** The items of an object or array up to its closing bracket, with Python's comma errors. */
  const items = (close: string, item: () => void): void => {
    pos += 1;
    skip();
    if (text[pos] === close) {
      pos += 1;
      return;
    }
    for (;;) {
      item();
      skip();
      if (text[pos] === close) {
        pos += 1;
        return;
      }
      if (text[pos] !== ',') fail("Expecting ',' delimiter");
      pos += 1;
    }
  };

  const object = (depth: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    items('}', () => {
      skip();
      if (text[pos] !== '"') fail('Expecting property name enclosed in double quotes');
      const key = string();
      skip();
      if (text[pos] !== ':') fail("Expecting ':' delimiter");
      pos += 1;
      // A repeated key: Python's dict keeps the last value at the place of the first. defineProperty
      // makes "__proto__" an ordinary key.
      Object.defineProperty(out, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
    });
    return out;
  };

  const array = (depth: number): unknown[] => {
    const out: unknown[] = [];
    items(']', () => out.push(value(depth + 1)));
    return out;
  };

  const string = (): string => {
    const start = pos;
    pos += 1;
    let out = '';
    for (;;) {
      STRING_RUN.lastIndex = pos;
      STRING_RUN.exec(text);
      out += text.slice(pos, STRING_RUN.lastIndex);
      pos = STRING_RUN.lastIndex;
      if (pos >= text.length) fail('Unterminated string starting at', start);
      const c = text[pos];
      if (c === '"') {
        pos += 1;
        return out;
      }
      if (c !== '\\') fail('Invalid control character at');
      const e = text[pos + 1];
      if (e === 'u') {
        const hex = text.slice(pos + 2, pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('Invalid \\uXXXX escape', pos + 1);
        out += String.fromCharCode(Number.parseInt(hex, 16));
        pos += 6;
        continue;
      }
      const simple = ESCAPES[e ?? ''];
      if (simple === undefined) fail('Invalid \\escape', pos);
      out += simple;
      pos += 2;
    }
  };

  const result = value(0);
  skip();
  if (pos < text.length) fail('Extra data');
  return result;
}

const WORDS: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['false', false],
  ['NaN', pyFloat(NaN)],
  ['Infinity', pyFloat(Infinity)],
  ['-Infinity', pyFloat(-Infinity)],
];

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** A JSON number's value as Python's json module makes it: a float with "." or an exponent, else an int. */
export function jsonNumber(text: string): unknown {
  return /[.eE]/.test(text) ? pyFloat(Number(text)) : pyInt(text);
}

/** The whole text is a JSON number, or one of Python's NaN / Infinity / -Infinity. */
export function isJsonNumberText(text: string): boolean {
  NUMBER.lastIndex = 0;
  const m = NUMBER.exec(text);
  return (m !== null && m[0] === text) || text === 'NaN' || text === 'Infinity' || text === '-Infinity';
}

/** jsonNumber, and Python's non-finite extensions. */
export function jsonNumberValue(text: string): unknown {
  if (text === 'NaN') return pyFloat(NaN);
  if (text === 'Infinity') return pyFloat(Infinity);
  if (text === '-Infinity') return pyFloat(-Infinity);
  return jsonNumber(text);
}
