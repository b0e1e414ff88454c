/**
 * Small helpers for variable mappings and name ordering shared by the inventory modules.
 */

export type Vars = Record<string, unknown>;

/**
 * Set one variable. A variable literally named `__proto__` (YAML and INI allow it) must become an
 * own property; plain assignment would instead replace the object's prototype.
 */
export function setVar(target: Vars, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** Shallow merge, each key of `source` replacing the same key in `target` (hash_behaviour=replace). */
export function mergeVars(target: Vars, source: Vars | undefined): void {
  if (!source) return;
  for (const key of Object.keys(source)) setVar(target, key, source[key]);
}

/** Python's sorted() order on names: by code point, not locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How variable layers combine: Ansible's hash_behaviour (DEFAULT_HASH_BEHAVIOUR). */
export type HashBehaviour = 'replace' | 'merge';

/**
 * One layer over another, as Ansible's combine_vars: with 'replace' each top-level key replaces the
 * lower one; with 'merge' a mapping over a mapping is merged key by key, recursively, and anything
 * else (lists included) replaces. Neither input is modified below the top level of `target`.
 */
export function combineVars(target: Vars, source: Vars | undefined, behaviour: HashBehaviour = 'replace'): void {
  if (!source) return;
  if (behaviour === 'replace') {
    mergeVars(target, source);
    return;
  }
  for (const key of Object.keys(source)) {
    const lower = Object.prototype.hasOwnProperty.call(target, key) ? target[key] : undefined;
    const upper = source[key];
    if (isPlainMapping(lower) && isPlainMapping(upper)) {
      const merged: Vars = {};
      mergeVars(merged, lower);
      combineVars(merged, upper, 'merge');
      setVar(target, key, merged);
    } else {
      setVar(target, key, upper);
    }
  }
}

function isPlainMapping(v: unknown): v is Vars {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
