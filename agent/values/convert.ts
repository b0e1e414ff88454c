/**
 * Python's number conversions as Jinja2's filters use them: float(), int(), round(). Results keep
 * Python's types (python.ts): float('8') is the float 8.0, int('12345678901234567890') exact.
 */
import { PyFloat, pyFloat, pyInt } from './python.js';
import { pyNumber } from './arith.js';

const FLOAT_TEXT = /^[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;
const INT_TEXT = /^[+-]?[0-9](?:_?[0-9])*$/;

/** Python's float(v), or undefined where Python raises (TypeError, ValueError). */
export function toPyFloat(v: unknown): number | PyFloat | undefined {
  const n = pyNumber(v);
  if (n !== undefined) return pyFloat('int' in n ? Number(n.int) : n.float);
  if (typeof v !== 'string' && !(v instanceof String)) return undefined;
  const s = String(v).trim();
  const sp = SPECIAL.exec(s);
  if (sp) return pyFloat((sp[2] as string).toLowerCase() === 'nan' ? NaN : sp[1] === '-' ? -Infinity : Infinity);
  if (!FLOAT_TEXT.test(s)) return undefined;
  return pyFloat(Number(s.replace(/_/g, '')));
}

/** Python's int(v) (base 10 for strings), or undefined where Python raises. */
export function toPyInt(v: unknown): number | bigint | undefined {
  const n = pyNumber(v);
  if (n !== undefined) {
    if ('int' in n) return pyInt(n.int);
    return Number.isFinite(n.float) ? pyInt(BigInt(Math.trunc(n.float))) : undefined;
  }
  if (typeof v !== 'string' && !(v instanceof String)) return undefined;
  const s = String(v).trim();
  return INT_TEXT.test(s) ? pyInt(BigInt(s.replace(/_/g, ''))) : undefined;
}

/**
 * Python's round(x, ndigits): an int stays the int; a float is rounded to the nearest value with
 * that many decimals, an exact tie to the even one (round(2.5) is 2.0), and stays a float.
 */
export function pyRound(v: unknown, ndigits: number): unknown {
  const n = pyNumber(v);
  if (n === undefined) return undefined;
  if ('int' in n) {
    if (ndigits >= 0) return pyInt(n.int);
    const unit = 10n ** BigInt(-ndigits);
    const q = n.int / unit;
    const r = n.int - q * unit;
    const twice = 2n * (r < 0n ? -r : r);
    const away = twice > unit || (twice === unit && q % 2n !== 0n);
    return pyInt((away ? q + (n.int < 0n ? -1n : 1n) : q) * unit);
  }
  const x = n.float;
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21 || ndigits > 100) return pyFloat(x);
  if (ndigits < 0) {
    const unit = 10 ** -ndigits;
    return pyFloat(roundHalfEven(x / unit, 0) * unit);
  }
  return pyFloat(roundHalfEven(x, ndigits));
}

/** x rounded to `digits` decimals, exact ties to even, using the exact decimal expansion of x. */
function roundHalfEven(x: number, digits: number): number {
  const a = Math.abs(x);
  const exact = a.toFixed(100); // toFixed is exact: the decimal digits of the double itself
  const [whole = '0', frac = ''] = exact.split('.');
  const tie = frac[digits] === '5' && /^0*$/.test(frac.slice(digits + 1));
  let text: string;
  if (tie) {
    const kept = whole + frac.slice(0, digits);
    const last = Number(kept[kept.length - 1]);
    text = last % 2 === 0 ? `${whole}.${frac.slice(0, digits)}` : a.toFixed(digits);
  } else text = a.toFixed(digits);
  const r = Number(text);
  return x < 0 || Object.is(x, -0) ? -r : r;
}
