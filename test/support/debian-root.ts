/**
 * Checks against the real tools (php-fpm -t, systemd-analyze, Supervisor's parser) run inside a
 * Debian root with chroot. The root is a throwaway overlay on the lab's cached base image that the
 * test entry (`node dist/test/run.js`, what `npm test` runs) mounts for each run and passes in
 * LANES_TEST_DEBIAN_ROOT — built on first use on a fresh machine, so CI runs these checks too.
 * Only a run that is not root (a developer's laptop) skips them, with the reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DEBIAN_ROOT = process.env.LANES_TEST_DEBIAN_ROOT ?? '';

/** Why a test needing `tool` (a path inside the root) must skip, or undefined when it can run. */
export function debianRootSkip(tool: string, what: string): string | undefined {
  if (process.getuid?.() !== 0) return 'chroot needs root';
  if (!DEBIAN_ROOT) throw new Error('LANES_TEST_DEBIAN_ROOT is not set: run the tests through `npm test` / `node dist/test/run.js`, which mount the Debian root');
  if (!existsSync(path.join(DEBIAN_ROOT, tool))) throw new Error(`the test Debian root ${DEBIAN_ROOT} has no ${what} (${tool})`);
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
