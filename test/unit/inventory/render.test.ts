// `ansible-inventory --list` and `--graph` output on the shared fixtures. The expected texts were
// printed by ansible-inventory 2.14 on the same fixtures (see test/fixtures/inventory/expected/README.md)
// and must be reproduced byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { inventoryGraph, inventoryListJson, loadInventory, parseInventoryText } from '../../../agent/inventory/index.js';
import { pyJsonDumps } from '../../../agent/values/python.js';
import { expectLanesError, fixture } from './helpers.js';

describe('inventoryListJson', () => {
  for (const [name, source] of [
    ['prod', 'prod/hosts.yml'],
    ['legacy', 'legacy/hosts.ini'],
  ] as const) {
    it(`prints what ansible-inventory --list prints for ${source}`, async () => {
      const inv = await loadInventory([fixture(source)]);
      const expected = readFileSync(fixture(`expected/${name}.list.json`), 'utf8');
      assert.equal(`${pyJsonDumps(inventoryListJson(inv), { indent: 4, sortKeys: true, ensureAscii: false })}\n`, expected);
    });
  }

  it('has the --list shape: all.children, group hosts/children, _meta.hostvars, empty groups only as children', () => {
    const inv = parseInventoryText(
      'all:\n  vars: {u: deploy}\n  children:\n    web:\n      hosts:\n        w1:\n          p: 1\n    empty:\n    php:\n      children:\n        web:\n  hosts:\n    solo:\n',
      'x.yml',
    );
    assert.deepEqual(inventoryListJson(inv), {
      _meta: { hostvars: { w1: { p: 1, u: 'deploy' }, solo: { u: 'deploy' } } },
      all: { children: ['ungrouped', 'web', 'empty', 'php'] },
      php: { children: ['web'] },
      ungrouped: { hosts: ['solo'] },
      web: { hosts: ['w1'] },
    });
  });

  it('with export, puts group vars on groups and leaves hosts only their own', () => {
    const inv = parseInventoryText('[web]\nw1 p=1\nw2\n[web:vars]\nx=hello\n', 'hosts.ini');
    assert.deepEqual(inventoryListJson(inv, { export: true }), {
      _meta: { hostvars: { w1: { p: 1 } } },
      all: { children: ['ungrouped', 'web'] },
      web: { hosts: ['w1', 'w2'], vars: { x: 'hello' } },
    });
  });
});

describe('inventoryGraph', () => {
  it('prints the --graph tree in declaration order, ungrouped first (as ansible-inventory)', async () => {
    const inv = await loadInventory([fixture('legacy/hosts.ini')]);
    assert.equal(
      inventoryGraph(inv),
      [
        '@all:',
        '  |--@ungrouped:',
        '  |  |--bastion.legacy.example.com',
        '  |--@db:',
        '  |  |--db1.legacy.example.com',
        '  |  |--db2.legacy.example.com',
        '  |--@php:',
        '  |  |--@web:',
        '  |  |  |--web1.legacy.example.com',
        '  |  |  |--web2.legacy.example.com',
        '  |  |  |--web3.legacy.example.com',
        '  |  |  |--web4.legacy.example.com',
        '  |  |--@db_clients:',
        '  |  |  |--web4.legacy.example.com',
      ].join('\n'),
    );
  });

  it('starts from a given group, and shows empty groups', async () => {
    const inv = await loadInventory([fixture('prod/hosts.yml')]);
    assert.equal(
      inventoryGraph(inv, 'web'),
      [
        '@web:',
        '  |--@web_eu:',
        '  |  |--web01.eu.example.com',
        '  |  |--web02.eu.example.com',
        '  |  |--web03.eu.example.com',
        '  |--@web_us:',
        '  |  |--web-us-a.example.com',
        '  |  |--web-us-b.example.com',
      ].join('\n'),
    );
    assert.match(inventoryGraph(inv), /\n {2}\|--@staging_only:(\n|$)/);
  });

  it('rejects an unknown group', async () => {
    const inv = parseInventoryText('[web]\nw1\n', 'hosts.ini');
    await expectLanesError(() => inventoryGraph(inv, 'nosuch'), {
      message: /"nosuch" is not a group/,
      kind: 'pattern',
      hint: /known groups: all, ungrouped, web/,
    });
  });
});
