// Where vault passwords come from: options and environment in Ansible's order, files, scripts, prompts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { isClientScript, loadVaultSecrets, splitVaultId, vaultIdSpecs } from '../../../agent/vault/index.js';
import { fixture } from '../../support/paths.js';

const noPrompt = () => Promise.reject(new Error('no prompt expected'));
const f = (name: string) => fixture('vault', name);

describe('vault password sources', () => {
  it('orders ANSIBLE_VAULT_IDENTITY_LIST, --vault-id, --vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE, --ask-vault-pass', () => {
    const specs = vaultIdSpecs({
      vaultIds: ['prod@p.txt', 'bare.txt'],
      passwordFiles: ['a.txt'],
      askVaultPass: true,
      env: { ANSIBLE_VAULT_IDENTITY_LIST: 'dev@d.txt, stage@prompt', ANSIBLE_VAULT_PASSWORD_FILE: 'e.txt' },
    });
    assert.deepEqual(
      specs.map((s) => `${s.label}@${s.source}`),
      ['dev@d.txt', 'stage@prompt', 'prod@p.txt', 'default@bare.txt', 'default@a.txt', 'default@e.txt', 'default@prompt_ask_vault_pass'],
    );
    assert.deepEqual(vaultIdSpecs({ env: {} }), []);
  });

  it('splits label@source like Ansible, and refuses an empty source', () => {
    assert.deepEqual(splitVaultId('prod@/a@b', '--vault-id'), { label: 'prod', source: '/a@b', origin: '--vault-id' });
    assert.deepEqual(splitVaultId('@x', '--vault-id'), { label: 'default', source: 'x', origin: '--vault-id' });
    assert.throws(() => splitVaultId('prod@', '--vault-id'), /names no password source/);
  });

  it('strips the trailing newline of a password file', async () => {
    const [s] = await loadVaultSecrets([{ label: 'default', source: f('password-default.txt'), origin: '--vault-password-file' }], { prompt: noPrompt });
    assert.equal(s?.password.toString(), 'lanes-test-default');
    assert.equal(s?.id, 'default');
  });

  it('runs an executable: a plain script without arguments, a *-client script with --vault-id LABEL', async () => {
    const secrets = await loadVaultSecrets(
      [
        { label: 'default', source: f('pass-script.sh'), origin: '--vault-password-file' },
        { label: 'prod', source: f('vault-pass-client.sh'), origin: '--vault-id' },
      ],
      { prompt: noPrompt },
    );
    assert.deepEqual(secrets.map((s) => [s.id, s.password.toString()]), [['default', 'lanes-test-default'], ['prod', 'lanes-test-prod']]);
    assert.ok(isClientScript('/x/vault-pass-client.sh') && isClientScript('keyring-client') && !isClientScript('client.sh'));
  });

  it('names a failing script and its exit code, never its output', async () => {
    await assert.rejects(
      loadVaultSecrets([{ label: 'default', source: 'test/fixtures/vault/failing-pass.sh', origin: '--vault-id' }], { prompt: noPrompt, cwd: fixture('..', '..') }),
      (e: Error) => e instanceof LanesError && /^vault password script test\/fixtures\/vault\/failing-pass\.sh \(--vault-id\) failed with exit code 3$/.test(e.message) && !e.format().includes('stdout-of'),
    );
    await assert.rejects(
      loadVaultSecrets([{ label: 'nope', source: f('vault-pass-client.sh'), origin: '--vault-id' }], { prompt: noPrompt }),
      /has no secret for vault id "nope" \(exit code 2\)/,
    );
  });

  it('names a missing file and the option that named it', async () => {
    await assert.rejects(loadVaultSecrets([{ label: 'default', source: 'no/such', origin: 'ANSIBLE_VAULT_PASSWORD_FILE' }], { prompt: noPrompt }), /vault password file no\/such \(ANSIBLE_VAULT_PASSWORD_FILE\) does not exist/);
  });

  it('asks with Ansible\'s prompts', async () => {
    const asked: string[] = [];
    const prompt = (q: string) => {
      asked.push(q);
      return Promise.resolve(' typed \n');
    };
    const s = await loadVaultSecrets(
      [
        { label: 'default', source: 'prompt_ask_vault_pass', origin: '--ask-vault-pass' },
        { label: 'prod', source: 'prompt', origin: '--vault-id' },
      ],
      { prompt },
    );
    assert.deepEqual(asked, ['Vault password: ', 'Vault password (prod): ']);
    assert.equal(s[1]?.password.toString(), 'typed');
  });
});
