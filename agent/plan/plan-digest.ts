/**
 * Integrity of saved plans: whoever can edit a plan file between review and `lanes apply FILE`
 * could otherwise change what runs as root. A plan file carries digests of what it holds — each
 * header field, and per host its state fingerprint, probes, desired state and each change (whole
 * and its operations) — and one digest over all of those. apply recomputes them and refuses a file
 * that differs, naming the host and change that do.
 *
 * Without a key the digest is SHA-256: it catches accidental and naive edits, but anyone who can
 * edit the file can also recompute it. With LANES_PLAN_KEY set it is HMAC-SHA256 under that key,
 * so someone who can write the file but does not hold the key (a shared CI workspace, an artifact
 * store) cannot forge a plan. A keyed plan needs the key to apply, and with the key set an unkeyed
 * plan is refused (else stripping the key would be a way around it).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { LanesError } from '../errors.js';

export type DigestAlgorithm = 'sha256' | 'hmac-sha256';

/** Header fields a digest covers, in the order they are reported. */
const FIELDS = ['format', 'createdAt', 'playbook', 'inventory', 'limit'] as const;

export interface ChangeDigest {
  resource: string;
  digest: string;
  operations: string;
}

export interface HostDigest {
  host: string;
  fingerprint: string;
  probes: string;
  desired: string;
  changes: ChangeDigest[];
}

export interface PlanIntegrity {
  algorithm: DigestAlgorithm;
  fields: Record<string, string>;
  hosts: HostDigest[];
  /** A digest of a constant: tells "another key" apart from "every part edited". */
  keyCheck: string;
  /** Over `algorithm`, `fields` and `hosts`: any edit of the file or of the digests shows here. */
  digest: string;
}

const integritySchema = z.object({
  algorithm: z.enum(['sha256', 'hmac-sha256']),
  fields: z.record(z.string(), z.string()),
  hosts: z.array(
    z.object({
      host: z.string(),
      fingerprint: z.string(),
      probes: z.string(),
      desired: z.string(),
      changes: z.array(z.object({ resource: z.string(), digest: z.string(), operations: z.string() })),
    }),
  ),
  keyCheck: z.string(),
  digest: z.string(),
});

/** The smallest key accepted: shorter keys are guessable, and a typo'd empty variable must not "sign". */
export const MIN_KEY_LENGTH = 16;

/** The key from LANES_PLAN_KEY (undefined when unset or empty); a too short key is an error. */
export function planKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const key = env.LANES_PLAN_KEY;
  if (key === undefined || key === '') return undefined;
  if (key.length < MIN_KEY_LENGTH) {
    throw new LanesError(`LANES_PLAN_KEY is too short (${key.length} characters; at least ${MIN_KEY_LENGTH})`, {
      hint: 'use a random secret, e.g. openssl rand -hex 32, kept in the CI secret store',
    });
  }
  return key;
}

/** JSON with object keys sorted at every level: the same data always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function hasher(key: string | undefined): (label: string, value: unknown) => string {
  // The label keeps one part's digest from standing in for another's (a host's desired state
  // copied into its probes hashes differently).
  return (label, value) => {
    const h = key === undefined ? createHash('sha256') : createHmac('sha256', key);
    return h.update(`${label}\n${canonicalJson(value)}`).digest('hex');
  };
}

interface PlanLike {
  hosts: { host: string; fingerprint: unknown; probes: unknown; desired: unknown; changes: { resource: string; operations: unknown }[] }[];
  [field: string]: unknown;
}

/** Digests of `plan` as it is (call it on what is written, or on what was read). */
export function computeIntegrity(plan: PlanLike, key: string | undefined): PlanIntegrity {
  const h = hasher(key);
  const algorithm: DigestAlgorithm = key === undefined ? 'sha256' : 'hmac-sha256';
  const fields: Record<string, string> = {};
  for (const f of FIELDS) fields[f] = h(`field ${f}`, plan[f] ?? null);
  const hosts = plan.hosts.map((hp) => ({
    host: hp.host,
    fingerprint: h(`fingerprint ${hp.host}`, hp.fingerprint),
    probes: h(`probes ${hp.host}`, hp.probes),
    desired: h(`desired ${hp.host}`, hp.desired),
    changes: hp.changes.map((c, i) => ({
      resource: c.resource,
      digest: h(`change ${hp.host} ${i}`, c),
      operations: h(`operations ${hp.host} ${i}`, c.operations),
    })),
  }));
  return { algorithm, fields, hosts, keyCheck: h('key-check', 'lanes-plan'), digest: h('plan', { algorithm, fields, hosts }) };
}

