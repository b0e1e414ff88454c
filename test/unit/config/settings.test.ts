// ansible.cfg and ANSIBLE_*: configparser rules, search order, precedence, value types, the
// world-writable working directory, and settings lanes does not support.
import { IGNORED_EXTENSIONS } from '../../../agent/inventory/options.js';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findConfigFile, inventoryOptionsOf, loadSettings, parseIni, scanSshArgs, sshArgsOf, unsupportedWarning } from '../../../agent/config/index.js';
import { checkBecomeMethod } from '../../../agent/config/index.js';
import { expectLanesError } from '../../support/errors.js';

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lanes-config-'));
  chmodSync(d, 0o755);
  return d;
}

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** Settings from `text` as ./ansible.cfg of a fresh directory, with only `env` set. */
function settingsOf(text: string, env: NodeJS.ProcessEnv = {}) {
  const dir = tempDir();
  const file = write(dir, 'ansible.cfg', text);
  const home = tempDir();
  return { s: loadSettings({ cwd: dir, env, home, systemFile: join(dir, 'none.cfg') }), dir, file, home };
}

const value = (s: ReturnType<typeof loadSettings>, name: string): unknown => s.byName.get(name)?.value;
const origin = (s: ReturnType<typeof loadSettings>, name: string): string | undefined => s.byName.get(name)?.origin;

describe('ansible.cfg as configparser reads it', () => {
  it('takes "=" and ":", lowercases keys, drops comments, keeps "#" after a value, joins continuation lines', () => {
    const ini = parseIni(
      ['# top', '[defaults]', 'Forks: 20', 'remote_user = ops#1', 'timeout = 30 ; why', 'x = a;b', 'list = one,', '  two', '', '  three', '', '; end'].join('\n'),
      '/c/ansible.cfg',
    );
    const d = ini.sections.get('defaults');
    assert.deepEqual(
      [...(d?.entries() ?? [])].map(([k, e]) => [k, e.value, e.line]),
      [
        ['forks', '20', 3],
        ['remote_user', 'ops#1', 4],
        ['timeout', '30', 5],
        ['x', 'a;b', 6],
        ['list', 'one,\ntwo\n\nthree', 7],
      ],
    );
  });

  it('keeps "%%" as written (values are read raw, without interpolation)', () => {
    assert.equal(parseIni('[defaults]\npct = 50%%\n', 'f').sections.get('defaults')?.get('pct')?.value, '50%%');
  });

  it('refuses what configparser refuses, at the line', async () => {
    await expectLanesError(() => parseIni('forks = 3\n', '/c/a.cfg'), { file: '/c/a.cfg', line: 1, column: 1, message: /before any \[section\]/ });
    await expectLanesError(() => parseIni('[defaults]\nforks=3\nFORKS=4\n', '/c/a.cfg'), { line: 3, message: /option "forks" in section \[defaults\] already exists/ });
    await expectLanesError(() => parseIni('[defaults]\n\n  forks\n', '/c/a.cfg'), { line: 3, column: 3, message: /not a "key = value" line/ });
    await expectLanesError(() => parseIni('[a]\n[b]\n[a]\n', '/c/a.cfg'), { line: 3, message: /section \[a\] already exists/ });
  });
});

