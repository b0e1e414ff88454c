/**
 * Saved plans hold no secret, yet `lanes apply PLANFILE` applies exactly the reviewed change.
 *
 * A sensitive change or resource is saved redacted (agent/report/sensitive.ts): its contents are
 * placeholders carrying their full sha256. Applying such a plan compiles the recorded playbook again
 * with the recorded inventory (and the `-e` / vault passwords given again on the apply command line),
 * checks that every host's resources redact to exactly what was saved, and, once connected and the
 * host's state matches the plan's fingerprint, plans again and takes the fresh changes only if they
 * redact to exactly the saved ones: every placeholder is then filled with the content whose hash it
 * carries. Anything else is refused naming the host and the resource, before anything is applied.
 */
import { LanesError } from '../errors.js';
import { placeholderHash, redactChange, redactDesired } from '../report/sensitive.js';
import type { Change, DesiredResource } from '../resources/types.js';
import type { HostPlan } from './run.js';

/** The host's plan as it goes into a plan file. */
export function sealHostPlan(plan: HostPlan): HostPlan {
  return { ...plan, changes: plan.changes.map((c) => redactChange(c)), desired: plan.desired.map((d) => redactDesired(d)) };
}

/** Does this saved plan hold placeholders (so that applying it needs the playbook compiled again)? */
export function isSealed(plan: Pick<HostPlan, 'changes' | 'desired'>): boolean {
  return holdsPlaceholder(plan.changes) || holdsPlaceholder(plan.desired);
}

function holdsPlaceholder(v: unknown, depth = 0): boolean {
  if (placeholderHash(v) !== undefined) return true;
  if (depth > 64 || typeof v !== 'object' || v === null) return false;
  return (Array.isArray(v) ? v : Object.values(v)).some((x) => holdsPlaceholder(x, depth + 1));
}

const MISMATCH_HINT = 'give the same -e/--extra-vars and vault passwords as for lanes plan, or run lanes plan --out again and review the new plan';

/** The re-compiled resources of a host must redact to exactly the saved ones (same inputs, same secrets). */
export function checkRecompiled(host: string, saved: DesiredResource[], fresh: DesiredResource[]): void {
  const have = new Map(fresh.map((d) => [`${d.type}[${d.id}]`, d]));
  for (const s of saved) {
    const key = `${s.type}[${s.id}]`;
    const f = have.get(key);
    if (!f || canonical(redactDesired(f)) !== canonical(s)) {
      throw new LanesError(`${key}: the playbook and inventory no longer give what the saved plan was made from; nothing was applied`, {
        kind: 'input',
        host,
        hint: MISMATCH_HINT,
      });
    }
    have.delete(key);
  }
  const extra = [...have.keys()][0];
  if (extra !== undefined) {
    throw new LanesError(`${extra}: the playbook now declares a resource the saved plan does not have; nothing was applied`, { kind: 'input', host, hint: MISMATCH_HINT });
  }
}

/** The fresh changes (with their real contents), when they redact to exactly the saved, reviewed ones. */
export function unsealChanges(host: string, saved: Change[], fresh: Change[]): Change[] {
  const n = Math.max(saved.length, fresh.length);
  for (let i = 0; i < n; i++) {
    const s = saved[i];
    const f = fresh[i];
    if (!s || !f || canonical(redactChange(f)) !== canonical(s)) {
      const resource = (s ?? f)?.resource ?? 'a resource';
      throw new LanesError(`${resource}: cannot fill in the sensitive content of the saved plan (its inputs changed since the plan was made); nothing was applied`, {
        kind: 'input',
        host,
        hint: MISMATCH_HINT,
      });
    }
  }
  return fresh;
}

/** JSON with sorted keys and without undefined members: a plan read back from its file compares equal. */
export function canonical(v: unknown): string {
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(v ?? null))));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
