// How inventory variables, the command line and ~/.ssh/config combine into one connection target.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSshConfigText } from '../../../agent/transport/ssh-config.js';
import { resolveTarget } from '../../../agent/transport/target.js';

const env = { HOME: '/home/ops', SSH_AUTH_SOCK: '/tmp/agent.sock' };

const sshConfig = parseSshConfigText(
  [
    'Host web1',
    '  HostName 10.0.0.11',
    '  User deploy',
    '  Port 2222',
    '  IdentityFile ~/.ssh/web_key',
    'Host *.internal',
    '  ProxyJump ops@bastion.example.com:2200',
    '  UserKnownHostsFile ~/.ssh/known_hosts.internal',
    'Host bastion.example.com',
    '  IdentityFile ~/.ssh/bastion_key',
  ].join('\n'),
  'test-config',
  { homeDir: '/home/ops' },
);

describe('resolveTarget', () => {
  it('uses the inventory name as address when nothing else is given', () => {
    const t = resolveTarget('app1', {}, { env, user: 'me' });
    assert.equal(t.address, 'app1');
    assert.equal(t.port, 22);
    assert.equal(t.user, 'me');
    assert.deepEqual(t.identityFiles, ['/home/ops/.ssh/id_ed25519', '/home/ops/.ssh/id_ecdsa', '/home/ops/.ssh/id_rsa']);
    assert.equal(t.explicitKey, false);
    assert.equal(t.agentSocket, '/tmp/agent.sock');
    assert.equal(t.become, undefined);
    assert.deepEqual(t.knownHostsFiles, ['/home/ops/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts']);
  });

  it('inventory connection variables win over the command line', () => {
    const t = resolveTarget(
      'app1',
      { ansible_host: '192.0.2.5', ansible_port: 2200, ansible_user: 'deploy', ansible_ssh_private_key_file: '~/.ssh/deploy' },
      { env, user: 'cli-user', privateKey: '/cli/key' },
    );
    assert.equal(t.address, '192.0.2.5');
    assert.equal(t.port, 2200);
    assert.equal(t.user, 'deploy');
    assert.deepEqual(t.identityFiles, ['/home/ops/.ssh/deploy', '/cli/key']);
    assert.equal(t.explicitKey, true);
  });

  it('~/.ssh/config fills in what the inventory leaves open', () => {
    const t = resolveTarget('web1', {}, { env, sshConfig });
    assert.equal(t.address, '10.0.0.11');
    assert.equal(t.user, 'deploy');
    assert.equal(t.port, 2222);
    assert.deepEqual(t.identityFiles, ['/home/ops/.ssh/web_key']);
  });

  it('resolves ProxyJump into a jump host target with its own config', () => {
    const t = resolveTarget('db1', { ansible_host: 'db1.internal' }, { env, sshConfig, user: 'me' });
    assert.equal(t.jumps.length, 1);
    const j = t.jumps[0]!;
    assert.equal(j.address, 'bastion.example.com');
    assert.equal(j.user, 'ops');
    assert.equal(j.port, 2200);
    assert.deepEqual(j.identityFiles, ['/home/ops/.ssh/bastion_key']);
    assert.equal(j.jumps.length, 0);
    assert.ok(t.knownHostsFiles.includes('/home/ops/.ssh/known_hosts.internal'));
  });

  it('reads known_hosts files and jump hosts from ansible_ssh_common_args', () => {
    const t = resolveTarget(
      'lab1',
      { ansible_host: '127.0.1.1', ansible_ssh_common_args: '-o UserKnownHostsFile=/lab/known_hosts -o StrictHostKeyChecking=yes -J jump@gw' },
      { env, user: 'me' },
    );
    assert.equal(t.knownHostsFiles[0], '/lab/known_hosts');
    assert.equal(t.acceptNewHostKeys, false);
    assert.equal(t.jumps[0]?.address, 'gw');
    assert.equal(t.jumps[0]?.user, 'jump');
  });

  it('never turns host key checking off: StrictHostKeyChecking=no only accepts new keys', () => {
    const t = resolveTarget('h', { ansible_ssh_common_args: '-o StrictHostKeyChecking=no' }, { env });
    assert.equal(t.acceptNewHostKeys, true);
  });

  it('become from the inventory, with its user and password', () => {
    const t = resolveTarget('h', { ansible_become: 'yes', ansible_become_user: 'www-data', ansible_become_password: 's3cret' }, { env });
    assert.deepEqual(t.become, { user: 'www-data', password: 's3cret' });
    const u = resolveTarget('h', { ansible_become: false }, { env, become: true });
    assert.equal(u.become, undefined, 'the inventory can switch become off for a host');
  });

  it('IdentitiesOnly with an explicit key does not offer the agent', () => {
    const t = resolveTarget('h', { ansible_ssh_private_key_file: '/k', ansible_ssh_common_args: '-o IdentitiesOnly=yes' }, { env });
    assert.equal(t.agentSocket, undefined);
  });

  it('rejects bad connection variables naming the host', () => {
    assert.throws(() => resolveTarget('h9', { ansible_port: 'twenty-two' }, { env }), (e: Error) => {
      assert.match(e.message, /ansible_port must be a whole number/);
      assert.equal((e as { host?: string }).host, 'h9');
      return true;
    });
    assert.throws(() => resolveTarget('h9', { ansible_become: 'maybe' }, { env }), /ansible_become must be true or false/);
    assert.throws(() => resolveTarget('h9', { ansible_become: true, ansible_become_method: 'su' }, { env }), /not supported/);
  });
});

describe('resolveTarget: known_hosts files as OpenSSH', () => {
  it('UserKnownHostsFile none and /dev/null mean no file: nothing to check against, nowhere to record', () => {
    for (const v of ['none', '/dev/null']) {
      const t = resolveTarget('h', { ansible_ssh_common_args: `-o StrictHostKeyChecking=no -o UserKnownHostsFile=${v}` }, { env });
      assert.deepEqual(t.knownHostsFiles, ['/etc/ssh/ssh_known_hosts'], v);
      assert.equal(t.recordKnownHostsFile, undefined, v);
      assert.equal(t.acceptNewHostKeys, true);
    }
  });

  it('UserKnownHostsFile replaces ~/.ssh/known_hosts and is where new keys are recorded; --known-hosts comes first', () => {
    const t = resolveTarget('h', { ansible_ssh_common_args: '-o UserKnownHostsFile=/ops/kh' }, { env });
    assert.deepEqual(t.knownHostsFiles, ['/ops/kh', '/etc/ssh/ssh_known_hosts']);
    assert.equal(t.recordKnownHostsFile, '/ops/kh');
    const u = resolveTarget('h', { ansible_ssh_common_args: '-o UserKnownHostsFile=/dev/null' }, { env, knownHostsFiles: ['/ci/known_hosts'] });
    assert.deepEqual(u.knownHostsFiles, ['/ci/known_hosts', '/etc/ssh/ssh_known_hosts']);
    assert.equal(u.recordKnownHostsFile, '/ci/known_hosts');
  });

  it('the default is ~/.ssh/known_hosts', () => {
    const t = resolveTarget('h', {}, { env });
    assert.equal(t.recordKnownHostsFile, '/home/ops/.ssh/known_hosts');
  });
});
