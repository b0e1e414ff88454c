// What lanes reads from vaulted inventories equals what real Ansible printed for the same files
// (recorded once with ansible-inventory --list and a debug play: test/fixtures/vault/README.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { loadInventory } from '../../../agent/inventory/index.js';
import { MASK, secrets } from '../../../agent/report/mask.js';
import { connectionHosts } from '../../../agent/run/connection-vars.js';
import { vault, type VaultSecret } from '../../../agent/vault/index.js';
import { fixture } from '../../support/paths.js';

const read = (name: string) => readFileSync(fixture('vault', name), 'utf8');
const secret = (id: string): VaultSecret => ({ id, password: Buffer.from(read(`password-${id}.txt`).trim()), source: 'test' });
type HostVars = Record<string, Record<string, unknown>>;

/** ansible-inventory prints inline !vault values undecrypted; lanes decrypts them when reading. */
function isInlineVault(v: unknown): boolean {
  return typeof v === 'object' && v !== null && '__ansible_vault' in v;
}

describe('vaulted inventories, compared with ansible-core', () => {
  before(() => vault.setSecrets([secret('default'), secret('prod'), secret('dev')]));

  it('YAML inventory with an encrypted group_vars/web/vault.yml, an encrypted host_vars file (id dev) and inline values (ids default, prod)', async () => {
    const inv = await loadInventory([fixture('vault', 'inventory', 'hosts.yml')]);
    const expected = (JSON.parse(read('expected/ansible-inventory-list.json')) as { _meta: { hostvars: HostVars } })._meta.hostvars;
    const debug = JSON.parse(read('expected/ansible-debug.json')) as HostVars;
    assert.deepEqual([...inv.hosts.keys()].sort(), Object.keys(expected).sort());
    for (const [host, vars] of Object.entries(expected)) {
      const got = inv.hosts.get(host)!.vars;
      assert.deepEqual(Object.keys(got).sort(), Object.keys(vars).sort(), host);
      for (const [k, v] of Object.entries(vars)) {
        // Inline values: the plaintext Ansible's debug play printed.
        assert.deepEqual(got[k], isInlineVault(v) ? debug[host]![k] : v, `${host} ${k}`);
      }
    }
    // Connection variables rendered as Ansible renders them.
    const hosts = connectionHosts(inv, ['web1', 'web2', 'db1']);
    for (const h of hosts) {
      assert.equal(h.vars['ansible_host'] ?? h.name, debug[h.name]!['ansible_host'], h.name);
      assert.equal(h.vars['ansible_become_password'] ?? null, debug[h.name]!['ansible_become_password'], h.name);
    }
    // Every decrypted value is a secret; host names and plain values are not.
    assert.equal(secrets.mask('sudo-web-secret db-root-prod-secret dev-backup-key-987 inline-default-secret'), [MASK, MASK, MASK, MASK].join(' '));
    assert.equal(secrets.mask('web1 db1 visible lab.example'), 'web1 db1 visible lab.example');
  });

  it('an encrypted INI inventory (vault id dev)', async () => {
    const inv = await loadInventory([fixture('vault', 'inventory.ini')]);
    const expected = (JSON.parse(read('expected/ansible-inventory-ini-list.json')) as { _meta: { hostvars: HostVars } })._meta.hostvars;
    for (const [host, vars] of Object.entries(expected)) assert.deepEqual(inv.hosts.get(host)!.vars, vars, host);
    assert.equal(secrets.mask('ini-secret-value on app1'), `${MASK} on app1`);
  });
});
