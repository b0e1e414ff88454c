/**
 * A play's `sensitive_vars: [db_password, "*_token"]`: the values those variables resolve to on each
 * host are registered with the process-wide secret registry (agent/report/mask.ts) before any
 * resource of the host is compiled, so every resource carrying one is sensitive (shown as hashes)
 * and the value is masked in whatever output would still show it.
 */
import { fnmatchToRegExp } from '../inventory/fnmatch.js';
import type { Vars } from '../inventory/vars.js';
import { secrets, type SecretMasker } from '../report/mask.js';
import { RenderError, type Scope } from './template.js';
import { isPyValue } from '../values/python.js';

/** Registers the resolved values; false (after `report`) when one of them cannot be templated. */
export function registerSensitiveVars(patterns: readonly string[], vars: Vars, scope: Scope, report: (message: string) => void, masker: SecretMasker = secrets): boolean {
  if (patterns.length === 0) return true;
  const res = patterns.map((p) => fnmatchToRegExp(p));
  let ok = true;
  for (const name of Object.keys(vars)) {
    if (!res.some((re) => re.test(name))) continue;
    try {
      // The value as the playbook will see it: `db_password: "{{ vault_db_password }}"` is the vault value.
      const value = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? scope.render(`{{ ${name} }}`) : vars[name];
      for (const leaf of leaves(value)) masker.add(leaf);
    } catch (e) {
      if (!(e instanceof RenderError)) throw e;
      report(`sensitive_vars: ${name}: ${e.describe()}`);
      ok = false;
    }
  }
  return ok;
}

/** Every string (and number, as written) in a value: a mapping of secrets registers each of them. */
function leaves(v: unknown, depth = 0): string[] {
  if (typeof v === 'string') return [v];
  // A float, big int or date as Python prints it (8.0, not 8), which is how output shows it.
  if (typeof v === 'number' || isPyValue(v)) return [String(v)];
  if (depth > 64 || v === null || typeof v !== 'object') return [];
  return (Array.isArray(v) ? v : Object.values(v)).flatMap((x) => leaves(x, depth + 1));
}
