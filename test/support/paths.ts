/** Paths into the source tree from compiled tests (dist/test/...), and the built CLI (the bundle npm's bin runs: build/bundle.ts). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: compiled tests live in dist/test/..., sources in test/... */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');
export const cliPath = path.join(repoRoot, 'dist', 'bin', 'main.js');

export function fixture(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}
