// hash_behaviour=merge: mappings merged recursively across variable layers (inventory, group_vars/,
// host_vars/, play vars, vars_files, -e), as Ansible's combine_vars; 'replace' (the default) unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadInventory } from '../../../agent/inventory/index.js';
import { combineVars } from '../../../agent/inventory/vars.js';
import { parseExtraVars } from '../../../agent/playbook/vars.js';
import { PyFloat } from '../../../agent/values/python.js';
import { fixture } from '../../support/paths.js';
import { compileText, specOf } from '../playbook/helpers.js';

describe('combineVars', () => {
  it('merges mappings recursively and replaces everything else, lists included', () => {
    const lower = { a: { b: 1, c: { d: 2 } }, l: [1], s: 'x', f: new PyFloat(8) };
    const target = { ...lower };
    combineVars(target, { a: { c: { e: 3 } }, l: [2], f: { now: 'a map' } }, 'merge');
    assert.deepEqual(target, { a: { b: 1, c: { d: 2, e: 3 } }, l: [2], s: 'x', f: { now: 'a map' } });
    // The lower layer's own mappings are not modified.
    assert.deepEqual(lower.a, { b: 1, c: { d: 2 } });
  });

  it('replaces whole top-level keys with "replace"', () => {
    const target: Record<string, unknown> = { a: { b: 1 } };
    combineVars(target, { a: { c: 2 } }, 'replace');
    assert.deepEqual(target, { a: { c: 2 } });
  });
});

describe('hash_behaviour in the inventory', () => {
  // Expected values as `ANSIBLE_HASH_BEHAVIOUR=merge ansible-inventory -i hosts.yml --host web1`
  // (ansible-core 2.14.18) prints them, and without the variable.
  it('merges all < group < group_vars/ < host < host_vars/ with merge', async () => {
    const inv = await loadInventory([fixture('config', 'merge', 'hosts.yml')], { hashBehaviour: 'merge' });
    assert.deepEqual(inv.hosts.get('web1')?.vars, {
      php: { version: '8.3', ext: ['redis'], fpm: { pm: 'static', max_children: 10, slowlog: '/var/log/slow.log' } },
      tags: ['a'],
    });
  });

  it('keeps the last layer\'s whole value by default', async () => {
    const inv = await loadInventory([fixture('config', 'merge', 'hosts.yml')]);
    assert.deepEqual(inv.hosts.get('web1')?.vars, { php: { version: '8.3' }, tags: ['a'] });
  });
});

describe('hash_behaviour in playbooks and -e', () => {
  const play = [
    '- hosts: lab1',
    '  vars:',
    '    php: { version: "8.2", fpm: { pm: dynamic, max: 5 } }',
    '  files:',
    '    - path: /etc/php-summary',
    `      content: "{{ php.fpm.pm | default('-') }} {{ php.fpm.max }} {{ php.version | default('-') }}"`,
  ].join('\n');

  it('merges -e into play vars with merge, and replaces by default', async () => {
    const extraVars = { php: { fpm: { max: 9 } } };
    const merged = await compileText(play, { extraVars, hashBehaviour: 'merge' });
    assert.equal(specOf(merged, 'lab1', 'file', '/etc/php-summary').content, 'dynamic 9 8.2');
    const replaced = await compileText(play, { extraVars });
    assert.equal(specOf(replaced, 'lab1', 'file', '/etc/php-summary').content, '- 9 -');
  });

  it('combines several -e the same way', async () => {
    const args = ['{"php": {"fpm": {"pm": "static"}}}', '{"php": {"fpm": {"max": 3}}}'];
    assert.deepEqual(await parseExtraVars(args, process.cwd(), 'merge'), { php: { fpm: { pm: 'static', max: 3 } } });
    assert.deepEqual(await parseExtraVars(args), { php: { fpm: { max: 3 } } });
  });
});
