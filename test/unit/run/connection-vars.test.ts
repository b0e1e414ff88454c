// Connection variables rendered before connecting: engine, precedence (-e wins), magic variables, errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { parseInventoryText } from '../../../agent/inventory/index.js';
import { connectionHosts } from '../../../agent/run/connection-vars.js';
import { resolveTarget } from '../../../agent/transport/target.js';

const inv = parseInventoryText(
  [
    'all:',
    '  vars:',
    '    domain: example.net',
    '    ssh_port: 2201',
    '    sudo_pass: plain-sudo-pw',
    '  children:',
    '    web:',
    '      vars:',
    '        ansible_host: "{{ inventory_hostname_short }}.{{ group_names[0] }}.{{ domain }}"',
    '        ansible_port: "{{ ssh_port }}"',
    '        ansible_become: "{{ true }}"',
    '        ansible_become_password: "{{ sudo_pass }}"',
    '        ansible_ssh_common_args: "-o ProxyJump=ops@{{ groups.bastion[0] }}"',
    '      hosts:',
    '        w1.internal:',
    '        w2.internal:',
    '          ansible_user: "{{ missing_user }}"',
    '    bastion:',
    '      hosts:',
    '        gate:',
  ].join('\n'),
  'hosts.yml',
);

describe('connection variables', () => {
  it('are rendered with the host\'s variables and the magic ones, keeping the type of one expression', () => {
    const [h] = connectionHosts(inv, ['w1.internal']);
    assert.equal(h?.vars['ansible_host'], 'w1.web.example.net');
    assert.equal(h?.vars['ansible_port'], 2201);
    assert.equal(h?.vars['ansible_become'], true);
    assert.equal(h?.vars['ansible_become_password'], 'plain-sudo-pw');
    assert.equal(h?.vars['ansible_ssh_common_args'], '-o ProxyJump=ops@gate');
    // Other variables are left as they are.
    assert.equal(h?.vars['domain'], 'example.net');
    const t = resolveTarget(h!.name, h!.vars, { env: { HOME: '/home/ops' } });
    assert.equal(t.address, 'w1.web.example.net');
    assert.equal(t.port, 2201);
    assert.deepEqual(t.become, { user: 'root', password: 'plain-sudo-pw' });
    assert.equal(t.jumps[0]?.address, 'gate');
  });

  it('take -e over the inventory, both as values and in templates', () => {
    const [h] = connectionHosts(inv, ['w1.internal'], { domain: 'other.org', ansible_port: 22, ansible_user: '{{ "dep" ~ "loy" }}' });
    assert.equal(h?.vars['ansible_host'], 'w1.web.other.org');
    assert.equal(h?.vars['ansible_port'], 22);
    assert.equal(h?.vars['ansible_user'], 'deploy');
  });

  it('refuse an undefined variable, naming the host and the connection variable, before any connection', () => {
    assert.throws(
      () => connectionHosts(inv, ['w1.internal', 'w2.internal']),
      (e: Error) => e instanceof LanesError && e.host === 'w2.internal' && /^cannot render ansible_user: undefined variable "missing_user"/.test(e.message),
    );
  });

  it('never reach resolveTarget as a template (sudo never gets "{{ … }}")', () => {
    assert.throws(
      () => resolveTarget('h', { ansible_become: true, ansible_become_password: '{{ vault_sudo_pass }}' }, { env: {} }),
      (e: Error) => e instanceof LanesError && e.message === 'ansible_become_password is a template that was not rendered' && e.host === 'h',
    );
  });
});

describe('connection variables holding Python values', () => {
  it('give a float its Python text', () => {
    const pyInv = parseInventoryText(['all:', '  hosts:', '    h1:', '      ansible_user: 8.0', '      ansible_host: "{{ ansible_user }}"'].join('\n'), 'hosts.yml');
    const [h] = connectionHosts(pyInv, ['h1']);
    assert.equal(h?.vars['ansible_user'], '8.0');
    assert.equal(h?.vars['ansible_host'], '8.0');
  });
});