describe('which ansible.cfg is read', () => {
  it('ANSIBLE_CONFIG (a file, or a directory with ansible.cfg) first, then ./ansible.cfg, ~/.ansible.cfg, /etc', () => {
    const cwd = tempDir();
    const home = tempDir();
    const other = tempDir();
    const sys = write(other, 'system.cfg', '[defaults]\n');
    const find = (env: NodeJS.ProcessEnv) => findConfigFile({ cwd, home, env, systemFile: sys }).file;
    assert.equal(find({}), sys);
    const user = write(home, '.ansible.cfg', '[defaults]\n');
    assert.equal(find({}), user);
    const local = write(cwd, 'ansible.cfg', '[defaults]\n');
    assert.equal(find({}), local);
    const named = write(other, 'team.cfg', '[defaults]\n');
    assert.equal(find({ ANSIBLE_CONFIG: named }), named);
    write(other, 'ansible.cfg', '[defaults]\n');
    assert.equal(find({ ANSIBLE_CONFIG: other }), join(other, 'ansible.cfg'));
    // A missing ANSIBLE_CONFIG falls through to the next candidate, as in Ansible.
    assert.equal(find({ ANSIBLE_CONFIG: join(other, 'missing.cfg') }), local);
  });

  it('skips ./ansible.cfg in a world-writable directory, with Ansible\'s warning', () => {
    const cwd = tempDir();
    const home = tempDir();
    write(cwd, 'ansible.cfg', '[defaults]\nforks = 99\n');
    chmodSync(cwd, 0o777);
    const found = findConfigFile({ cwd, home, env: {}, systemFile: join(home, 'none') });
    assert.equal(found.file, undefined);
    assert.deepEqual(found.warnings, [
      `Ansible is being run in a world writable directory (${cwd}), ignoring it as an ansible.cfg source. For more information see https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir`,
    ]);
    // Named by ANSIBLE_CONFIG it is read, and nothing is said.
    const named = findConfigFile({ cwd, home, env: { ANSIBLE_CONFIG: join(cwd, 'ansible.cfg') } });
    assert.deepEqual([named.file, named.warnings], [join(cwd, 'ansible.cfg'), []]);
  });

  it('refuses a file that is not .cfg or .ini, as Ansible does', async () => {
    const dir = tempDir();
    const f = write(dir, 'team.conf', '[defaults]\n');
    await expectLanesError(() => loadSettings({ cwd: dir, home: dir, env: { ANSIBLE_CONFIG: f } }), { file: f, message: /unsupported configuration file extension/ });
  });
});

