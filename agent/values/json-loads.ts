/**
 * Python's json.loads for the values lanes holds: numbers with a fraction or exponent are floats
 * (1e3 is 1000.0, kept as a PyFloat where its text differs), integers are exact at any size,
 * NaN / Infinity / -Infinity are accepted, a repeated key keeps its last value. Used where JSON
 * is read without YAML positions (from_json, and JSON the YAML parser cannot place).
 */
import { pyFloat, pyInt } from './python.js';

export class JsonLoadsError extends Error {}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in strings
const STRING = /"((?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*)"/y;
const WS = /[ \t\n\r]*/y;

export function pyJsonLoads(text: string): unknown {
  let i = 0;
  const ws = (): void => {
    WS.lastIndex = i;
    WS.exec(text);
    i = WS.lastIndex;
  };
  const fail = (what: string): never => {
    throw new JsonLoadsError(`${what} at character ${i}`);
  };
  const value = (depth: number): unknown => {
    if (depth > 512) fail('nested too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      const out: Record<string, unknown> = {};
      ws();
      if (text[i] === '}') {
        i += 1;
        return out;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a property name');
        const k = str();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i += 1;
        Object.defineProperty(out, k, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          return out;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i += 1;
      const out: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i += 1;
        return out;
      }
      for (;;) {
        out.push(value(depth + 1));
        ws();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return out;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null], ['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return typeof v === 'number' ? pyFloat(v) : v;
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('expected a value');
    i = NUMBER.lastIndex;
    return m[1] === undefined && m[2] === undefined ? pyInt(m[0]) : pyFloat(Number(m[0]));
  };
  const str = (): string => {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) return fail('invalid string');
    i = STRING.lastIndex;
    return JSON.parse(m[0]) as string;
  };
  const out = value(0);
  ws();
  if (i < text.length) fail('extra data');
  return out;
}