function same(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * What differs between the plan and its stored digests, one short phrase each ("host lab2, change
 * file:/etc/x (operations differ from the digest)"); empty when the file is as written.
 */
export function integrityDifferences(plan: PlanLike, stored: PlanIntegrity, key: string | undefined): string[] {
  const fresh = computeIntegrity(plan, key);
  const out: string[] = [];
  for (const f of FIELDS) {
    if (!same(fresh.fields[f], stored.fields[f])) out.push(`${f} (differs from the digest)`);
  }
  const storedHosts = new Map(stored.hosts.map((x) => [x.host, x]));
  const freshHosts = new Set(fresh.hosts.map((x) => x.host));
  for (const fh of fresh.hosts) {
    const sh = storedHosts.get(fh.host);
    if (!sh) {
      out.push(`host ${fh.host} (added: not in the digest)`);
      continue;
    }
    if (!same(fh.fingerprint, sh.fingerprint)) out.push(`host ${fh.host}, state fingerprint (differs from the digest)`);
    if (!same(fh.probes, sh.probes)) out.push(`host ${fh.host}, probes (differ from the digest)`);
    if (!same(fh.desired, sh.desired)) out.push(`host ${fh.host}, desired state (differs from the digest)`);
    const n = Math.max(fh.changes.length, sh.changes.length);
    for (let i = 0; i < n; i++) {
      const fc = fh.changes[i];
      const sc = sh.changes[i];
      if (fc && !sc) out.push(`host ${fh.host}, change ${fc.resource} (added: not in the digest)`);
      else if (!fc && sc) out.push(`host ${fh.host}, change ${sc.resource} (removed: in the digest, not in the file)`);
      else if (fc && sc) {
        if (fc.resource !== sc.resource) out.push(`host ${fh.host}, change ${fc.resource} (in place of ${sc.resource} in the digest)`);
        else if (!same(fc.operations, sc.operations)) out.push(`host ${fh.host}, change ${fc.resource} (operations differ from the digest)`);
        else if (!same(fc.digest, sc.digest)) out.push(`host ${fh.host}, change ${fc.resource} (differs from the digest)`);
      }
    }
  }
  for (const sh of stored.hosts) {
    if (!freshHosts.has(sh.host)) out.push(`host ${sh.host} (removed: in the digest, not in the file)`);
  }
  // Every part matches but the overall digest does not: the digests themselves were edited.
  if (out.length === 0 && !same(fresh.digest, stored.digest)) out.push('the digest itself (does not match the file)');
  return out;
}

const MAX_LISTED = 4;

/**
 * Refuse a plan file that is not exactly as `lanes plan --out` wrote it. `file` is the path as the
 * user gave it, for the message.
 */
export function verifyPlanIntegrity(file: string, plan: PlanLike & { integrity?: unknown }, key: string | undefined): void {
  const edited = (what: string, hint?: string) =>
    new LanesError(`${file} was edited after it was written: ${what}`, { kind: 'input', ...(hint ? { hint } : {}) });
  if (plan.integrity === undefined) {
    throw edited('it has no integrity digest', 'apply only plans written by lanes plan --out; write a new plan');
  }
  const parsed = integritySchema.safeParse(plan.integrity);
  if (!parsed.success) throw edited('its integrity digest is malformed');
  const stored = parsed.data;
  if (stored.algorithm === 'hmac-sha256' && key === undefined) {
    throw new LanesError(`${file} is signed with a plan key, and LANES_PLAN_KEY is not set`, {
      kind: 'input',
      hint: 'set LANES_PLAN_KEY to the key the plan was written with',
    });
  }
  if (stored.algorithm === 'sha256' && key !== undefined) {
    throw new LanesError(`${file} is not signed with LANES_PLAN_KEY (its digest is unkeyed, so anyone could have rewritten it)`, {
      kind: 'input',
      hint: 'write the plan with LANES_PLAN_KEY set, or unset it to apply an unsigned plan',
    });
  }
  if (!same(computeIntegrity({ hosts: [] }, key).keyCheck, stored.keyCheck)) {
    throw new LanesError(`${file} was signed with another LANES_PLAN_KEY than the one set (or its digest was edited)`, {
      kind: 'input',
      hint: 'apply it with the key it was written with, or make a new plan',
    });
  }
  const diffs = integrityDifferences(plan, stored, key);
  if (diffs.length === 0) return;
  const listed = diffs.slice(0, MAX_LISTED).join('; ');
  const more = diffs.length > MAX_LISTED ? `; and ${diffs.length - MAX_LISTED} more` : '';
  throw edited(`${listed}${more}`, 'nothing was applied; make a new plan with lanes plan --out');
}
