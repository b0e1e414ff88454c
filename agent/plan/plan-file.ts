/**
 * Saved plans (`lanes plan --out FILE`, `lanes apply FILE`): the reviewed changes per host together
 * with the fingerprint of the state they were computed from, so apply can refuse hosts that drifted.
 * Sensitive contents and values are saved as placeholders with their sha256, never as values
 * (agent/plan/sealed.ts); the file may still hold ordinary file contents: written with mode 0600.
 * The `-e` values and vault passwords are not recorded: applying a plan with sensitive content asks
 * for them again. Plan files carry digests of everything they hold (see plan-digest.ts), so an
 * edited file is refused, and their creation time, so apply can refuse a plan older than --max-age.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { computeIntegrity, planKeyFromEnv, verifyPlanIntegrity, type PlanIntegrity } from './plan-digest.js';
import type { HostPlan } from './run.js';
import { sealHostPlan } from './sealed.js';

/**
 * 2: a host's fingerprint hashes every reading by key (plan-host.ts stateFingerprint), so a plan saved by
 * format 1 is refused as another format instead of as a host that changed.
 */
export const PLAN_FORMAT = 'lanes-plan/2';

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  createdAt: string;
  playbook: string;
  inventory: string[];
  limit?: string;
  hosts: HostPlan[];
  /** Added by writePlanFile over exactly what it writes. */
  integrity?: PlanIntegrity;
}

export interface ReadPlanOptions {
  /** HMAC key (default: $LANES_PLAN_KEY). null: no key, whatever the environment says. */
  key?: string | null;
  /** Refuse a plan written longer ago than this. */
  maxAgeMs?: number;
  /** For tests. */
  now?: number;
}

/** A plan written this far in the future is refused when --max-age is in force (clocks do differ a little). */
const CLOCK_SKEW_MS = 5 * 60_000;

const planFileSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  createdAt: z.string(),
  playbook: z.string(),
  inventory: z.array(z.string()),
  limit: z.string().optional(),
  hosts: z.array(
    z.object({
      host: z.string(),
      fingerprint: z.string(),
      changes: z.array(z.object({ resource: z.string(), action: z.enum(['create', 'update', 'delete']), summary: z.string(), operations: z.array(z.unknown()) }).passthrough()),
      probes: z.array(z.object({ kind: z.string() }).passthrough()),
      desired: z.array(z.object({ type: z.string(), id: z.string(), spec: z.unknown() }).passthrough()),
    }),
  ),
});

export async function writePlanFile(path: string, plan: PlanFile, key: string | undefined = planKeyFromEnv()): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  // Sealed (sensitive values replaced by placeholders) first; the digest is then computed over the
  // JSON form, so it covers exactly what is written (and what a reader parses back), e.g. without
  // keys whose value is undefined.
  const { integrity: _old, ...content } = plan;
  const written = JSON.parse(JSON.stringify({ ...content, hosts: content.hosts.map(sealHostPlan) })) as PlanFile;
  const sealed = { ...written, integrity: computeIntegrity(written as never, key) };
  await writeFile(tmp, `${JSON.stringify(sealed, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** Is this path a saved plan (rather than a playbook)? Decided by content, not by name. */
export async function isPlanFile(path: string): Promise<boolean> {
  try {
    const head = (await readFile(path, 'utf8')).slice(0, 200);
    return head.trimStart().startsWith('{') && head.includes(`"${PLAN_FORMAT}"`);
  } catch {
    return false;
  }
}

export async function readPlanFile(path: string, opts: ReadPlanOptions = {}): Promise<PlanFile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new LanesError(`cannot read plan file: ${(err as Error).message}`, { location: { file: path } });
  }
  const parsed = planFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LanesError(`not a lanes plan file: ${issue.path.join('.') || '(top)'}: ${issue.message}`, {
      location: { file: path },
      hint: `expected a file written by lanes plan --out (format ${PLAN_FORMAT})`,
    });
  }
  const plan = data as PlanFile;
  const key = opts.key === null ? undefined : (opts.key ?? planKeyFromEnv());
  verifyPlanIntegrity(path, plan as never, key);
  if (opts.maxAgeMs !== undefined) checkAge(path, plan.createdAt, opts.maxAgeMs, opts.now ?? Date.now());
  return plan;
}

/** Refuse a plan older than maxAgeMs (createdAt is covered by the digest, so it cannot be moved). */
function checkAge(path: string, createdAt: string, maxAgeMs: number, now: number): void {
  const t = Date.parse(createdAt);
  if (!Number.isFinite(t)) throw new LanesError(`${path} has no valid creation time (createdAt ${JSON.stringify(createdAt)})`, { hint: 'make a new plan' });
  if (t > now + CLOCK_SKEW_MS) {
    throw new LanesError(`${path} was written in the future (${createdAt}); refusing it with --max-age`, { hint: "check this machine's clock, or make a new plan" });
  }
  if (now - t > maxAgeMs) {
    throw new LanesError(`${path} is ${age(now - t)} old (written ${createdAt}), older than --max-age ${age(maxAgeMs)}`, {
      hint: 'review a fresh plan: lanes plan --out',
    });
  }
}

function age(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 360) / 10}h`;
  return `${Math.round(s / 8640) / 10}d`;
}
