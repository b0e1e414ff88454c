/**
 * Saved plans (`lanes plan --out FILE`, `lanes apply FILE`): the reviewed changes per host together
 * with the fingerprint of the state they were computed from, so apply can refuse hosts that drifted.
 * Sensitive contents and values are saved as placeholders with their sha256, never as values
 * (agent/plan/sealed.ts); the file may still hold ordinary file contents: written with mode 0600.
 * The `-e` values and vault passwords are not recorded: applying a plan with sensitive content asks
 * for them again.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { LanesError } from '../errors.js';
import type { HostPlan } from './run.js';
import { sealHostPlan } from './sealed.js';

export const PLAN_FORMAT = 'lanes-plan/1';

export interface PlanFile {
  format: typeof PLAN_FORMAT;
  createdAt: string;
  playbook: string;
  inventory: string[];
  limit?: string;
  hosts: HostPlan[];
}

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

export async function writePlanFile(path: string, plan: PlanFile): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  // Sealed here, where the file is serialized: nothing else decides what a plan file holds.
  const sealed: PlanFile = { ...plan, hosts: plan.hosts.map(sealHostPlan) };
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

export async function readPlanFile(path: string): Promise<PlanFile> {
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
  return data as PlanFile;
}
