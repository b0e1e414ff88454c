// `lanes config` and settings taking effect in commands: the built CLI run in directories with an
// ansible.cfg, with a clean environment (so the machine's own ANSIBLE_* cannot leak in).
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SETTINGS } from '../../../agent/config/index.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { fixture } from '../../support/paths.js';

const HOME = '/nonexistent-home';

function lanes(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli(args, { cwd, inheritEnv: false, env: { PATH: process.env.PATH, HOME, VAULT_DIR: '/run/vault', ...env } });
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lanes-config-cli-'));
  chmodSync(d, 0o755);
  return d;
}

/** What ansible-config printed for a case (recorded by test/fixtures/config/record.sh), with real paths. */
function recorded(name: string): string[] {
  return readFileSync(fixture('config', 'expected', `${name}.txt`), 'utf8')
    .replaceAll('<FIXTURES>', fixture('config'))
    .replaceAll('<HOME>', HOME)
    .split('\n')
    .filter((l) => l !== '');
}

const HONOURED = new Set(SETTINGS.map((s) => s.name));
// Settings of the recorded cases that lanes does not support, and how `lanes config` names them.
const UNSUPPORTED_AS: Record<string, string> = {
  CALLBACKS_ENABLED: '[defaults] callbacks_enabled',
  DEFAULT_STDOUT_CALLBACK: '[defaults] stdout_callback',
  RETRY_FILES_ENABLED: '[defaults] retry_files_enabled',
};

/** lanes config agrees with ansible-config dump --only-changed: the same lines, or the setting named as unsupported. */
async function agreesWithAnsible(name: string, cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await lanes(['config'], cwd, env);
  assert.equal(r.code, 0, r.stderr);
  const ours = r.stdout.split('\n');
  const [settingsPart, unsupportedPart = ''] = r.stdout.split('\nSet but not supported by lanes (no effect):\n');
  let matched = 0;
  for (const line of recorded(name)) {
    const setting = /^(\w+)\(/.exec(line)?.[1] ?? '';
    if (setting === 'CONFIG_FILE' || HONOURED.has(setting)) {
      assert.ok(ours.includes(line), `lanes config lacks: ${line}\n--- lanes printed:\n${r.stdout}`);
      matched += 1;
    } else {
      const as = UNSUPPORTED_AS[setting];
      assert.ok(as, `no expectation for ${setting}`);
      assert.match(unsupportedPart, new RegExp(`^  ${as.replace(/[[\]]/g, '\\$&')} \\(`, 'm'));
    }
  }
  // Nothing else among the settings, except the ssh settings ansible-config prints under the ssh plugin.
  const extra = (settingsPart ?? '').split('\n').filter((l) => l !== '' && !recorded(name).includes(l) && !/^ssh_\w+\(/.test(l));
  assert.deepEqual(extra, []);
  assert.ok(matched > 0);
  return r.stdout;
}

describe('lanes config', () => {
  it('prints what ansible-config dump --only-changed prints for ./ansible.cfg', async () => {
    const out = await agreesWithAnsible('full', fixture('config', 'full'));
    const cfg = fixture('config', 'full', 'ansible.cfg');
    assert.ok(out.includes(`ssh_args(${cfg}) = -C -o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=30\n`), out);
    assert.ok(out.includes(`  -o ControlMaster in ssh_args (${cfg}:28)\n`), out);
    assert.ok(out.includes(`  [ssh_connection] pipelining (${cfg}:30)\n`), out);
  });

  it('lets ANSIBLE_* win, as ansible-config shows', async () => {
    await agreesWithAnsible('full-env', fixture('config', 'full'), {
      ANSIBLE_FORKS: '9',
      ANSIBLE_HOST_KEY_CHECKING: 'yes',
      ANSIBLE_REMOTE_USER: 'ci',
      ANSIBLE_HASH_BEHAVIOUR: 'replace',
    });
  });

  it('reads the file or directory ANSIBLE_CONFIG names first', async () => {
    await agreesWithAnsible('ansible-config-file', fixture('config', 'other'), { ANSIBLE_CONFIG: 'team.cfg' });
    await agreesWithAnsible('ansible-config-dir', fixture('config', 'other'), { ANSIBLE_CONFIG: '../full' });
  });

  it('--file prints the ansible.cfg used; --all adds the defaults; --json has origins and the unsupported list', async () => {
    const dir = fixture('config', 'other');
    assert.equal((await lanes(['config', '--file'], dir, { ANSIBLE_CONFIG: 'team.cfg' })).stdout, `${join(dir, 'team.cfg')}\n`);
    const none = await lanes(['config', '--file'], tempDir());
    assert.deepEqual([none.code, none.stdout], [0, '']);
    assert.match(none.stderr, /no ansible\.cfg found/);

    const all = await lanes(['config', '--all'], tempDir());
    assert.match(all.stdout, /^CONFIG_FILE\(\) = None\n/);
    assert.ok(all.stdout.includes('DEFAULT_FORKS(default) = 50\n'), all.stdout);
    assert.ok(all.stdout.includes('HOST_KEY_CHECKING(default) = True\n'), all.stdout);
    assert.equal(all.stdout.split('\n').filter((l) => /\(default\) = /.test(l)).length, SETTINGS.length);

    const j = JSON.parse((await lanes(['config', '--json'], dir, { ANSIBLE_CONFIG: 'team.cfg', ANSIBLE_NOCOLOR: '1' })).stdout) as {
      config_file: string;
      settings: { name: string; value: unknown; origin: string }[];
      unsupported: { name: string; where: string }[];
    };
    assert.equal(j.config_file, join(dir, 'team.cfg'));
    assert.deepEqual(j.settings.find((s) => s.name === 'DEFAULT_FORKS'), { name: 'DEFAULT_FORKS', value: 7, origin: join(dir, 'team.cfg'), lanes_option: '--forks' });
    assert.deepEqual(j.unsupported, [{ name: 'ANSIBLE_NOCOLOR', where: 'environment' }]);
  });

  it('refuses a broken ansible.cfg with its location, before any command runs', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nforks = 3\nforks = 4\n');
    const r = await lanes(['config'], dir);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `lanes: ${join(dir, 'ansible.cfg')}:3:1: option "forks" in section [defaults] already exists (set each option once per section)\n`);
  });

  it('skips ./ansible.cfg in a world-writable directory, with the warning', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nforks = 3\n');
    chmodSync(dir, 0o777);
    const r = await lanes(['config'], dir);
    assert.equal(r.stdout, 'CONFIG_FILE() = None\n');
    assert.match(r.stderr, /^\[WARNING\]: Ansible is being run in a world writable directory \(.*\), ignoring it as an ansible\.cfg source\./);
  });
});

