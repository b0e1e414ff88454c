/**
 * Arithmetic and comparison in templates as Jinja2 (Python) does it, over the values of python.ts:
 * int op int stays an exact int (bigint beyond 2^53), anything with a float is a float (8.0 + 1 is
 * 9.0), `/` is always a float division (10 / 5 is 2.0), `//` and `%` floor as Python does, and a
 * division by zero is an error rather than Infinity. Strings and lists: `+` joins them, `*` repeats.
 */
import { PyFloat, pyFloat, pyInt, pyStr } from './python.js';

export type ArithOp = '+' | '-' | '*' | '/' | '//' | '%' | '**';

type Num = { int: bigint } | { float: number };

/** Python's view of a number: int (plain integers, bigint, booleans) or float (PyFloat, other numbers). */
export function pyNumber(v: unknown): Num | undefined {
  if (v instanceof PyFloat) return { float: v.value };
  if (typeof v === 'bigint') return { int: v };
  if (typeof v === 'boolean') return { int: v ? 1n : 0n };
  if (typeof v === 'number') return Number.isInteger(v) ? { int: BigInt(v) } : { float: v };
  return undefined;
}

const asFloat = (n: Num): number => ('int' in n ? Number(n.int) : n.float);

/** Results past this many bits are refused (2 ** 10000000 would take the process's memory). */
const MAX_INT_BITS = 65536;

export class ArithError extends Error {}

export function pyArith(op: ArithOp, a: unknown, b: unknown): unknown {
  const x = pyNumber(a);
  const y = pyNumber(b);
  if (x === undefined || y === undefined) return nonNumeric(op, a, b);
  if ('int' in x && 'int' in y) return intArith(op, x.int, y.int);
  const p = asFloat(x);
  const q = asFloat(y);
  switch (op) {
    case '+':
      return pyFloat(p + q);
    case '-':
      return pyFloat(p - q);
    case '*':
      return pyFloat(p * q);
    case '/':
      if (q === 0) throw new ArithError('float division by zero');
      return pyFloat(p / q);
    case '//':
      if (q === 0) throw new ArithError('float floor division by zero');
      return pyFloat(Math.floor(p / q));
    case '%': {
      if (q === 0) throw new ArithError('float modulo');
      let r = p % q;
      if (r !== 0 && r < 0 !== q < 0) r += q;
      return pyFloat(r);
    }
    case '**':
      return pyFloat(p ** q);
  }
}

function intArith(op: ArithOp, p: bigint, q: bigint): unknown {
  switch (op) {
    case '+':
      return pyInt(p + q);
    case '-':
      return pyInt(p - q);
    case '*':
      return pyInt(p * q);
    case '/':
      if (q === 0n) throw new ArithError('division by zero');
      return pyFloat(Number(p) / Number(q));
    case '//': {
      if (q === 0n) throw new ArithError('integer division or modulo by zero');
      const d = p / q;
      return pyInt(d * q !== p && p < 0n !== q < 0n ? d - 1n : d);
    }
    case '%': {
      if (q === 0n) throw new ArithError('integer division or modulo by zero');
      const r = p % q;
      return pyInt(r !== 0n && r < 0n !== q < 0n ? r + q : r);
    }
    case '**': {
      if (q < 0n) return pyFloat(Number(p) ** Number(q));
      const bits = p === 0n || p === 1n || p === -1n ? 1 : p.toString(2).length * Number(q);
      if (bits > MAX_INT_BITS) throw new ArithError(`the power would have more than ${MAX_INT_BITS} bits`);
      return pyInt(p ** q);
    }
  }
}

function nonNumeric(op: ArithOp, a: unknown, b: unknown): unknown {
  if (op === '+' && Array.isArray(a) && Array.isArray(b)) return [...(a as unknown[]), ...(b as unknown[])];
  if (op === '*') {
    const [s, n] = typeof a === 'string' || Array.isArray(a) ? [a, pyNumber(b)] : [b, pyNumber(a)];
    if ((typeof s === 'string' || Array.isArray(s)) && n !== undefined && 'int' in n) {
      const times = Math.max(0, Number(n.int));
      return typeof s === 'string' ? s.repeat(times) : Array.from({ length: times }, () => s as unknown[]).flat(1);
    }
  }
  if (op === '+') return pyStr(a) + pyStr(b);
  // Anything else as JavaScript would (nunjucks' own behaviour).
  const p = Number(a);
  const q = Number(b);
  return op === '-' ? p - q : op === '*' ? p * q : op === '/' ? p / q : op === '//' ? Math.floor(p / q) : op === '%' ? p % q : p ** q;
}

/** Unary minus. */
export function pyNeg(a: unknown): unknown {
  const x = pyNumber(a);
  if (x === undefined) return -Number(a);
  return 'int' in x ? pyInt(-x.int) : pyFloat(-x.float);
}

export type CompareOp = '==' | '===' | '!=' | '!==' | '<' | '>' | '<=' | '>=';

/** A comparison with numbers compared by value whatever their kind (8.0 == 8, a bigint with a float). */
export function pyCompare(a: unknown, op: CompareOp, b: unknown): boolean {
  const x = pyNumber(a);
  const y = pyNumber(b);
  const p = x === undefined ? a : 'int' in x ? x.int : x.float;
  const q = y === undefined ? b : 'int' in y ? y.int : y.float;
  // Loose equality as nunjucks compiles `==`; strict for numbers of different kinds still compares values.
  switch (op) {
    case '==':
      return x !== undefined && y !== undefined ? p == q : a == b;
    case '===':
      return x !== undefined && y !== undefined ? p == q : a === b;
    case '!=':
      return x !== undefined && y !== undefined ? p != q : a != b;
    case '!==':
      return x !== undefined && y !== undefined ? p != q : a !== b;
    case '<':
      return (p as number) < (q as number);
    case '>':
      return (p as number) > (q as number);
    case '<=':
      return (p as number) <= (q as number);
    case '>=':
      return (p as number) >= (q as number);
  }
}
