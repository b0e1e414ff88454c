/**
 * Values exactly as Ansible (Python) holds them, where JavaScript's own types would change their text.
 *
 * A team's inventory says `php_version: 8.0` and its templates build `/etc/php/{{ php_version }}/fpm`:
 * Python keeps the float 8.0 and prints "8.0", JavaScript's number prints "8". So every value that
 * Python would print differently keeps its Python type here:
 *
 *   - PyFloat: a float whose Python text differs from JavaScript's (8.0, 1e+16, 1e-05, inf, nan, -0.0).
 *     Floats that print the same (1.5) stay plain numbers, so nearly all code sees plain numbers.
 *   - bigint: an integer beyond 2^53, which a JavaScript number cannot hold exactly.
 *   - PyDate: a YAML timestamp (PyYAML makes a datetime.date or datetime.datetime of it).
 *
 * All three compare and calculate as numbers (valueOf), print as Python prints them (toString), and
 * `plainValue` turns a whole structure back into plain JSON values where a schema needs them.
 */

/** A Python float whose repr() differs from JavaScript's String(). */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return pyFloatRepr(this.value);
  }
  /** JSON.stringify cannot write 8.0; the Python-exact writer is pyJsonDumps. This keeps JSON valid. */
  toJSON(): number | string {
    return Number.isFinite(this.value) ? this.value : pyFloatRepr(this.value);
  }
}

/** A float from a parser: a plain number when Python prints it the same, a PyFloat otherwise. */
export function pyFloat(n: number): number | PyFloat {
  return pyFloatRepr(n) === String(n) ? n : new PyFloat(n);
}

/** An integer from a parser, given as its decimal digits (with sign): a number when exact, else bigint. */
export function pyInt(digits: string | bigint): number | bigint {
  const b = typeof digits === 'bigint' ? digits : BigInt(digits);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(b) : b;
}

