import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { withLock } from '../../../agent/lab/lock.js';

describe('lab lock', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-lock-'));

  it('runs holders of one lock one after another within a process', async () => {
    const file = path.join(dir, 'a.lock');
    const log: string[] = [];
    const job = (name: string) =>
      withLock(file, { timeoutMs: 5000, what: 'test' }, async () => {
        log.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 20));
        log.push(`${name} out`);
      });
    await Promise.all([job('a'), job('b'), job('c')]);
    assert.deepEqual(log, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
    assert.equal(existsSync(file), false);
  });

  it('takes over a lock whose owner is gone, and writes its own pid', async () => {
    const file = path.join(dir, 'b.lock');
    writeFileSync(file, '999999999\n');
    const seen = await withLock(file, { timeoutMs: 5000, what: 'test' }, async () => readFileSync(file, 'utf8'));
    assert.equal(seen.trim(), String(process.pid));
  });

  it('times out with a lab error while a live process holds it', async () => {
    const file = path.join(dir, 'c.lock');
    writeFileSync(file, '1\n'); // pid 1 is always alive
    await assert.rejects(
      withLock(file, { timeoutMs: 300, what: 'testing' }, async () => undefined),
      (err: Error & { kind?: string }) => err.kind === 'lab' && /testing/.test(err.message),
    );
  });

  it('releases the lock when the work throws', async () => {
    const file = path.join(dir, 'd.lock');
    await assert.rejects(withLock(file, { timeoutMs: 1000, what: 'test' }, async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(existsSync(file), false);
  });
});
