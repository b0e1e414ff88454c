// The YAML inventory format: structure, membership, host vars merging, YAML 1.1 scalars.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInventoryText } from '../../../agent/inventory/index.js';
import './helpers.js'; // gives the test vault password for the !vault value below
import { PyDate } from '../../../agent/values/python.js';

const NESTED = `
all:
  vars:
    ansible_user: deploy
  children:
    php:
      children:
        web:
          hosts:
            web1:
              ansible_host: 10.0.0.1
              role: frontend
            web2:
        workers:
          hosts:
            worker1:
    db:
      hosts:
        db1:
          ansible_host: 10.0.1.1
# groups may also sit at the top level, next to all
monitoring:
  hosts:
    web1:
      role: probe
      exporter: node
    mon1:
`;

describe('YAML inventory', () => {
  it('builds nested children and records direct members', () => {
    const inv = parseInventoryText(NESTED, 'inv.yml');
    assert.deepEqual([...inv.hosts.keys()], ['web1', 'web2', 'worker1', 'db1', 'mon1']);
    assert.deepEqual(inv.groups.get('php')?.children, ['web', 'workers']);
    assert.deepEqual(inv.groups.get('php')?.hosts, []);
    assert.deepEqual(inv.groups.get('web')?.hosts, ['web1', 'web2']);
    // Top-level groups hang under 'all' next to the declared ones; 'ungrouped' comes first.
    assert.deepEqual(inv.groups.get('all')?.children, ['ungrouped', 'php', 'db', 'monitoring']);
    assert.deepEqual(inv.groups.get('all')?.vars, { ansible_user: 'deploy' });
  });

  it('gives every host all its groups, ancestors and all included, sorted', () => {
    const inv = parseInventoryText(NESTED, 'inv.yml');
    assert.deepEqual(inv.hosts.get('web1')?.groups, ['all', 'monitoring', 'php', 'web']);
    assert.deepEqual(inv.hosts.get('worker1')?.groups, ['all', 'php', 'workers']);
    assert.deepEqual(inv.hosts.get('mon1')?.groups, ['all', 'monitoring']);
  });

  it('merges the vars of a host listed in several groups, later mention winning', () => {
    const inv = parseInventoryText(NESTED, 'inv.yml');
    assert.deepEqual(inv.hosts.get('web1')?.vars, {
      ansible_user: 'deploy',
      ansible_host: '10.0.0.1',
      role: 'probe',
      exporter: 'node',
    });
    assert.deepEqual(inv.hosts.get('web2')?.vars, { ansible_user: 'deploy' });
  });

  it('accepts null sections, null hosts and a single name instead of a mapping', () => {
    const inv = parseInventoryText('web:\n  hosts: web1\n  vars:\n  children:\ndb:\n', 'x.yml');
    assert.deepEqual(inv.groups.get('web')?.hosts, ['web1']);
    assert.deepEqual(inv.groups.get('db')?.hosts, []);
    assert.ok(inv.groups.has('db'));
  });

  it('puts hosts listed only under all into ungrouped', () => {
    const inv = parseInventoryText('all:\n  hosts:\n    lonely:\n  children:\n    web:\n      hosts:\n        w1:\n', 'x.yml');
    assert.deepEqual(inv.groups.get('ungrouped')?.hosts, ['lonely']);
    assert.deepEqual(inv.groups.get('all')?.hosts, ['lonely']);
    assert.deepEqual(inv.hosts.get('lonely')?.groups, ['all', 'ungrouped']);
    assert.deepEqual(inv.hosts.get('w1')?.groups, ['all', 'web']);
  });

  it('takes a :port suffix as ansible_port, overridable by an explicit var', () => {
    const inv = parseInventoryText(
      'web:\n  hosts:\n    web1:2222:\n    "[2001:db8::1]:2200":\n    web2:2223:\n      ansible_port: 22\n',
      'x.yml',
    );
    assert.equal(inv.hosts.get('web1')?.vars['ansible_port'], 2222);
    assert.equal(inv.hosts.get('2001:db8::1')?.vars['ansible_port'], 2200);
    assert.equal(inv.hosts.get('web2')?.vars['ansible_port'], 22);
  });

  it('reads scalars as YAML 1.1 like Ansible (yes is true, 0644 is octal, 0800 stays text)', () => {
    const inv = parseInventoryText(
      [
        'web:',
        '  hosts:',
        '    w1:',
        '      become: yes',
        '      enabled: off',
        '      answer: n',
        '      mode: 0644',
        '      zip: "0800"',
        '      plain_zip: 0800',
        '      version: 8.2',
        '      when: 2024-01-02',
        // encrypted with the default test password (test/fixtures/vault/README.md)
        '      secret: !vault |',
        '        $ANSIBLE_VAULT;1.1;AES256',
        '        30326632643064343837303362633137623437356339386661343133343165323832356332623836',
        '        6636353636313764613530363865643031396130656664650a623164343163363331303161613832',
        '        61646638313739323336306462313662643832393963316433656236323032653137393033343838',
        '        3666633639323066380a656666383436656363383961663266383632323332366263363563646564',
        '        3839',
      ].join('\n'),
      'x.yml',
    );
    assert.deepEqual(inv.hosts.get('w1')?.vars, {
      become: true,
      enabled: false,
      answer: 'n',
      mode: 420,
      zip: '0800',
      plain_zip: '0800',
      version: 8.2,
      when: new PyDate('2024-01-02'),
      secret: 'yaml-1.1-secret',
    });
  });

  it('applies YAML anchors and merge keys inside vars', () => {
    const inv = parseInventoryText(
      'web:\n  vars:\n    <<: &defaults {a: 1, b: 2}\n    b: 3\n  hosts:\n    w1:\n      <<: *defaults\n      c: 4\n',
      'x.yml',
    );
    assert.deepEqual(inv.groups.get('web')?.vars, { a: 1, b: 3 });
    assert.deepEqual(inv.hosts.get('w1')?.vars, { a: 1, b: 2, c: 4 });
  });

  it('keeps ansible_group_priority out of the group vars', () => {
    const inv = parseInventoryText('web:\n  vars:\n    ansible_group_priority: 5\n    x: 1\n  hosts:\n    w1:\n', 'x.yml');
    assert.deepEqual(inv.groups.get('web')?.vars, { x: 1 });
    assert.deepEqual(inv.hosts.get('w1')?.vars, { x: 1 });
  });

  it('treats an empty file as an empty inventory', () => {
    const inv = parseInventoryText('# nothing yet\n', 'empty.yml');
    assert.deepEqual([...inv.groups.keys()], ['all', 'ungrouped']);
    assert.equal(inv.hosts.size, 0);
  });
});