/**
 * Python's repr(float): the shortest digits that read back to the same double (as JavaScript), laid out
 * in fixed notation when the decimal exponent is in [-4, 16), with ".0" added to whole numbers, and in
 * exponent notation otherwise with a signed, two-digit-minimum exponent (1e+16, 1.5e-05).
 */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  const sign = n < 0 || Object.is(n, -0) ? '-' : '';
  const a = Math.abs(n);
  if (a === 0) return `${sign}0.0`;
  const [mant = '', expText = '0'] = a.toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expText); // a = 0.d1d2… × 10^(exp+1)
  const decpt = exp + 1;
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`;
}

/**
 * A YAML timestamp as PyYAML constructs it: a date (`2001-12-14`) or a datetime, naive or with a UTC
 * offset. Python prints a date as 2001-12-14 and a datetime as `2001-12-14 21:59:43.100000-05:00`
 * (str), while ansible-inventory's JSON writes isoformat() (a "T" between date and time).
 */
export class PyDate {
  constructor(
    /** YYYY-MM-DD */
    readonly date: string,
    /** HH:MM:SS with ".ffffff" when there are microseconds; undefined for a plain date. */
    readonly time?: string,
    /** "+HH:MM" / "-HH:MM" when the timestamp had a zone (Z is +00:00); undefined when naive. */
    readonly offset?: string,
  ) {}
  /** Python's str(): what a template prints. */
  toString(): string {
    return this.time === undefined ? this.date : `${this.date} ${this.time}${this.offset ?? ''}`;
  }
  /** Python's isoformat(): what ansible-inventory's JSON and to_json print. */
  isoformat(): string {
    return this.time === undefined ? this.date : `${this.date}T${this.time}${this.offset ?? ''}`;
  }
  toJSON(): string {
    return this.isoformat();
  }
  /** Seconds since the epoch (naive times as UTC), so comparisons work. */
  valueOf(): number {
    return Date.parse(this.time === undefined ? `${this.date}T00:00:00Z` : `${this.date}T${this.time}${this.offset ?? 'Z'}`) / 1000;
  }
}

/** True for the values this module adds (not plain JSON). */
export function isPyValue(v: unknown): v is PyFloat | PyDate | bigint {
  return v instanceof PyFloat || v instanceof PyDate || typeof v === 'bigint';
}

/**
 * The same structure with only plain JSON values, for schemas and for code that wants numbers:
 * PyFloat becomes its number, bigint its decimal text, PyDate its isoformat(). Shares what it can.
 */
export function plainValue(v: unknown): unknown {
  if (v instanceof PyFloat) return v.value;
  if (v instanceof PyDate) return v.isoformat();
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    v.forEach((item, i) => {
      const p = plainValue(item);
      if (p !== item) (out ??= [...v])[i] = p;
    });
    return out ?? v;
  }
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(v)) {
      const item = (v as Record<string, unknown>)[k];
      const p = plainValue(item);
      if (p !== item) {
        out ??= copyOwn(v as Record<string, unknown>);
        Object.defineProperty(out, k, { value: p, enumerable: true, writable: true, configurable: true });
      }
    }
    return out ?? v;
  }
  return v;
}

function copyOwn(v: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: v[k], enumerable: true, writable: true, configurable: true });
  return out;
}

export interface PyJsonOptions {
  /** Spaces per level; undefined writes one line with Python's ", " and ": " separators. */
  indent?: number;
  /** Python's sort_keys=True: keys ordered by code point at every level. */
  sortKeys?: boolean;
  /** Python's ensure_ascii (default True in json.dumps; ansible-inventory passes False). */
  ensureAscii?: boolean;
}

/**
 * Python's json.dumps for the values lanes holds: floats as repr() (8.0, Infinity, NaN), big integers
 * exactly, dates as isoformat() (Ansible's JSON encoder), keys as strings, and Python's separators.
 */
export function pyJsonDumps(value: unknown, opts: PyJsonOptions = {}): string {
  const ensureAscii = opts.ensureAscii ?? true;
  const itemSep = opts.indent === undefined ? ', ' : ',';
  const write = (v: unknown, depth: number): string => {
    if (v === null || v === undefined) return 'null';
    if (v === true) return 'true';
    if (v === false) return 'false';
    if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? String(v) : floatJson(v);
    if (v instanceof PyFloat) return floatJson(v.value);
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof PyDate) return jsonString(v.isoformat(), ensureAscii);
    if (typeof v === 'string') return jsonString(v, ensureAscii);
    const nl = opts.indent === undefined ? '' : `\n${' '.repeat(opts.indent * (depth + 1))}`;
    const close = opts.indent === undefined ? '' : `\n${' '.repeat(opts.indent * depth)}`;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return `[${v.map((x) => nl + write(x, depth + 1)).join(itemSep)}${close}]`;
    }
    if (typeof v === 'object') {
      const rec = v as Record<string, unknown>;
      let keys = Object.keys(rec);
      if (keys.length === 0) return '{}';
      if (opts.sortKeys) keys = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${keys.map((k) => `${nl}${jsonString(k, ensureAscii)}: ${write(rec[k], depth + 1)}`).join(itemSep)}${close}}`;
    }
    return jsonString(String(v), ensureAscii);
  };
  return write(value, 0);
}

function floatJson(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  return pyFloatRepr(n);
}

/** A JSON string as Python writes it: \" \\ \n \r \t \b \f, other controls as \u00XX; non-ASCII too when ensureAscii. */
function jsonString(s: string, ensureAscii: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || (ensureAscii && c > 0x7e)) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/**
 * Python's str() of a value, as Jinja2 prints it and as `ansible-inventory --graph --vars` prints
 * `{name = value}` ("%s" % value): True/False/None, floats as repr (8.0, inf), lists and dicts as
 * their repr ([1.0, 'a'], {'a': None}, keys in insertion order), dates as str(). Strings are
 * themselves; undefined (a template's missing value) is empty.
 */
export function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  if (Array.isArray(v) || isPlainRecord(v)) return pyRepr(v);
  return scalarText(v) ?? String(v);
}

