/** `--peer ansible`: bench/ansible/site-check.yml in check mode against the same inventory, hosts and forks as lanes. */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { root, runChild, type ChildRun } from './measure.js';

const playbook = path.join(root, 'bench/ansible/site-check.yml');

/** ansible-playbook's path, or undefined when ansible-core is not installed. */
export function findAnsible(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** One check-mode run; it must finish with no host failed and nothing that would change (a no-op, as lanes' plan). */
export async function runAnsibleCheck(bin: string, inventory: string, limit: string, forks: number): Promise<ChildRun> {
  const r = await runChild(bin, ['--check', '-i', inventory, '--limit', limit, '-f', String(forks), playbook], {
    env: { ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'True', ANSIBLE_NOCOLOR: '1' },
  });
  const recap = r.stdout.slice(r.stdout.lastIndexOf('PLAY RECAP'));
  if (r.code !== 0 || /\b(changed|unreachable|failed)=[1-9]/.test(recap)) {
    throw new Error(`ansible-playbook --check was not a clean no-op (exit ${r.code}):\n${recap || r.stderr.slice(-2000)}`);
  }
  return r;
}
