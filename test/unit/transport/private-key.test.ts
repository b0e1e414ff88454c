// A private key file is parsed once while unchanged (once for connections starting together), and parsed again when it is replaced.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { privateKeyOf } from '../../../agent/transport/connection.js';

const tmp = mkdtempSync(join(tmpdir(), 'lanes-key-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function keygen(file: string, type: string): void {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
}

describe('privateKeyOf', () => {
  it('one parse per unchanged file; a replaced file is parsed again', async () => {
    const file = join(tmp, 'id');
    keygen(file, 'ed25519');
    const first = await privateKeyOf(file);
    assert.ok(!(first.parsed instanceof Error));
    assert.equal((first.parsed as { type: string }).type, 'ssh-ed25519');
    assert.equal(await privateKeyOf(file), first);
    keygen(file, 'ecdsa');
    const second = await privateKeyOf(file);
    assert.notEqual(second, first);
    assert.equal((second.parsed as { type: string }).type, 'ecdsa-sha2-nistp256');
  });

  it('connections starting together share one read and parse of the key', async () => {
    const file = join(tmp, 'together');
    keygen(file, 'ed25519');
    const [a, b, c] = await Promise.all([privateKeyOf(file), privateKeyOf(file), privateKeyOf(file)]);
    assert.equal(a, b);
    assert.equal(b, c);
  });

  it('a missing file rejects (the caller decides whether that is an error)', async () => {
    await assert.rejects(privateKeyOf(join(tmp, 'none')));
  });
});
