// Vault data in playbooks: encrypted vars_files, inline !vault play vars, -e @encrypted-file.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { compilePlaybook } from '../../../agent/playbook/compile.js';
import { loadPlaybook } from '../../../agent/playbook/load.js';
import { parseExtraVars } from '../../../agent/playbook/vars.js';
import { MASK, secrets } from '../../../agent/report/mask.js';
import { encryptVault, vault } from '../../../agent/vault/index.js';
import { fixture as vaultFixture } from '../../support/paths.js';
import { fakeRegistry } from '../playbook/fake-registry.js';
import { specOf, testInventory } from '../playbook/helpers.js';

const PASSWORD = 'playbook-test-pw';
let dir: string;

describe('vault in playbooks', () => {
  before(() => {
    vault.setSecrets([{ id: 'default', password: Buffer.from(PASSWORD), source: 'test' }]);
    dir = mkdtempSync(join(tmpdir(), 'lanes-vault-pb-'));
    writeFileSync(join(dir, 'secrets.yml'), encryptVault('db_password: from-vars-file-secret\n', PASSWORD));
    const inline = encryptVault('inline-play-secret', PASSWORD, { vaultId: 'prod' })
      .trimEnd()
      .split('\n')
      .map((l) => `        ${l}`)
      .join('\n');
    writeFileSync(
      join(dir, 'site.yml'),
      [
        '- hosts: app',
        '  vars_files: [secrets.yml]',
        '  vars:',
        '    api_key: !vault |',
        inline,
        '  files:',
        '    - { path: /etc/app.env, content: "DB={{ db_password }}\\nKEY={{ api_key }}\\n" }',
        '',
      ].join('\n'),
    );
  });

  it('decrypts encrypted vars_files and inline !vault play vars, and masks both', async () => {
    const plan = await compilePlaybook(await loadPlaybook(join(dir, 'site.yml')), await testInventory(), {}, fakeRegistry);
    assert.equal(specOf(plan, 'lab1', 'file', '/etc/app.env').content, 'DB=from-vars-file-secret\nKEY=inline-play-secret\n');
    assert.equal(secrets.mask('from-vars-file-secret inline-play-secret'), `${MASK} ${MASK}`);
  });

  it('decrypts -e @file', async () => {
    copyFileSync(vaultFixture('vault', 'vars-1.1.yml'), join(dir, 'extra.yml'));
    vault.setSecrets([{ id: 'default', password: Buffer.from('lanes-test-default'), source: 'test' }]);
    const vars = await parseExtraVars(['@extra.yml'], dir);
    assert.equal(vars['vault_api_token'], 'tok-1234567890');
  });
});
