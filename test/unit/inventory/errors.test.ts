// Malformed inventories: each error names the exact file:line:column and the allowed form.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadInventory, parseInventoryText } from '../../../agent/inventory/index.js';
import { expectLanesError, fixture } from './helpers.js';

const parse = (text: string, file: string) => (): unknown => parseInventoryText(text, file);

describe('YAML inventory errors', () => {
  // Ansible's yaml plugin skips an unknown key with a warning (it used to be an error in lanes).
  it('skips an unknown key in a group with Ansible\'s warning, keeping the rest of the group', () => {
    const inv = parseInventoryText('all:\n  children:\n    web:\n      host:\n        web1:\n      hosts:\n        web2:\n', 'inv.yml');
    assert.deepEqual([...inv.hosts.keys()], ['web2']);
    assert.deepEqual(inv.warnings, ['Skipping unexpected key (host) in group (web), only "vars", "children" and "hosts" are valid']);
  });

  it('rejects a list of hosts where a mapping is expected, at the list', async () => {
    await expectLanesError(parse('web:\n  hosts:\n    - web1\n    - web2\n', 'inv.yml'), {
      message: /"hosts" of group "web" must be a mapping, got a list/,
      line: 3,
      column: 5,
      hint: /not a list/,
    });
  });

  it('rejects host vars that are not a mapping, at the value', async () => {
    await expectLanesError(parse('web:\n  hosts:\n    web1: 10.0.0.1\n', 'inv.yml'), {
      message: /variables of host "web1" must be a mapping, got the string "10.0.0.1"/,
      line: 3,
      column: 11,
      hint: /web1: \{ansible_host: 10.0.0.1\}/,
    });
  });

  // Ansible skips such a group with a warning (it used to be an error in lanes).
  it('skips a group that is a list with Ansible\'s warning', () => {
    const inv = parseInventoryText('web:\n  - web1\ndb:\n  hosts:\n    db1:\n', 'inv.yml');
    assert.deepEqual([...inv.groups.keys()], ['all', 'ungrouped', 'db']);
    assert.deepEqual(inv.warnings, ["Skipping 'web' as this is not a valid group definition"]);
  });

  it('rejects a host name YAML reads as a number', async () => {
    await expectLanesError(parse('web:\n  hosts:\n    1234:\n', 'inv.yml'), {
      message: /host name must be a string, got the number 1234/,
      line: 3,
      column: 5,
      hint: /quote/,
    });
  });

  it('reports YAML syntax errors where the parser stopped', async () => {
    await expectLanesError(parse('web:\n  hosts:\n    web1: {a: 1\n', 'inv.yml'), {
      message: /^invalid YAML: /,
      line: 4,
      column: 1,
    });
  });

  it('rejects a bad ansible_group_priority at its value', async () => {
    await expectLanesError(parse('web:\n  vars:\n    ansible_group_priority: high\n', 'inv.yml'), {
      message: /ansible_group_priority must be an integer/,
      line: 3,
      column: 29,
    });
  });

  it('rejects a group that would be its own ancestor', async () => {
    await expectLanesError(parse('a:\n  children:\n    b:\n      children:\n        a:\n', 'inv.yml'), {
      message: /creates a loop/,
      line: 3,
      column: 5,
    });
  });

  // As text alone (no file to give ansible-inventory), a plugin config is not an inventory; files
  // are read through ansible-inventory (chain.test.ts).
  it('rejects plugin configuration text', async () => {
    await expectLanesError(parse('plugin: aws_ec2\nregions: [eu-west-1]\n', 'aws_ec2.yml'), {
      message: /plugin configuration, not a YAML inventory/,
      line: 1,
      column: 1,
    });
  });
});