/** Python's repr(): strings quoted as Python quotes them, containers recursively, dates as datetime(...). */
export function pyRepr(v: unknown): string {
  if (typeof v === 'string') return pyStrRepr(v);
  if (v instanceof PyDate) return dateRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isPlainRecord(v)) return `{${Object.keys(v).map((k) => `${pyStrRepr(k)}: ${pyRepr(v[k])}`).join(', ')}}`;
  if (v === undefined) return 'None';
  return scalarText(v) ?? pyStrRepr(String(v));
}

function scalarText(v: unknown): string | undefined {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? String(v) : pyFloatRepr(v);
  if (typeof v === 'bigint' || v instanceof PyFloat || v instanceof PyDate) return v.toString();
  return undefined;
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * repr() of a str: single quotes unless the text has ' and no ", and escapes for what
 * str.isprintable() rejects (\t \n \r, \xNN, \uNNNN, \UNNNNNNNN); checked against Python's reprs.
 */
export function pyStrRepr(s: string): string {
  const q = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = q;
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === q || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c > 0x7f && !isPrintable(ch)) {
      const hex = c.toString(16);
      out += c <= 0xff ? `\\x${hex.padStart(2, '0')}` : c <= 0xffff ? `\\u${hex.padStart(4, '0')}` : `\\U${hex.padStart(8, '0')}`;
    } else out += ch;
  }
  return out + q;
}

/** Python's str.isprintable() for one character: not a control, format, surrogate, unassigned or separator (space aside). */
function isPrintable(ch: string): boolean {
  return ch === ' ' || !/[\p{C}\p{Z}]/u.test(ch);
}

/** repr() of a date/datetime as Python writes it: datetime.date(2001, 1, 1), datetime.datetime(…, tzinfo=…). */
function dateRepr(d: PyDate): string {
  const [y, mo, da] = d.date.split('-').map(Number) as [number, number, number];
  if (d.time === undefined) return `datetime.date(${y}, ${mo}, ${da})`;
  const [hms = '', frac = ''] = d.time.split('.');
  const [h, mi, s] = hms.split(':').map(Number) as [number, number, number];
  const us = frac === '' ? 0 : Number(frac.padEnd(6, '0'));
  const parts = [y, mo, da, h, mi];
  if (s !== 0 || us !== 0) parts.push(s);
  if (us !== 0) parts.push(us);
  let tz = '';
  if (d.offset !== undefined) {
    const m = /^([+-])(\d\d):(\d\d)$/.exec(d.offset);
    const secs = m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3]) * 60) : 0;
    if (secs === 0) tz = ', tzinfo=datetime.timezone.utc';
    else {
      const days = Math.floor(secs / 86400);
      const rest = secs - days * 86400;
      tz = `, tzinfo=datetime.timezone(datetime.timedelta(${days !== 0 ? `days=${days}, ` : ''}seconds=${rest}))`;
    }
  }
  return `datetime.datetime(${parts.join(', ')}${tz})`;
}

/**
 * A YAML timestamp's text as PyYAML's constructor reads it: a date, or a datetime with its
 * fraction cut to microseconds and its zone as an offset (Z is +00:00); undefined when the text is
 * not a timestamp.
 */
export function pyDateFromYaml(text: string): PyDate | undefined {
  const m =
    /^(\d{4})-(\d\d?)-(\d\d?)(?:(?:[Tt]|[ \t]+)(\d\d?):(\d\d):(\d\d)(?:\.(\d*))?(?:[ \t]*(Z|([-+])(\d\d?)(?::(\d\d))?))?)?$/.exec(text);
  if (!m) return undefined;
  const two = (s: string | undefined): string => (s ?? '0').padStart(2, '0');
  const date = `${m[1] as string}-${two(m[2])}-${two(m[3])}`;
  if (m[4] === undefined) return new PyDate(date);
  const frac = (m[7] ?? '').slice(0, 6).padEnd(6, '0');
  const time = `${two(m[4])}:${m[5] as string}:${m[6] as string}${/^0*$/.test(frac) ? '' : `.${frac}`}`;
  let offset: string | undefined;
  if (m[8] === 'Z') offset = '+00:00';
  else if (m[8] !== undefined) offset = `${m[9] as string}${two(m[10])}:${two(m[11])}`;
  return new PyDate(date, time, offset);
}
