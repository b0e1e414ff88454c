// Ansible Vault and templated connection variables against real lab hosts, through the real CLI:
// a vault-encrypted group_vars/all/vault.yml opened with --vault-password-file, --vault-id and
// $ANSIBLE_VAULT_PASSWORD_FILE; wrong, missing and failing passwords refused before any
// connection; ansible_host and ansible_become_password rendered from vault variables, the latter
// being exactly what sudo gets, and no secret in any output stream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encryptVault } from '../../agent/vault/index.js';
import { jsonEvents, runCli, type CliResult } from '../support/cli.js';
import { fixture } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

let lab: EnsuredLab;
let tmp: string;
let home: string;
/** The lab's inventory copied into a directory with an encrypted group_vars/all/vault.yml (vault id "lab"). */
let labDir: string;
/** One host whose address and sudo password are templates of vault variables. */
let tplDir: string;
let sudoHost: { name: string; address: string };

const pwFile = fixture('vault', 'password-default.txt');
const wrongPwFile = fixture('vault', 'password-dev.txt');
const password = readFileSync(pwFile, 'utf8').trim();
const token = `vault-token-${randomBytes(6).toString('hex')}`;
const sudoPassword = `vault-sudo-${randomBytes(6).toString('hex')}`;
const SUDO_USER = 'vaultsudo';

function hostEnds(stdout: string) {
  return jsonEvents(stdout).filter((e) => e.type === 'host-end') as unknown as { host: string; ok: boolean; data?: { user: string } }[];
}

/** No secret of this file — decrypted values, vault password — in anything the run printed. */
function assertNoSecret(r: CliResult): void {
  for (const s of [token, sudoPassword, password]) {
    assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `a secret was printed:\n${r.stdout}${r.stderr}`);
  }
}

/** A refusal before anything connected: exit 1, one line on stderr, no event on stdout. */
function assertRefusedBeforeConnecting(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, '', 'nothing ran (no run-start event)');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, message);
  assertNoSecret(r);
}

