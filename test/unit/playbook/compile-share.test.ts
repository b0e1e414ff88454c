// Hosts with identical specs share one validated spec object (one copy per distinct spec, not per
// host), and hosts whose specs differ never get each other's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePlaybook } from '../../../agent/playbook/compile.js';
import { loadPlaybook } from '../../../agent/playbook/load.js';
import { fakeRegistry, fixture } from './fake-registry.js';
import { INLINE, compileText, specOf, testInventory } from './helpers.js';

describe('compilePlaybook shares validated specs across hosts', () => {
  it('one object for an identical spec, distinct values for differing specs, each host its own source', async () => {
    const plan = await compilePlaybook(await loadPlaybook(fixture('site.yml')), await testInventory(), {}, fakeRegistry);
    const curl1 = specOf(plan, 'lab1', 'package', 'curl');
    const curl2 = specOf(plan, 'lab2', 'package', 'curl');
    assert.equal(curl1, curl2, 'the same spec on lab1 and lab2 is one object');
    assert.deepEqual(curl1, { name: 'curl', state: 'present' });
    const pool1 = specOf(plan, 'lab1', 'fpm_pool', 'shop_web');
    const pool2 = specOf(plan, 'lab2', 'fpm_pool', 'shop_web');
    assert.notEqual(pool1, pool2);
    assert.equal((pool1.pm as { max_children: number }).max_children, 8);
    assert.equal((pool2.pm as { max_children: number }).max_children, 4);
    const r1 = plan.hosts.get('lab1')!.find((r) => r.type === 'package' && r.id === 'curl')!;
    const r2 = plan.hosts.get('lab2')!.find((r) => r.type === 'package' && r.id === 'curl')!;
    assert.notEqual(r1, r2, 'each host has its own resource');
    assert.deepEqual(r1.source, r2.source);
  });

  it('a second compile gives equal results (the cache lives for one compile)', async () => {
    const a = await compilePlaybook(await loadPlaybook(fixture('site.yml')), await testInventory(), {}, fakeRegistry);
    const b = await compilePlaybook(await loadPlaybook(fixture('site.yml')), await testInventory(), {}, fakeRegistry);
    assert.deepEqual([...a.hosts.entries()].map(([h, rs]) => [h, rs.map((r) => r.spec)]), [...b.hosts.entries()].map(([h, rs]) => [h, rs.map((r) => r.spec)]));
    assert.notEqual(specOf(a, 'lab1', 'package', 'curl'), specOf(b, 'lab1', 'package', 'curl'));
  });
});

describe('compilePlaybook shares resource locators (at) across hosts', () => {
  it('one locator for hosts whose positions are equal, each locating the playbook line of a spec path', async () => {
    const plan = await compileText(['- hosts: app', '  packages:', '    - name: curl', '      version: "v{{ fpm_children }}"'].join('\n'));
    const r1 = plan.hosts.get('lab1')!.find((r) => r.type === 'package')!;
    const r2 = plan.hosts.get('lab2')!.find((r) => r.type === 'package')!;
    assert.notDeepEqual(r1.spec, r2.spec, 'the specs differ (8 and 4)');
    assert.equal(r1.at, r2.at, 'the same positions give one shared locator');
    assert.deepEqual(r1.at?.(['version']), { file: INLINE, line: 4, column: 7 });
    assert.deepEqual(r2.at?.(['name']), { file: INLINE, line: 3, column: 7 });
  });

  it('hosts with the same spec from different playbook lines locate each their own line', async () => {
    // lab1 omits the first list entry and lab2 the second: both get the spec [a], from different lines.
    const plan = await compileText(
      [
        '- hosts: app',
        '  users:',
        '    - name: deploy',
        '      groups:',
        `        - "{{ omit if inventory_hostname == 'lab1' else 'www' }}"`,
        `        - "{{ omit if inventory_hostname == 'lab2' else 'www' }}"`,
      ].join('\n'),
    );
    const r1 = plan.hosts.get('lab1')!.find((r) => r.type === 'user')!;
    const r2 = plan.hosts.get('lab2')!.find((r) => r.type === 'user')!;
    assert.deepEqual(r1.spec, { name: 'deploy', groups: ['www'] });
    assert.equal(r1.spec, r2.spec, 'one validated spec');
    assert.notEqual(r1.at, r2.at);
    assert.equal(r1.at?.(['groups', 0])?.line, 6);
    assert.equal(r2.at?.(['groups', 0])?.line, 5);
  });
});
