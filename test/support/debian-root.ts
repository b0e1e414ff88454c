/**
 * Checks against the real tools (php-fpm -t, systemd-analyze, Supervisor's parser) run inside a
 * debootstrapped Debian root. That root exists only where someone built it (the exploration machine),
 * so these tests skip, with the reason, everywhere else — CI included.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DEBIAN_ROOT = '/var/tmp/explore/root';

/** Why a test needing `tool` (a path inside the root) must skip, or undefined when it can run. */
export function debianRootSkip(tool: string, what: string): string | undefined {
  if (!existsSync(path.join(DEBIAN_ROOT, tool))) return `no Debian root with ${what} at ${DEBIAN_ROOT} (it exists only on the exploration machine)`;
  if (process.getuid?.() !== 0) return 'chroot needs root';
  return undefined;
}

/**
 * `systemd-analyze verify` of one unit inside the root. In systemd 252 unknown keys and bad values are
 * only warnings with exit 0, so callers should also require empty output.
 */
export function verifyUnitInRoot(name: string, content: string): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(DEBIAN_ROOT, 'tmp', 'lanes-units-'));
  try {
    writeFileSync(path.join(dir, name), content);
    const run = spawnSync('chroot', [DEBIAN_ROOT, 'systemd-analyze', 'verify', '--man=no', `/tmp/${path.basename(dir)}/${name}`], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