describe('values, types and precedence', () => {
  it('types values as Ansible: integers, booleans, quoted strings, paths relative to the file, lists', () => {
    const { s, dir, home } = settingsOf(
      [
        '[defaults]',
        'inventory = hosts.ini, ~/more , /abs/inv',
        "remote_user = 'deploy'",
        'private_key_file = keys/../keys/id',
        'host_key_checking = Off',
        'forks = 2_0',
        'timeout = +30',
        'vault_password_file = $VAULT/p',
        "vault_identity_list = dev@~/.v, 'prod@prompt'",
        '[privilege_escalation]',
        'become = T',
      ].join('\n'),
      { VAULT: '/run/vault' },
    );
    assert.deepEqual(value(s, 'DEFAULT_HOST_LIST'), [join(dir, 'hosts.ini'), join(home, 'more'), '/abs/inv']);
    assert.equal(value(s, 'DEFAULT_REMOTE_USER'), 'deploy');
    assert.equal(value(s, 'DEFAULT_PRIVATE_KEY_FILE'), join(dir, 'keys/id'));
    assert.equal(value(s, 'HOST_KEY_CHECKING'), false);
    assert.equal(value(s, 'DEFAULT_FORKS'), 20);
    assert.equal(value(s, 'DEFAULT_TIMEOUT'), 30);
    assert.equal(value(s, 'DEFAULT_VAULT_PASSWORD_FILE'), '/run/vault/p');
    assert.deepEqual(value(s, 'DEFAULT_VAULT_IDENTITY_LIST'), ['dev@~/.v', 'prod@prompt']);
    assert.equal(value(s, 'DEFAULT_BECOME'), true);
    assert.equal(origin(s, 'DEFAULT_FORKS'), s.file);
  });

  it('reads booleans as Ansible\'s non-strict boolean: y/yes/on/1/true/t in any case, anything else false', () => {
    for (const [word, expected] of [['YES', true], ['on', true], ['1', true], ['t', true], ['y', true], ['no', false], ['maybe', false], ['"yes"', false]] as const) {
      assert.equal(value(settingsOf(`[privilege_escalation]\nbecome = ${word}\n`).s, 'DEFAULT_BECOME'), expected, word);
    }
  });

  it('lets ANSIBLE_* win over the file, and among names the last listed (ANSIBLE_SSH_TIMEOUT over ANSIBLE_TIMEOUT)', () => {
    const { s, dir } = settingsOf('[defaults]\nforks = 20\ntimeout = 30\ninventory = a.ini\n', {
      ANSIBLE_FORKS: '9',
      ANSIBLE_TIMEOUT: '7',
      ANSIBLE_SSH_TIMEOUT: '4',
    });
    assert.deepEqual([value(s, 'DEFAULT_FORKS'), origin(s, 'DEFAULT_FORKS')], [9, 'env: ANSIBLE_FORKS']);
    assert.deepEqual([value(s, 'DEFAULT_TIMEOUT'), origin(s, 'DEFAULT_TIMEOUT')], [4, 'env: ANSIBLE_SSH_TIMEOUT']);
    assert.deepEqual(value(s, 'DEFAULT_HOST_LIST'), [join(dir, 'a.ini')]);
  });

  it('takes an empty ANSIBLE_* variable as unset', () => {
    const { s, file } = settingsOf('[defaults]\nforks = 20\n', { ANSIBLE_FORKS: '', ANSIBLE_VAULT_PASSWORD_FILE: '' });
    assert.deepEqual([value(s, 'DEFAULT_FORKS'), origin(s, 'DEFAULT_FORKS')], [20, file]);
    assert.deepEqual([value(s, 'DEFAULT_VAULT_PASSWORD_FILE'), origin(s, 'DEFAULT_VAULT_PASSWORD_FILE')], [undefined, 'default']);
  });

  it('resolves a relative path from the environment against the working directory', () => {
    const { s, dir } = settingsOf('[defaults]\n', { ANSIBLE_INVENTORY: 'inv/hosts.yml,other' });
    assert.deepEqual(value(s, 'DEFAULT_HOST_LIST'), [join(dir, 'inv/hosts.yml'), join(dir, 'other')]);
  });

  it('falls back to lanes\' defaults, and inherits [DEFAULT] only into sections that exist', () => {
    const { s } = settingsOf('[DEFAULT]\nforks = 3\nbecome = yes\n[defaults]\n');
    assert.deepEqual([value(s, 'DEFAULT_FORKS'), origin(s, 'DEFAULT_FORKS')], [3, s.file]);
    // There is no [privilege_escalation] section: the DEFAULT value does not reach it.
    assert.deepEqual([value(s, 'DEFAULT_BECOME'), origin(s, 'DEFAULT_BECOME')], [false, 'default']);
    assert.deepEqual([value(s, 'DEFAULT_TIMEOUT'), value(s, 'DEFAULT_HOST_LIST'), value(s, 'DEFAULT_HASH_BEHAVIOUR')], [10, [], 'replace']);
    // [DEFAULT] keys lanes reads somewhere are not reported as unsupported.
    assert.deepEqual(s.unsupported, []);
  });

  it('reads timeout and host_key_checking of [ssh_connection] too, the last one winning, as the ssh connection does', () => {
    // ansible-config dump prints 15/True for DEFAULT_TIMEOUT/HOST_KEY_CHECKING, its ssh plugin section 44/False:
    // lanes follows the ssh connection, which is what connects.
    const { s } = settingsOf('[defaults]\ntimeout = 15\nhost_key_checking = TRUE\n[ssh_connection]\ntimeout = 44\nhost_key_checking = off\n');
    assert.deepEqual([value(s, 'DEFAULT_TIMEOUT'), value(s, 'HOST_KEY_CHECKING')], [44, false]);
  });

  it('keeps quotes around a path as Ansible does (only strings and list items are unquoted)', () => {
    const { s, dir } = settingsOf('[defaults]\nprivate_key_file = "~/k"\ninventory = a.ini,\n  "c.ini"\n');
    assert.equal(value(s, 'DEFAULT_PRIVATE_KEY_FILE'), join(dir, '"~/k"'));
    assert.deepEqual(value(s, 'DEFAULT_HOST_LIST'), [join(dir, 'a.ini'), join(dir, '"c.ini"')]);
  });

  it('refuses a value of the wrong type or outside the choices, where it was set', async () => {
    await expectLanesError(() => settingsOf('[defaults]\n\nforks = many\n'), { line: 3, message: /invalid value "many" for DEFAULT_FORKS: not an integer/ });
    await expectLanesError(() => settingsOf('[defaults]\nhash_behaviour = deep\n'), { line: 2, message: /DEFAULT_HASH_BEHAVIOUR/, hint: /replace, merge/ });
    await expectLanesError(() => settingsOf('[defaults]\n', { ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS: 'sometimes' }), {
      file: '$ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS',
      hint: /never, always, silently, ignore/,
    });
  });

  it('gives hash_behaviour, force_valid_group_names and the directory ignore lists to the inventory', () => {
    const cfg = '[defaults]\nhash_behaviour = merge\nforce_valid_group_names = silently\n[inventory]\nignore_extensions = .skip, .old\nignore_patterns = ^tmp\n';
    assert.deepEqual(inventoryOptionsOf(settingsOf(cfg).s), {
      hashBehaviour: 'merge',
      invalidGroupChars: 'silently',
      ignoreExtensions: ['.skip', '.old'],
      ignorePatterns: ['^tmp'],
    });
    assert.deepEqual(inventoryOptionsOf(settingsOf('[defaults]\n').s), {
      hashBehaviour: 'replace',
      invalidGroupChars: 'never',
      ignoreExtensions: [...IGNORED_EXTENSIONS],
      ignorePatterns: [],
    });
  });

  it('refuses a become_method other than sudo, at its line', async () => {
    const { s, file } = settingsOf('[privilege_escalation]\nbecome = yes\nbecome_method = su\n');
    await expectLanesError(() => checkBecomeMethod(s), { file, line: 3, message: /become_method "su" is not supported/, hint: /sudo only/ });
    checkBecomeMethod(settingsOf('[privilege_escalation]\nbecome_method = sudo\n').s);
  });
});

