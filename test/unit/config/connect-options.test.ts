// Settings reaching the connection: the options a command builds from ansible.cfg (user, key,
// host_key_checking, timeout, forks, become, ssh_args with -F), resolved for a host as lanes connects.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import yargs from 'yargs';
import { loadSettings } from '../../../agent/config/index.js';
import { hostKeyPreflight } from '../../../agent/transport/host-key-policy.js';
import { resolveTarget } from '../../../agent/transport/target.js';
import { connectOptions, hostOptions } from '../../../cli/options.js';
import { useSettings } from '../../../cli/settings.js';

describe('connect options from ansible.cfg', () => {
  it('feeds the defaults of every host command, the command line and the inventory still winning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanes-config-conn-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'ssh_config'), 'Host *\n  Port 2100\n  User fromfile\n');
    writeFileSync(
      join(dir, 'ansible.cfg'),
      [
        '[defaults]',
        'forks = 20',
        'remote_user = deploy',
        'private_key_file = keys/id_ed25519',
        'host_key_checking = False',
        'timeout = 30',
        '[privilege_escalation]',
        'become = True',
        'become_user = www-data',
        '[ssh_connection]',
        'ssh_args = -C -o ServerAliveInterval=30',
        `ssh_common_args = -F ${join(dir, 'ssh_config')} -o Port=2200`,
      ].join('\n'),
    );
    useSettings(loadSettings({ cwd: dir, env: {}, home: dir, systemFile: join(dir, 'none.cfg') }));

    const args = await hostOptions(yargs([])).parseAsync();
    assert.deepEqual([args.forks, args.user, args['private-key'], args['connect-timeout'], args.become, args['become-user']], [20, 'deploy', join(dir, 'keys/id_ed25519'), 30, true, 'www-data']);
    assert.equal(args['ssh-config'], join(dir, 'ssh_config'));
    assert.equal(args['accept-new-host-keys'], true);

    const opts = await connectOptions(args);
    const t = resolveTarget('web1', {}, { ...opts, env: { HOME: dir } });
    assert.deepEqual(
      { user: t.user, port: t.port, keys: t.identityFiles, acceptNew: t.acceptNewHostKeys, connect: t.connectTimeoutMs, keepalive: t.keepaliveIntervalMs, become: t.become?.user },
      { user: 'deploy', port: 2200, keys: [join(dir, 'keys/id_ed25519')], acceptNew: true, connect: 30000, keepalive: 30000, become: 'www-data' },
    );
    // The host's own connection variables beat ansible.cfg's ssh args.
    const own = resolveTarget('web2', { ansible_ssh_common_args: '-o Port=2300', ansible_user: 'ops' }, { ...opts, env: { HOME: dir } });
    assert.deepEqual([own.port, own.user], [2300, 'ops']);

    // The command line beats ansible.cfg.
    const cli = await hostOptions(yargs(['-f', '3', '-u', 'me', '--connect-timeout', '5', '--no-accept-new-host-keys'])).parseAsync();
    assert.deepEqual([cli.forks, cli.user, cli['connect-timeout'], cli['accept-new-host-keys']], [3, 'me', 5, false]);
  });

  it('takes an empty remote_user or private_key_file as unset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanes-config-conn-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nremote_user =\n[privilege_escalation]\nbecome_user =\n');
    useSettings(loadSettings({ cwd: dir, env: {}, home: dir, systemFile: join(dir, 'none.cfg') }));
    const args = await hostOptions(yargs([])).parseAsync();
    assert.deepEqual([args.user, args['become-user'], args.forks], [undefined, undefined, 50]);
  });

  it('host_key_checking = False warns of unchecked keys as StrictHostKeyChecking no does, and --strict-host-keys still refuses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lanes-config-conn-'));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nhost_key_checking = False\n');
    writeFileSync(join(dir, 'empty_ssh_config'), '');
    useSettings(loadSettings({ cwd: dir, env: {}, home: dir, systemFile: join(dir, 'none.cfg') }));
    const target = async (argv: string[]) => {
      const args = await hostOptions(yargs([...argv, '--ssh-config', join(dir, 'empty_ssh_config')])).parseAsync();
      const opts = await connectOptions(args);
      return { t: resolveTarget('web1', { ansible_host: '192.0.2.10' }, { ...opts, env: { HOME: dir } }), strict: opts.strictHostKeys === true };
    };
    const lax = await target([]);
    assert.equal(lax.t.acceptNewHostKeys, true);
    assert.deepEqual((await hostKeyPreflight([lax.t], lax.strict))?.hosts, ['web1']);
    const strict = await target(['--strict-host-keys']);
    await assert.rejects(hostKeyPreflight([strict.t], strict.strict), /refusing to connect: the host keys of web1 would be accepted without being checked/);
    // Without the setting an unknown key is refused at connect time, and nothing goes unchecked.
    useSettings(loadSettings({ cwd: dir, env: { ANSIBLE_HOST_KEY_CHECKING: 'True' }, home: dir, systemFile: join(dir, 'none.cfg') }));
    const checked = await target([]);
    assert.equal(checked.t.acceptNewHostKeys, false);
    assert.equal(await hostKeyPreflight([checked.t], false), undefined);
  });
});
