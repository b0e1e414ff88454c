/**
 * The real ansible-inventory on every case and view, through ansible_driver.py: one Python process
 * that imports Ansible once and forks per case (LANES_CONFORMANCE_EXEC=1: the program per case).
 * Each run is isolated: cwd = the case directory, relative -i paths, HOME = a fresh empty directory,
 * no ANSIBLE_* variable but the case's own, no ansible.cfg but the case's own.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { conformanceDir, viewKey, type ConformanceCase } from './corpus.js';

export interface ToolRun {
  stdout: string;
  stderr: string;
  code: number;
}

/** The ansible-inventory on PATH and the Python it runs with (its #! line); a clear error when absent. */
export function findAnsibleInventory(): { program: string; python: string } {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const program = path.join(dir, 'ansible-inventory');
    try {
      accessSync(program, constants.X_OK);
    } catch {
      continue;
    }
    const first = readFileSync(program, 'utf8').split('\n', 1)[0] ?? '';
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(first);
    if (!m) throw new Error(`${program} is not a Python script (no #! line); the conformance suite needs ansible-core's ansible-inventory`);
    // "#!/usr/bin/env python3" names the interpreter in the second word.
    const python = m[1]!.endsWith('/env') && m[2] ? m[2] : m[1]!;
    return { program, python };
  }
  throw new Error(
    'ansible-inventory is not installed (not on PATH): the conformance suite compares `lanes inventory` with it. ' +
      'Install ansible-core (Debian: apt-get install ansible-core) and run the suite again.',
  );
}

/** The environment both tools see for a case: nothing of the caller's but PATH and a UTF-8 locale. */
export function caseEnv(c: ConformanceCase, home: string): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', ...c.env };
}

export const ansibleArgs = (c: ConformanceCase, view: string): string[] => [
  ...c.inventory.flatMap((i) => ['-i', i]),
  ...view.split(' ').filter((w) => w !== ''),
];

export interface AnsibleRunOptions {
  /** Every case as an ansible-inventory process (LANES_CONFORMANCE_EXEC=1) instead of forks. */
  exec?: boolean;
  jobs?: number;
}

/** ansible-inventory's output for every case and view, keyed by viewKey(case, view). */
export async function runAnsible(cases: ConformanceCase[], o: AnsibleRunOptions = {}): Promise<Map<string, ToolRun>> {
  const { program, python } = findAnsibleInventory();
  const root = mkdtempSync(path.join(os.tmpdir(), 'lanes-conformance-'));
  try {
    const empty = path.join(root, 'cwd');
    mkdirSync(empty);
    mkdirSync(path.join(root, 'home'));
    const requests: string[] = [];
    let n = 0;
    for (const c of cases) {
      for (const view of c.views) {
        const home = path.join(root, `home-${n++}`);
        mkdirSync(home);
        requests.push(JSON.stringify({ id: viewKey(c, view), cwd: c.dir, args: ansibleArgs(c, view), env: caseEnv(c, home), exec: c.usesSettings }));
      }
    }
    const args = [path.join(conformanceDir, 'ansible_driver.py'), '--program', program, '--jobs', String(o.jobs ?? 2)];
    if (o.exec) args.push('--exec');
    // The driver imports Ansible with no settings at all (an empty cwd, a fresh HOME): what its forks inherit.
    const child = spawn(python, args, { cwd: empty, env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: path.join(root, 'home'), LANG: 'C.UTF-8' } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdin.end(requests.join('\n') + '\n');
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new Error(`ansible_driver.py failed (exit ${code}): ${err.trim()}`);
    const results = new Map<string, ToolRun>();
    for (const line of out.split('\n').filter((l) => l !== '')) {
      const r = JSON.parse(line) as ToolRun & { id: string };
      results.set(r.id, { stdout: r.stdout, stderr: r.stderr, code: r.code });
    }
    if (results.size !== requests.length) throw new Error(`ansible_driver.py answered ${results.size} of ${requests.length} runs: ${err.trim()}`);
    return results;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export const execMode = () => process.env.LANES_CONFORMANCE_EXEC === '1';