describe('settings lanes does not support', () => {
  it('names every one, with where it was set, in one warning line', () => {
    const { s, file } = settingsOf('[defaults]\nforks = 5\nstdout_callback = yaml\n[ssh_connection]\npipelining = True\nssh_args = -C -o ControlPersist=60s -o ServerAliveInterval=30 -p 2222\n', {
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_CONFIG: undefined,
      ANSIBLE_FORKS: '3',
    });
    assert.deepEqual(s.unsupported, [
      { name: '[defaults] stdout_callback', where: `${file}:3` },
      { name: '[ssh_connection] pipelining', where: `${file}:5` },
      { name: '-C in ssh_args', where: `${file}:6` },
      { name: '-o ControlPersist in ssh_args', where: `${file}:6` },
      { name: 'ANSIBLE_NOCOLOR', where: 'environment' },
    ]);
    const w = unsupportedWarning(s) ?? '';
    assert.equal(w.split('\n').length, 1);
    assert.match(w, /^lanes does not support these Ansible settings, which have no effect: \[defaults\] stdout_callback \(.*:3\), .*ANSIBLE_NOCOLOR \(environment\)$/);
    assert.equal(unsupportedWarning(settingsOf('[defaults]\nforks = 5\n').s), undefined);
  });

  it('understands -o keywords, -p, -l, -i, -J and -F in ssh args and names the rest', () => {
    assert.deepEqual(scanSshArgs(`-4 -o 'User=deploy' -oStrictHostKeyChecking=no -F ./ssh_config -L 8080:x:80 -o "ProxyCommand ssh -W %h:%p bastion" -vv`, 't'), {
      configFile: './ssh_config',
      unsupported: ['-4', '-L', '-v'],
    });
    const { s } = settingsOf('[ssh_connection]\nssh_args = -o User=a\nssh_common_args = -F cfg1 -o Port=2200\nssh_extra_args = -F cfg2\n');
    assert.deepEqual(sshArgsOf(s).args, '-o User=a -F cfg1 -o Port=2200 -F cfg2');
    assert.equal(sshArgsOf(s).configFile, 'cfg1');
  });
});

