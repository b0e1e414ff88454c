// Decryption through the run's keyring: vault ids, errors, every decrypted value a secret.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, it } from 'node:test';
import { parseVarsText } from '../../../agent/inventory/vars-files.js';
import { MASK, secrets } from '../../../agent/report/mask.js';
import { LanesError } from '../../../agent/errors.js';
import { VaultKeyring, encryptVault, vault, type VaultSecret } from '../../../agent/vault/index.js';
import { fixture } from '../../support/paths.js';

const read = (name: string) => readFileSync(fixture('vault', name), 'utf8');
const secret = (id: string, file = id): VaultSecret => ({ id, password: Buffer.from(read(`password-${file}.txt`).trim()), source: 'test' });

describe('vault keyring', () => {
  beforeEach(() => vault.setSecrets([]));

  it('decrypts a vars file and registers every string value as a secret (not numbers, not keys)', () => {
    vault.setSecrets([secret('default')]);
    const vars = parseVarsText(read('vars-1.1.yml'), 'group_vars/all/vault.yml');
    assert.deepEqual(vars, {
      vault_db_password: 's3cr3t-db-pass',
      vault_api_token: 'tok-1234567890',
      vault_port: 5432,
      vault_nested: { user: 'app', keys: ['k-one', 'k-two'] },
    });
    assert.equal(secrets.mask('pw=s3cr3t-db-pass t=tok-1234567890 k=k-two'), `pw=${MASK} t=${MASK} k=${MASK}`);
    assert.equal(secrets.mask('vault_db_password 5432'), 'vault_db_password 5432');
    // The password itself is a secret too.
    assert.equal(secrets.mask('lanes-test-default'), MASK);
  });

  it('tries the secret of a 1.2 header\'s vault id first, then every other one', () => {
    vault.setSecrets([secret('dev'), secret('default'), secret('prod')]);
    assert.equal((parseVarsText(read('vars-1.2-prod.yml'), 'f.yml') as Record<string, unknown>)['vault_port'], 5432);
    // A password given under another label still opens a file (ansible-core does the same).
    const k = new VaultKeyring();
    k.setSecrets([secret('other', 'prod')]);
    assert.match(k.decrypt(read('vars-1.2-prod.yml'), 'f'), /vault_port/);
  });

  it('says which ids were tried when no secret matches, naming the file', () => {
    vault.setSecrets([secret('default', 'dev'), secret('prod', 'dev')]);
    assert.throws(
      () => parseVarsText(read('vars-1.1.yml'), 'group_vars/web/vault.yml'),
      (e: Error) => e.message === 'decryption failed for group_vars/web/vault.yml: no vault secret matched (tried ids: default, prod)',
    );
    assert.throws(() => parseVarsText(read('tampered.yml'), 't.yml'), /decryption failed for t\.yml: no vault secret matched \(tried ids: default, prod\)/);
  });

  it('says which options give a password when none was given', () => {
    assert.throws(
      () => parseVarsText(read('vars-1.1.yml'), 'group_vars/web/vault.yml'),
      (e: Error & { hint?: string }) =>
        e.message === 'group_vars/web/vault.yml is vault-encrypted and no vault password was given' && /--vault-password-file/.test(e.hint ?? '') && /--vault-id/.test(e.hint ?? ''),
    );
  });

  it('decrypts each vault text once', () => {
    const k = new VaultKeyring();
    k.setSecrets([secret('default')]);
    const text = read('vars-1.1.yml');
    const first = k.decrypt(text, 'a');
    for (let i = 0; i < 5; i += 1) assert.equal(k.decrypt(text, i % 2 ? 'b' : 'a'), first);
    assert.equal(k.decryptions, 1);
    k.decrypt(encryptVault('other: text\n', read('password-default.txt').trim()), 'c');
    assert.equal(k.decryptions, 2);
  });

  it('names a corrupt inline value by file:line:column and the line of the bad data', () => {
    vault.setSecrets([secret('default')]);
    const text = ['a: 1', 'b: !vault |', '  $ANSIBLE_VAULT;1.1;AES256', '  6162zz', ''].join('\n');
    assert.throws(() => parseVarsText(text, 'vars.yml'), (e: Error) => e.message === 'vault data of vars.yml:2:11 is corrupt at line 4: not hexadecimal');
  });
});

describe('invalid decrypted data', () => {
  it('is located without quoting it (it is secret)', () => {
    vault.setSecrets([secret('default')]);
    const text = encryptVault('just-a-secret-string\n', read('password-default.txt').trim());
    assert.throws(
      () => parseVarsText(text, 'group_vars/all/vault.yml'),
      (e: Error) => e.message.startsWith('decrypted group_vars/all/vault.yml is not valid') && !(e as LanesError).format().includes('just-a-secret-string'),
    );
  });
});
