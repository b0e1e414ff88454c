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
