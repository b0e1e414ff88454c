import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/**
 * The verbose listing of a .tar.gz by the system tar (numeric owners, full times), one line per
 * entry: an independent reader of what lanes packed in-process.
 */
export function systemTarListing(bytes: Buffer): string[] {
  const r = spawnSync('tar', ['-tzvf', '-', '--numeric-owner', '--full-time'], { input: bytes, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}