describe('settings taking effect in commands', () => {
  it('lanes inventory --list reads the inventory ansible.cfg names when -i is not given, and warns once about the rest', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\ninventory = hosts.ini\nstdout_callback = yaml\n[ssh_connection]\npipelining = True\n');
    writeFileSync(join(dir, 'hosts.ini'), '[web]\nweb1 php_version=8.2\n');
    const r = await lanes(['inventory', '--list'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { web: { hosts: string[] } }).web.hosts, ['web1']);
    const cfg = join(dir, 'ansible.cfg');
    assert.equal(
      r.stderr,
      `[WARNING]: lanes does not support these Ansible settings, which have no effect: [defaults] stdout_callback (${cfg}:3), [ssh_connection] pipelining (${cfg}:5)\n`,
    );
    // $LANES_INVENTORY, lanes' own, is more specific and wins over ansible.cfg.
    writeFileSync(join(dir, 'other.ini'), 'db1\n');
    const other = await lanes(['inventory', '--list'], dir, { LANES_INVENTORY: join(dir, 'other.ini') });
    const parsed = JSON.parse(other.stdout) as { ungrouped: { hosts: string[] }; web?: unknown };
    assert.deepEqual(parsed.ungrouped.hosts, ['db1']);
    assert.equal(parsed.web, undefined);
  });

  it('opens vaults with vault_password_file (relative to ansible.cfg) and vault_identity_list', async () => {
    const dir = tempDir();
    const cfgDir = join(dir, 'conf');
    mkdirSync(join(cfgDir, 'secrets'), { recursive: true });
    copyFileSync(fixture('vault', 'password-default.txt'), join(cfgDir, 'secrets', 'pw.txt'));
    writeFileSync(
      join(cfgDir, 'ansible.cfg'),
      `[defaults]\nvault_password_file = secrets/pw.txt\nvault_identity_list = prod@${fixture('vault', 'password-prod.txt')}, dev@${fixture('vault', 'password-dev.txt')}\n`,
    );
    const inventory = fixture('vault', 'inventory');
    // Run from elsewhere: the relative vault_password_file is found beside ansible.cfg, as in Ansible.
    const r = await lanes(['inventory', '--list', '-i', inventory], dir, { ANSIBLE_CONFIG: join(cfgDir, 'ansible.cfg') });
    assert.equal(r.code, 0, r.stderr);
    const without = await lanes(['inventory', '--list', '-i', inventory], dir);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /is vault-encrypted and no vault password was given/);
  });

  it('hash_behaviour = merge in ansible.cfg changes lanes inventory --list', async () => {
    const dir = fixture('config', 'merge');
    const cfgDir = tempDir();
    writeFileSync(join(cfgDir, 'merge.cfg'), `[defaults]\nhash_behaviour = merge\ninventory = ${join(dir, 'hosts.yml')}\n`);
    const r = await lanes(['inventory', '--list'], dir, { ANSIBLE_CONFIG: join(cfgDir, 'merge.cfg') });
    assert.equal(r.code, 0, r.stderr);
    const vars = (JSON.parse(r.stdout) as { _meta: { hostvars: Record<string, { php: unknown }> } })._meta.hostvars.web1;
    assert.deepEqual(vars?.php, { version: '8.3', ext: ['redis'], fpm: { pm: 'static', max_children: 10, slowlog: '/var/log/slow.log' } });
  });

  it('shows where forks, remote_user and the other defaults came from in --help', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ansible.cfg'), '[defaults]\nforks = 20\nremote_user = deploy\nhost_key_checking = False\n');
    const r = await lanes(['ping', '--help'], dir, { ANSIBLE_TIMEOUT: '25' });
    assert.equal(r.code, 0, r.stderr);
    const cfg = join(dir, 'ansible.cfg');
    const help = r.stdout.replace(/\s+/g, ' ');
    assert.ok(help.includes(`[default: 20 (DEFAULT_FORKS from ${cfg})]`), r.stdout);
    assert.ok(help.includes(`[default: deploy (DEFAULT_REMOTE_USER from ${cfg})]`), r.stdout);
    assert.ok(help.includes('[default: 25 (DEFAULT_TIMEOUT from $ANSIBLE_TIMEOUT)]'), r.stdout);
    assert.ok(help.includes(`[default: true (HOST_KEY_CHECKING=False from ${cfg})]`), r.stdout);
  });

  it('refuses become_method su before connecting to any host', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ansible.cfg'), '[privilege_escalation]\nbecome = yes\nbecome_method = su\n');
    const r = await lanes(['ping', '-i', '192.0.2.1,'], dir);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `lanes: ${join(dir, 'ansible.cfg')}:3: become_method "su" is not supported (lanes escalates with sudo only: set become_method = sudo, or remove it)\n`);
  });
});