before(async () => {
  lab = await ensureLab(1);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-vault-'));
  home = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-vault-home-'));
  sudoHost = lab.hosts[0]!;

  labDir = path.join(tmp, 'lab');
  mkdirSync(path.join(labDir, 'group_vars', 'all'), { recursive: true });
  writeFileSync(path.join(labDir, 'hosts.yml'), readFileSync(lab.inventoryFile, 'utf8'));
  writeFileSync(path.join(labDir, 'group_vars', 'all', 'vault.yml'), encryptVault(`vault_api_token: ${token}\n`, password, { vaultId: 'lab' }));

  // A user whose sudo asks for a password, which only the vault knows.
  const pub = readFileSync(`${lab.keyFile}.pub`, 'utf8').trim();
  await onHost(
    lab,
    sudoHost.name,
    [
      `id ${SUDO_USER} >/dev/null 2>&1 || useradd -m -s /bin/sh ${SUDO_USER}`,
      `echo '${SUDO_USER}:${sudoPassword}' | chpasswd`,
      `install -d -m 700 -o ${SUDO_USER} -g ${SUDO_USER} ~${SUDO_USER}/.ssh`,
      `echo '${pub}' > ~${SUDO_USER}/.ssh/authorized_keys`,
      `chown ${SUDO_USER}:${SUDO_USER} ~${SUDO_USER}/.ssh/authorized_keys`,
      `echo '${SUDO_USER} ALL=(ALL) ALL' > /etc/sudoers.d/${SUDO_USER} && chmod 440 /etc/sudoers.d/${SUDO_USER}`,
    ].join('\n'),
  );

  tplDir = path.join(tmp, 'tpl');
  mkdirSync(path.join(tplDir, 'group_vars', 'all'), { recursive: true });
  const doc = {
    all: {
      vars: {
        ansible_user: SUDO_USER,
        ansible_ssh_private_key_file: lab.keyFile,
        ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile} -o StrictHostKeyChecking=yes`,
        ansible_become: true,
        ansible_become_password: '{{ vault_sudo_pass }}',
      },
      // The address is no name OpenSSH could resolve: only the rendered template reaches the host.
      hosts: { 'vaulted-host': { ansible_host: '{{ vault_addresses[inventory_hostname] }}' } },
    },
  };
  writeFileSync(path.join(tplDir, 'hosts.yml'), JSON.stringify(doc, null, 2));
  writeFileSync(
    path.join(tplDir, 'group_vars', 'all', 'vault.yml'),
    encryptVault(`vault_sudo_pass: "${sudoPassword}"\nvault_addresses:\n  vaulted-host: "${sudoHost.address}"\n`, password),
  );
});

after(async () => {
  await onHost(lab, sudoHost.name, `rm -f /etc/sudoers.d/${SUDO_USER}; userdel -r ${SUDO_USER} 2>/dev/null; true`);
  rmSync(tmp, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('vault-encrypted group_vars on lab hosts', () => {
  const ping = (extra: string[], env: NodeJS.ProcessEnv = {}) => runCli(['ping', '-i', labDir, '--json', ...extra], { env: { HOME: home, ...env } });

  function assertAllPinged(r: CliResult): void {
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ends = hostEnds(r.stdout);
    assert.deepEqual(ends.map((e) => e.host).sort(), lab.hosts.map((h) => h.name).sort());
    assert.ok(ends.every((e) => e.ok && e.data?.user === 'root'), r.stdout);
    assertNoSecret(r);
  }

  it('opens it with --vault-password-file', async () => {
    assertAllPinged(await ping(['--vault-password-file', pwFile]));
  });

  it('opens it with --vault-id label@file, the header\'s label first among several ids', async () => {
    assertAllPinged(await ping(['--vault-id', `other@${wrongPwFile}`, '--vault-id', `lab@${pwFile}`]));
  });

  it('opens it with $ANSIBLE_VAULT_PASSWORD_FILE, and with a password client script', async () => {
    assertAllPinged(await ping([], { ANSIBLE_VAULT_PASSWORD_FILE: pwFile }));
    assertAllPinged(await ping(['--vault-id', `default@${fixture('vault', 'vault-pass-client.sh')}`]));
  });

  it('refuses a wrong password in one line naming the file and the ids tried, before connecting', async () => {
    // As ansible-core: --vault-id sources first, then --vault-password-file ones (id "default").
    const r = await ping(['--vault-password-file', wrongPwFile, '--vault-id', `prod@${fixture('vault', 'password-prod.txt')}`]);
    const file = path.join(labDir, 'group_vars', 'all', 'vault.yml');
    assertRefusedBeforeConnecting(r, new RegExp(`^lanes: decryption failed for ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no vault secret matched \\(tried ids: prod, default\\)`));
  });

  it('says which options give a password when none is given', async () => {
    assertRefusedBeforeConnecting(await ping([], { ANSIBLE_VAULT_PASSWORD_FILE: '' }), /vault\.yml is vault-encrypted and no vault password was given \(give one with --vault-password-file FILE, --vault-id/);
  });

  it('refuses --ask-vault-pass without a terminal, and names a failing password script with its exit code but not its output', async () => {
    assertRefusedBeforeConnecting(await ping(['--ask-vault-pass']), /cannot ask for the vault password: standard input is not a terminal/);
    const r = await ping(['--vault-id', `lab@${fixture('vault', 'failing-pass.sh')}`]);
    assertRefusedBeforeConnecting(r, /vault password script .*failing-pass\.sh \(--vault-id\) failed with exit code 3/);
    assert.ok(!r.stderr.includes('stdout-of-failing-script'));
  });
});

describe('connection variables rendered from vault variables', () => {
  it('connects to the templated ansible_host and escalates with the templated sudo password, printing neither', async () => {
    const r = await runCli(['ping', '-i', tplDir, '--json', '--vault-password-file', pwFile], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const [end] = hostEnds(r.stdout);
    // root through sudo: the user's sudo accepts only the password from the vault.
    assert.deepEqual([end?.host, end?.ok, end?.data?.user], ['vaulted-host', true, 'root']);
    assertNoSecret(r);
    // The same in plain (CI log) output.
    const plain = await runCli(['ping', '-i', tplDir, '--vault-password-file', pwFile], { env: { HOME: home } });
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assertNoSecret(plain);
    // sudo saw no failed attempt: the password was right the first time, never a literal template.
    // ("[v]aultsudo": the pattern must not match sudo's own log line of this very command.)
    const failures = await onHost(lab, sudoHost.name, `journalctl -q _COMM=sudo --no-pager 2>/dev/null | grep -c '[${SUDO_USER[0]}]${SUDO_USER.slice(1)} : .*incorrect password' || true`);
    assert.equal(failures.trim(), '0');
  });

  it('refuses an undefined variable in a connection variable, naming host and variable, before connecting', async () => {
    const inv = JSON.parse(readFileSync(path.join(tplDir, 'hosts.yml'), 'utf8')) as { all: { vars: Record<string, unknown> } };
    inv.all.vars['ansible_become_password'] = '{{ vault_sudo_password_typo }}';
    const dir = path.join(tmp, 'typo');
    mkdirSync(path.join(dir, 'group_vars', 'all'), { recursive: true });
    writeFileSync(path.join(dir, 'hosts.yml'), JSON.stringify(inv));
    writeFileSync(path.join(dir, 'group_vars', 'all', 'vault.yml'), readFileSync(path.join(tplDir, 'group_vars', 'all', 'vault.yml')));
    const r = await runCli(['ping', '-i', dir, '--json', '--vault-password-file', pwFile], { env: { HOME: home } });
    assertRefusedBeforeConnecting(r, /^lanes: vaulted-host: cannot render ansible_become_password: undefined variable "vault_sudo_password_typo"/);
  });
});
