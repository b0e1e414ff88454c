// Loading from paths: format detection, directories, several sources, host lists, bad paths.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { detectFormat, inventoryListJson, loadInventory } from '../../../agent/inventory/index.js';
import { expectLanesError, fixture } from './helpers.js';

describe('format detection', () => {
  it('trusts .yml, .yaml, .json and .ini extensions', () => {
    assert.equal(detectFormat('hosts.yml', '[web]\nweb1\n'), 'yaml');
    assert.equal(detectFormat('hosts.YAML', ''), 'yaml');
    assert.equal(detectFormat('hosts.json', '{}'), 'yaml');
    assert.equal(detectFormat('hosts.ini', 'all:\n  hosts:\n'), 'ini');
  });

  it('sniffs other names by content', () => {
    assert.equal(detectFormat('hosts', 'all:\n  children:\n    web:\n'), 'yaml');
    assert.equal(detectFormat('hosts', '{"all": {"hosts": {"a": null}}}'), 'yaml');
    assert.equal(detectFormat('hosts', '[web]\nweb1\n'), 'ini');
    assert.equal(detectFormat('hosts', 'web1\nweb2\n'), 'ini');
    assert.equal(detectFormat('hosts', 'web1 ansible_host=10.0.0.1\n'), 'ini');
    assert.equal(detectFormat('hosts', 'web1:2222\n'), 'ini');
    assert.equal(detectFormat('hosts', ''), 'ini');
    // Looks like YAML but is broken: detected as YAML so the YAML error is what gets reported.
    assert.equal(detectFormat('hosts', 'all:\n  hosts: {a: 1\n'), 'yaml');
  });

  it('loads extensionless fixtures of both formats', async () => {
    const yaml = await loadInventory([fixture('sniff/yaml-hosts')]);
    const ini = await loadInventory([fixture('sniff/ini-hosts')]);
    assert.deepEqual(yaml.groups.get('web')?.hosts, ['web1']);
    assert.deepEqual(ini.groups.get('web')?.hosts, ['web1']);
    assert.equal(ini.hosts.get('web1')?.vars['ansible_host'], '10.0.0.1');
  });
});

describe('loadInventory', () => {
  it('loads a directory like the file in it, skipping README.md and the vars folders', async () => {
    const fromDir = await loadInventory([fixture('prod')]);
    const fromFile = await loadInventory([fixture('prod/hosts.yml')]);
    assert.deepEqual(inventoryListJson(fromDir), inventoryListJson(fromFile));
    assert.equal(fromDir.hosts.size, 13);
  });

  // Ansible skips .ini files inside a directory and then warns that it could not parse the
  // directory, going on with no hosts; lanes refuses (it used to return an empty inventory).
  it('refuses a directory source whose only file is skipped (.ini inside a directory), naming it', async () => {
    await expectLanesError(() => loadInventory([fixture('legacy')]), {
      message: /^no inventory in directory .*legacy: hosts\.ini is skipped there, as Ansible skips them$/,
      file: fixture('legacy'),
      hint: /\.ini/,
    });
  });

  it('merges several sources into one inventory', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml'), fixture('legacy/hosts.ini')]);
    assert.equal(inv.hosts.size, 13 + 7);
    // 'web' is declared by both files: one group with the hosts of both.
    assert.equal(inv.groups.get('web')?.hosts.length, 4);
    assert.deepEqual(inv.groups.get('web')?.children, ['web_eu', 'web_us']);
    // [web:vars] from the INI file now applies to the YAML web hosts too.
    assert.equal(inv.hosts.get('web01.eu.example.com')?.vars['http_port'], 8080);
    // As in Ansible: the INI parser files its host under ungrouped while reading; the YAML host
    // (listed under all only) gets there when the inventory is reconciled after all sources.
    assert.deepEqual(inv.groups.get('ungrouped')?.hosts, ['bastion.legacy.example.com', 'bastion.example.com']);
  });

  it('accepts a comma-separated host list', async () => {
    const inv = await loadInventory(['web1,web2:2222,']);
    assert.deepEqual([...inv.hosts.keys()], ['web1', 'web2']);
    assert.deepEqual(inv.groups.get('ungrouped')?.hosts, ['web1', 'web2']);
    assert.equal(inv.hosts.get('web2')?.vars['ansible_port'], 2222);
  });

  it('names a missing path', async () => {
    const missing = fixture('nope/hosts.yml');
    await expectLanesError(() => loadInventory([missing]), {
      message: new RegExp(`inventory ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`),
      file: missing,
      kind: 'input',
      hint: /-i/,
    });
  });

  it('refuses an empty list of paths', async () => {
    await expectLanesError(() => loadInventory([]), { message: /no inventory given/ });
  });

  describe('with a scratch directory', () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lanes-inventory-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    // Scripts used to be refused; they are now run as Ansible runs them (more in chain.test.ts).
    it('runs an executable inventory script with --list', async () => {
      const script = join(dir, 'ec2.py');
      await writeFile(script, '#!/bin/sh\necho \'{"web": ["w1"], "_meta": {"hostvars": {"w1": {"php": 8.0}}}}\'\n');
      await chmod(script, 0o755);
      const inv = await loadInventory([script]);
      assert.deepEqual(inv.groups.get('web')?.hosts, ['w1']);
      assert.equal(String(inv.hosts.get('w1')?.vars.php), '8.0');
    });

    it('names a vault-encrypted inventory whose vault data is corrupt, and its line', async () => {
      const file = join(dir, 'secret.yml');
      await writeFile(file, '$ANSIBLE_VAULT;1.1;AES256\n6231\n');
      const err = await expectLanesError(() => loadInventory([file]), { message: /corrupt at line 2/ });
      assert.ok(err.message.includes(file));
    });
  });
});

describe('what a directory source skips (INVENTORY_IGNORE_EXTS, INVENTORY_IGNORE_PATTERNS)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lanes-ignore-'));
    await writeFile(join(dir, 'a.ini'), '[ini]\nh-ini\n');
    await writeFile(join(dir, 'b.skip'), '[skip]\nh-skip\n');
    await writeFile(join(dir, 'tmp-c'), '[tmp]\nh-tmp\n');
    await writeFile(join(dir, 'd'), '[d]\nh-d\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("skips Ansible's default extensions (.ini among them) and nothing else by default", async () => {
    const inv = await loadInventory([dir]);
    assert.deepEqual([...inv.hosts.keys()].sort(), ['h-d', 'h-skip', 'h-tmp']);
  });

  it('skips the configured extensions and patterns instead', async () => {
    const inv = await loadInventory([dir], { ignoreExtensions: ['.skip'], ignorePatterns: ['^tmp-'] });
    assert.deepEqual([...inv.hosts.keys()].sort(), ['h-d', 'h-ini']);
  });
});
