// Variable precedence on the production fixture: inventory group vars by depth and priority,
// group_vars/ files, inventory host vars, host_vars/ files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadInventory, parseInventoryText } from '../../../agent/inventory/index.js';
import { fixture } from './helpers.js';

describe('variable precedence', () => {
  it('merges every layer for a host in a deep group and a high-priority group', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml')]);
    assert.deepEqual(inv.hosts.get('web02.eu.example.com')?.vars, {
      // all, from the inventory file
      ansible_user: 'deploy',
      app_env: 'production',
      // canary (priority 10) is merged after web (priority 1) at the same depth
      php_version: '8.3',
      release_channel: 'canary',
      http_port: 80,
      // web_eu, one level deeper
      region: 'eu',
      // group_vars/all.yml replaces the inventory's all vars; "yes" is YAML 1.1 true
      ntp_server: 'ntp.internal.example.com',
      deploy_keep_releases: 5,
      ansible_become: true,
      // group_vars/web/ (main.yml then zz_tuning.yml), then group_vars/canary.json: 30 -> 32 -> 8
      php_fpm_max_children: 8,
      // group_vars/web/main.yml beats web_eu's inventory value (debug): files beat the inventory
      log_level: 'warning',
      opcache: { enable: true, memory: 128 },
      feature_flags: ['new_checkout'],
      // group_vars/web_eu.yaml
      cdn_region: 'eu-west',
    });
  });

  it('lets inventory host vars beat group_vars/ files, and host_vars/ beat everything', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml')]);
    const v = (host: string, key: string): unknown => inv.hosts.get(host)?.vars[key];
    assert.equal(v('web03.eu.example.com', 'php_fpm_max_children'), 32); // group_vars/web, last file
    assert.equal(v('web-us-a.example.com', 'php_fpm_max_children'), 40); // inventory host var
    assert.equal(v('web01.eu.example.com', 'php_fpm_max_children'), 50); // host_vars/web01…yml
    assert.equal(v('bastion.example.com', 'ansible_port'), 22022); // host_vars beats the inventory's 2200
    assert.equal(v('web01.eu.example.com', 'php_version'), '8.2');
    assert.equal(v('web01.eu.example.com', 'release_channel'), 'stable');
    assert.equal(v('web-us-b.example.com', 'region'), 'us');
  });

  it('orders same-depth, same-priority groups by name', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml')]);
    // db2 is in backup (3307) and db (3306): 'db' sorts after 'backup', so it wins.
    assert.equal(inv.hosts.get('db2.example.com')?.vars['mysql_port'], 3306);
    assert.equal(inv.hosts.get('db2.example.com')?.vars['backup_window'], '02:00-04:00');
    assert.equal(inv.hosts.get('db2.example.com')?.vars['ansible_port'], 2222);
  });

  it('reads host_vars/<host>/ directories in lexical order, files without extension included', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml')]);
    const db1 = inv.hosts.get('db1.example.com')?.vars;
    assert.equal(db1?.['mysql_server_id'], 1);
    // An inline !vault value, decrypted (test password, test/fixtures/vault/README.md).
    assert.equal(db1?.['mysql_root_password'], 'prod-mysql-root-pw');
  });

  it('skips files in group_vars/<group>/ that are not vars files', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml')]);
    assert.equal(inv.hosts.get('web01.eu.example.com')?.vars['not'], undefined);
  });

  it('reports group vars as the inventory value with group_vars/ files on top', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml')]);
    assert.deepEqual(inv.groups.get('canary')?.vars, {
      php_version: '8.3',
      release_channel: 'canary',
      feature_flags: ['new_checkout'],
      php_fpm_max_children: 8,
    });
  });

  it('without ansible_group_priority, same-depth groups merge by name', () => {
    const text = (prio: string): string =>
      `b_group:\n  vars:\n    x: from_b\n${prio}  hosts:\n    h:\na_group:\n  vars:\n    x: from_a\n  hosts:\n    h:\n`;
    assert.equal(parseInventoryText(text(''), 'x.yml').hosts.get('h')?.vars['x'], 'from_b');
    // A lower priority than a_group's default 1 makes b_group merge first, so a_group wins.
    assert.equal(
      parseInventoryText(text('    ansible_group_priority: 0\n'), 'x.yml').hosts.get('h')?.vars['x'],
      'from_a',
    );
  });

  it('lets a child group beat its parent whatever the priorities', () => {
    const inv = parseInventoryText(
      'parent:\n  vars:\n    x: parent\n    ansible_group_priority: 99\n  children:\n    child:\n      vars:\n        x: child\n      hosts:\n        h:\n',
      'x.yml',
    );
    assert.equal(inv.hosts.get('h')?.vars['x'], 'child');
  });

  it('merges several sources: all group_vars/all files first, then group files, source by source', async () => {
    const inv = await loadInventory([fixture('multi/a/hosts.yml'), fixture('multi/b/inventory')]);
    // b/group_vars/all.yml (blue) is below a/group_vars/web.yml (red) ...
    assert.equal(inv.hosts.get('w1')?.vars['color'], 'red');
    // ... and for the same group, the later source wins.
    assert.equal(inv.hosts.get('w1')?.vars['size'], 'b');
    assert.deepEqual(inv.groups.get('web')?.hosts, ['w1', 'w2']);
    assert.deepEqual(inv.sources, [fixture('multi/a/hosts.yml'), fixture('multi/b/inventory')]);
  });

  it('replaces whole values rather than merging nested mappings', () => {
    const inv = parseInventoryText(
      'all:\n  vars:\n    php: {memory: 128M, fpm: true}\n  hosts:\n    h:\n      php: {memory: 256M}\n',
      'x.yml',
    );
    assert.deepEqual(inv.hosts.get('h')?.vars['php'], { memory: '256M' });
  });
});
