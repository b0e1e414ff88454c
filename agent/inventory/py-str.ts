/**
 * Python's str() and repr() for the values lanes holds, as `ansible-inventory --graph --vars` prints
 * them in `{name = value}` lines ("%s" % value): a string as itself, True/False/None, floats as repr
 * (8.0, inf), and containers as Python's repr ({'a': [1, 'x']}, keys in insertion order).
 */
import { PyDate, PyFloat, pyFloatRepr } from '../values/python.js';

export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof PyDate) return v.toString();
  return pyRepr(v);
}

export function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? String(v) : pyFloatRepr(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (v instanceof PyDate) return dateRepr(v);
  if (typeof v === 'string') return strRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') {
    const rec = v as Record<string, unknown>;
    return `{${Object.keys(rec)
      .map((k) => `${strRepr(k)}: ${pyRepr(rec[k])}`)
      .join(', ')}}`;
  }
  return strRepr(String(v));
}

/** repr(str): single quotes unless the text has ' and no ", escapes for what str.isprintable() rejects. */
export function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c > 0x7f && !isPrintable(ch)) {
      const hex = c.toString(16);
      out += c <= 0xff ? `\\x${hex.padStart(2, '0')}` : c <= 0xffff ? `\\u${hex.padStart(4, '0')}` : `\\U${hex.padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** Python's str.isprintable() for one character: not a control, format, surrogate, unassigned or separator (space aside). */
function isPrintable(ch: string): boolean {
  return ch === ' ' || !/[\p{C}\p{Z}]/u.test(ch);
}

/** repr(datetime.date) / repr(datetime.datetime), as PyYAML builds them from a timestamp. */
function dateRepr(d: PyDate): string {
  const [y, m, day] = d.date.split('-').map(Number) as [number, number, number];
  if (d.time === undefined) return `datetime.date(${y}, ${m}, ${day})`;
  const [hms = '', frac] = d.time.split('.');
  const [hh, mm, ss] = hms.split(':').map(Number) as [number, number, number];
  const parts = [y, m, day, hh, mm];
  const micro = frac === undefined ? 0 : Number(frac.padEnd(6, '0').slice(0, 6));
  if (ss !== 0 || micro !== 0) parts.push(ss);
  if (micro !== 0) parts.push(micro);
  const tz = d.offset === undefined ? '' : `, tzinfo=${tzRepr(d.offset)}`;
  return `datetime.datetime(${parts.join(', ')}${tz})`;
}

function tzRepr(offset: string): string {
  const sign = offset.startsWith('-') ? -1 : 1;
  const [h = 0, m = 0] = offset.slice(1).split(':').map(Number);
  const seconds = sign * (h * 3600 + m * 60);
  if (seconds === 0) return 'datetime.timezone.utc';
  // timedelta normalises to days and non-negative seconds below a day.
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  const td = days === 0 ? `seconds=${rest}` : `days=${days}, seconds=${rest}`;
  return `datetime.timezone(datetime.timedelta(${td}))`;
}