describe('INI inventory errors', () => {
  it('rejects a host variable without "=", at the token', async () => {
    await expectLanesError(parse('[web]\nweb1 ansible_host=10.0.0.1 ansible_user deploy\n', 'hosts.ini'), {
      message: /^expected key=value after the host name, got "ansible_user"$/,
      file: 'hosts.ini',
      line: 2,
      column: 28,
      hint: /name key=value/,
    });
  });

  it('rejects a [group:vars] line that is not key=value', async () => {
    await expectLanesError(parse('[web]\nweb1\n\n[web:vars]\n  http_port 8080\n', 'hosts.ini'), {
      message: /expected key=value in \[web:vars\], got "http_port 8080"/,
      line: 5,
      column: 3,
    });
  });

  it('rejects an unknown section suffix, at the suffix', async () => {
    await expectLanesError(parse('[web:foo]\nweb1\n', 'hosts.ini'), {
      message: /section \[web:foo\] has unknown type "foo"/,
      line: 1,
      column: 6,
      hint: /\[group\], \[group:vars\] or \[group:children\]/,
    });
  });

  it('rejects an unterminated quote, at the quote', async () => {
    await expectLanesError(parse('[web]\n  web1 motd="hello\n', 'hosts.ini'), {
      message: /no closing quotation/,
      line: 2,
      column: 13,
    });
  });

  it('rejects [x:children] naming a group that is never declared', async () => {
    await expectLanesError(parse('[prod:children]\nweb\nghost\n[web]\nweb1\n', 'hosts.ini'), {
      message: /\[prod:children\] includes undefined group "ghost"/,
      line: 3,
      column: 1,
    });
  });

  it('rejects [x:vars] for a group that is never declared', async () => {
    await expectLanesError(parse('[web]\nweb1\n[db:vars]\nport=1\n', 'hosts.ini'), {
      message: /section \[db:vars\] is for group "db", which is not defined/,
      line: 3,
      column: 2,
    });
  });

  it('rejects a section header with spaces', async () => {
    await expectLanesError(parse('[web servers]\n', 'hosts.ini'), {
      message: /invalid section header/,
      line: 1,
      column: 1,
    });
  });

  it('rejects a bad range, at the host', async () => {
    await expectLanesError(parse('[web]\nweb1\n   web[10:1] x=1\n', 'hosts.ini'), {
      message: /invalid host range in "web\[10:1\]": host range must have begin <= end/,
      line: 3,
      column: 4,
    });
  });

  it('rejects a host with a dangling ":"', async () => {
    await expectLanesError(parse('[web]\nweb1:\n', 'hosts.ini'), { message: /trailing ":"/, line: 2, column: 1 });
  });
});

describe('vars file errors', () => {
  it('point into the group_vars file, not the inventory', async () => {
    await expectLanesError(() => loadInventory([fixture('broken/yaml-syntax/hosts.yml')]), {
      message: /^invalid YAML: /,
      file: fixture('broken/yaml-syntax/group_vars/web.yml'),
      line: 4,
      column: 1,
    });
  });

  it('reject a host_vars file that is not a mapping, at its first node', async () => {
    await expectLanesError(() => loadInventory([fixture('broken/not-a-mapping/hosts')]), {
      message: /a vars file must be a mapping of variable names to values, got a list/,
      file: fixture('broken/not-a-mapping/host_vars/h1/10-extra.yml'),
      line: 2,
      column: 1,
    });
  });
});

describe('connection variables with impossible values', () => {
  it('names the YAML value of a bad ansible_port', async () => {
    await expectLanesError(parse('all:\n  hosts:\n    web1:\n      ansible_port: twenty\n', 'inv.yml'), {
      message: /^ansible_port must be a port number from 1 to 65535, got "twenty"$/,
      file: 'inv.yml',
      line: 4,
      column: 21,
      kind: 'input',
      hint: /ansible_port: 2222/,
    });
  });

  it('names the INI value, on a host line and in a [group:vars] section', async () => {
    await expectLanesError(parse('[web]\nweb1 ansible_host=10.0.0.1 ansible_port=abc\n', 'hosts'), { file: 'hosts', line: 2, column: 41, message: /got "abc"/ });
    await expectLanesError(parse('[web]\nweb1\n[web:vars]\nansible_ssh_port=70000\n', 'hosts'), { line: 4, column: 18, message: /^ansible_ssh_port must be .* got 70000$/ });
  });

  it('accepts a port as a number, as digits, or templated (checked once rendered)', () => {
    const inv = parseInventoryText('all:\n  hosts:\n    a: { ansible_port: 2222 }\n    b: { ansible_port: "22" }\n    c: { ansible_port: "{{ p }}" }\n', 'inv.yml');
    assert.deepEqual([...inv.hosts.values()].map((h) => h.vars.ansible_port), [2222, '22', '{{ p }}']);
  });
});
