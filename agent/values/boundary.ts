/**
 * Python values at the edge of lanes' own data (resource schemas, plans, reports): a schema sees
 * plain JSON values only. A field that takes text gets Python's str() of a value, as an Ansible
 * module given `"{{ php_version }}"` does (8.0 → "8.0", a big int → its digits, a date → str());
 * a field that takes a number gets the number (see `schemaInputs`).
 */
import { PyDate, PyFloat, isPyValue, plainValue } from './python.js';

/** The structure with every Python value as its str() text (strings everywhere JSON cannot say it). */
export function textValue(v: unknown): unknown {
  if (v instanceof PyFloat || v instanceof PyDate || typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(textValue);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: textValue((v as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** Whether the structure holds a Python value anywhere. */
export function holdsPyValue(v: unknown): boolean {
  if (isPyValue(v)) return true;
  if (Array.isArray(v)) return v.some(holdsPyValue);
  if (v !== null && typeof v === 'object') return Object.values(v).some(holdsPyValue);
  return false;
}

/**
 * Validate `spec` with `parse`: first with Python values as text; where that fails at a place that
 * held a Python value, once more with the plain number there (a count given 4.0 is 4). Plain specs
 * are parsed as they are.
 */
export function parseWithPyValues<R extends { success: boolean; error?: { issues: { path: PropertyKey[]; code?: string }[] } }>(
  spec: unknown,
  parse: (input: unknown) => R,
): { result: R; input: unknown } {
  if (!holdsPyValue(spec)) return { result: parse(spec), input: spec };
  const text = textValue(spec);
  const first = parse(text);
  if (first.success || !first.error) return { result: first, input: text };
  let retry = text;
  let changed = false;
  for (const issue of first.error.issues) {
    // Only a value of the wrong kind is given again as a number (a bad name stays a bad name).
    if (issue.code !== 'invalid_type' && issue.code !== 'invalid_union') continue;
    // A union's issue may name the field or a place inside it: the nearest Python value on the way.
    for (let n = issue.path.length; n >= 0; n -= 1) {
      const path = issue.path.slice(0, n);
      const original = at(spec, path);
      if (!isPyValue(original)) continue;
      retry = replaced(retry, path, plainValue(original));
      changed = true;
      break;
    }
  }
  if (!changed) return { result: first, input: text };
  return { result: parse(retry), input: retry };
}

function at(v: unknown, path: readonly PropertyKey[]): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

function replaced(v: unknown, path: readonly PropertyKey[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [k, ...rest] = path as [PropertyKey, ...PropertyKey[]];
  if (Array.isArray(v)) {
    const out = [...v];
    out[Number(k)] = replaced(v[Number(k)], rest, value);
    return out;
  }
  const rec = v as Record<PropertyKey, unknown>;
  const out: Record<PropertyKey, unknown> = {};
  for (const key of Object.keys(rec)) Object.defineProperty(out, key, { value: rec[key], enumerable: true, writable: true, configurable: true });
  Object.defineProperty(out, k, { value: replaced(rec[k], rest, value), enumerable: true, writable: true, configurable: true });
  return out;
}
