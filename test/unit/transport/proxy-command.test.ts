// ProxyCommand: tokens expanded like ssh, the command's stdio is the transport, an early exit is
// one line with its exit code and last stderr line, and the process dies with the connection.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { startProxyCommand } from '../../../agent/transport/proxy-command.js';
import { expandProxyCommand, parseSshConfigText } from '../../../agent/transport/ssh-config.js';
import { resolveTarget } from '../../../agent/transport/target.js';
import { pidAlive } from '../../support/process.js';

const env = { HOME: '/home/ops' };


describe('expandProxyCommand', () => {
  it('expands %h %n %p %r %% and refuses other tokens naming the host', () => {
    const tokens = { h: '10.0.0.5', n: 'web1', p: '2222', r: 'deploy' };
    assert.equal(expandProxyCommand('ssh -W %h:%p -l %r gw # %n 100%%', tokens, 'web1'), 'ssh -W 10.0.0.5:2222 -l deploy gw # web1 100%');
    assert.throws(
      () => expandProxyCommand('nc %h %k', tokens, 'web1'),
      (e: unknown) => e instanceof LanesError && e.host === 'web1' && /%k/.test(e.message),
    );
  });
});

describe('resolveTarget with ProxyCommand', () => {
  const cfg = parseSshConfigText(
    ['Host web1', '  HostName 10.0.0.5', '  Port 2200', '  User deploy', '  ProxyCommand ssh -W %h:%p bastion', 'Host direct', '  ProxyCommand none'].join('\n'),
    'cfg',
    { homeDir: '/home/ops' },
  );

  it('takes the command from ssh config, with %h the resolved HostName', () => {
    const t = resolveTarget('web1', {}, { env, sshConfig: cfg });
    assert.equal(t.proxyCommand, 'ssh -W 10.0.0.5:2200 bastion');
    assert.equal(t.jumps.length, 0);
  });

  it('the inventory port and user are the ones substituted', () => {
    const t = resolveTarget('app', { ansible_host: 'web1', ansible_port: 2300, ansible_ssh_common_args: '-o ProxyCommand="nc %h %p %r"', ansible_user: 'u' }, { env });
    assert.equal(t.proxyCommand, 'nc web1 2300 u');
  });

  it('ProxyCommand none is a direct connection', () => {
    assert.equal(resolveTarget('direct', {}, { env, sshConfig: cfg }).proxyCommand, undefined);
    const t = resolveTarget('web1', { ansible_ssh_common_args: '-o ProxyCommand=none' }, { env, sshConfig: cfg });
    assert.equal(t.proxyCommand, undefined, 'the command line beats the file');
  });

  it('a -J on the command line beats the file ProxyCommand; a command-line ProxyCommand beats the file ProxyJump', () => {
    const a = resolveTarget('web1', { ansible_ssh_common_args: '-J gw' }, { env, sshConfig: cfg });
    assert.equal(a.proxyCommand, undefined);
    assert.equal(a.jumps[0]?.address, 'gw');
    const jcfg = parseSshConfigText('Host *\n  ProxyJump gw\n', 'cfg', { homeDir: '/home/ops' });
    const b = resolveTarget('h', { ansible_ssh_common_args: '-o ProxyCommand="nc %h %p"' }, { env, sshConfig: jcfg });
    assert.equal(b.proxyCommand, 'nc h 22');
    assert.equal(b.jumps.length, 0);
  });
});

describe('startProxyCommand', () => {
  it('its stdin and stdout are the transport', async () => {
    const p = startProxyCommand('cat', 'h1');
    const got: Buffer[] = [];
    p.sock.on('data', (d: Buffer) => got.push(d));
    const ended = new Promise<void>((r) => p.sock.on('end', () => r()));
    p.sock.write('SSH-2.0-hello\r\n');
    p.sock.end();
    await ended;
    assert.equal(Buffer.concat(got).toString(), 'SSH-2.0-hello\r\n');
    await p.exited;
  });

  it('an early exit is one line with the exit code and the last stderr line', async () => {
    const lines: string[] = [];
    const p = startProxyCommand(`sh -c 'echo first >&2; echo "no route to bastion" >&2; exit 3'`, 'lab1', (l) => lines.push(l));
    p.sock.resume();
    await p.exited;
    const f = p.failure();
    assert.ok(f instanceof LanesError);
    assert.equal(f.host, 'lab1');
    assert.match(f.format(), /^lab1: ProxyCommand exited with code 3 before the SSH connection was up: no route to bastion/);
    assert.ok(!f.format().includes('\n'));
    assert.deepEqual(lines, ['first', 'no route to bastion']);
  });

  it('control characters from the command do not reach the error line', async () => {
    const p = startProxyCommand(`sh -c "printf 'bad\\033[2Kthing\\n' >&2; exit 1"`, 'h');
    p.sock.resume();
    await p.exited;
    assert.match(p.failure()?.message ?? '', /bad\?\[2Kthing/);
  });

  it('is killed when the transport is destroyed (connection closed or timed out)', async () => {
    const p = startProxyCommand('sleep 30', 'h');
    assert.ok(p.pid !== undefined && pidAlive(p.pid));
    p.sock.destroy();
    await p.exited;
    assert.ok(!pidAlive(p.pid!), 'the command is gone');
    assert.equal(p.failure(), undefined, 'killed by us: not a failure of the command');
  });

  it('runs as `exec COMMAND` like OpenSSH: only the first command of a list runs', async () => {
    const p = startProxyCommand('exit 3', 'h');
    p.sock.resume();
    await p.exited;
    assert.match(p.failure()?.message ?? '', /exited with code 127/, 'exec exit: not a command, as with ssh');
  });

  it('a command that cannot run is reported by its shell exit code (127)', async () => {
    const p = startProxyCommand('/nonexistent/proxy-binary %h', 'h');
    p.sock.resume();
    await p.exited;
    assert.match(p.failure()?.message ?? '', /exited with code 127/);
  });
});

