/**
 * `lanes inventory` on a case and view: in-process through showInventory (the library function
 * behind the CLI; 100s of node starts would be too slow) or as the built CLI. Same isolation as for
 * ansible-inventory: cwd = the case directory, relative -i paths, a fresh HOME, only the case's ANSIBLE_*.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LanesError } from '../../agent/errors.js';
import { showInventory, type ShowInventoryOptions } from '../../agent/inventory/show.js';
import { cliPath } from '../support/paths.js';
import { ansibleArgs, caseEnv } from './ansible.js';
import type { ConformanceCase } from './corpus.js';

export interface LanesRun {
  stdout: string;
  /** Warning texts, without "[WARNING]: ". */
  warnings: string[];
  /** ok: printed; refused: a LanesError (exit 1); crash: anything else (a bug). */
  status: 'ok' | 'refused' | 'crash';
  /** The refusal or crash message. */
  error?: string;
}

/** ansible-inventory's view arguments as showInventory options. */
export function viewOptions(view: string): Omit<ShowInventoryOptions, 'inventory'> {
  const words = view.split(' ').filter((w) => w !== '');
  const o: Omit<ShowInventoryOptions, 'inventory'> = { view: 'list' };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--list') o.view = 'list';
    else if (w === '--graph') {
      o.view = 'graph';
      const next = words[i + 1];
      if (next !== undefined && !next.startsWith('-')) o.group = words[++i];
    } else if (w === '--host') {
      o.view = 'host';
      o.host = words[++i];
    } else if (w === '--vars') o.vars = true;
    else if (w === '--yaml' || w === '-y') o.format = 'yaml';
    else if (w === '--toml') o.format = 'toml';
    else if (w === '--export') o.export = true;
    else throw new Error(`view "${view}": the harness does not know ${w}`);
  }
  return o;
}

/** Run fn with the case's cwd and environment (HOME fresh, ANSIBLE_* only the case's), restored after. */
async function isolated<T>(c: ConformanceCase, fn: () => Promise<T>): Promise<T> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'lanes-conformance-home-'));
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  try {
    for (const k of Object.keys(process.env)) if (k.startsWith('ANSIBLE_') || k.startsWith('LANES_')) delete process.env[k];
    Object.assign(process.env, { HOME: home, ...c.env });
    process.chdir(c.dir);
    return await fn();
  } finally {
    process.chdir(savedCwd);
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
    rmSync(home, { recursive: true, force: true });
  }
}

export async function runLanesInProcess(c: ConformanceCase, view: string): Promise<LanesRun> {
  return isolated(c, async () => {
    try {
      const shown = await showInventory({ inventory: c.inventory, cwd: c.dir, ...viewOptions(view) });
      return { stdout: shown.stdout, warnings: shown.warnings, status: 'ok' };
    } catch (e) {
      if (e instanceof LanesError) return { stdout: '', warnings: [], status: 'refused', error: e.message };
            // The message and where it was thrown: enough to find the bug, without the whole stack.
      const where = e instanceof Error ? (e.stack ?? '').split('\n').find((l) => l.trim().startsWith('at ')) : undefined;
      return { stdout: '', warnings: [], status: 'crash', error: `${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}${where ? ` (${where.trim()})` : ''}` };
    }
  });
}

/** `node dist/bin/main.js inventory -i … VIEW` in the case directory, with ansible-inventory's arguments. */
export async function runLanesCli(c: ConformanceCase, view: string): Promise<LanesRun & { code: number; stderr: string }> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'lanes-conformance-home-'));
  try {
    const child = spawn(process.execPath, [cliPath, 'inventory', ...ansibleArgs(c, view)], { cwd: c.dir, env: caseEnv(c, home), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (n) => resolve(n ?? 1));
    });
    const warnings = stderr
      .split('\n')
      .filter((l) => l.startsWith('[WARNING]: '))
      .map((l) => l.slice('[WARNING]: '.length));
    const status = code === 0 ? 'ok' : code === 1 ? 'refused' : 'crash';
    return { stdout, stderr, code, warnings, status, ...(code !== 0 ? { error: stderr.trim() } : {}) };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** The lanes side of a case: in-process, or the CLI when the case's settings come from ansible.cfg or the
 * environment (read by the CLI at start, which the in-process call does not do). */
export const runLanes = (c: ConformanceCase, view: string): Promise<LanesRun> => (c.usesSettings ? runLanesCli(c, view) : runLanesInProcess(c, view));
