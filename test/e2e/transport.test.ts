// The SSH transport against real lab hosts, through the real CLI and the library:
// auth by key and by agent, host key refusal and accept-new, sudo with and without a password,
// timeouts, an unreachable host next to healthy ones, stdin, upload and jump hosts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../agent/errors.js';
import { SshConnection } from '../../agent/transport/connection.js';
import { resolveTarget } from '../../agent/transport/target.js';
import { jsonEvents, runCli } from '../support/cli.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

let lab: EnsuredLab;
let tmp: string;
/** An empty HOME, so no ~/.ssh of the machine running the tests can make a test pass by accident. */
let home: string;

function inventory(name: string, hosts: Record<string, Record<string, unknown>>, vars: Record<string, unknown> = {}): string {
  const file = path.join(tmp, `${name}.yml`);
  const doc = { all: { vars, hosts } };
  writeFileSync(file, JSON.stringify(doc, null, 2)); // JSON is YAML
  return file;
}

function labVars(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ansible_user: 'lanes',
    ansible_ssh_private_key_file: lab.keyFile,
    ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile}`,
    ...extra,
  };
}

function hostsOf(n: number): Record<string, Record<string, unknown>> {
  return Object.fromEntries(lab.hosts.slice(0, n).map((h) => [h.name, { ansible_host: h.address }]));
}

function hostEnds(stdout: string) {
  return jsonEvents(stdout).filter((e) => e.type === 'host-end') as unknown as {
    host: string;
    ok: boolean;
    data?: { user: string; hostname: string };
    failure?: { message: string; kind: string };
  }[];
}

before(async () => {
  lab = await ensureLab(3);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-transport-'));
  home = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-home-'));
});

describe('lanes ping against the lab', () => {
  it('pings every host of the lab inventory with host key checking on', async () => {
    const r = await runCli(['ping', '-i', lab.inventoryFile, '--json'], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    const ends = hostEnds(r.stdout);
    assert.deepEqual(ends.map((e) => e.host).sort(), lab.hosts.map((h) => h.name).sort());
    for (const e of ends) {
      assert.equal(e.ok, true);
      assert.equal(e.data?.hostname, e.host, 'each host answers with its own name');
    }
  });

  it('prints one plain line per host and a summary when not on a terminal', async () => {
    const r = await runCli(['ping', '-i', lab.inventoryFile], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    for (const h of lab.hosts) assert.match(r.stdout + r.stderr, new RegExp(`\\b${h.name}\\b`));
    assert.match(r.stdout, /3 ok, 0 failed/);
  });

  it('works from an Ansible INI inventory a team already has', async () => {
    const ini = path.join(tmp, 'hosts.ini');
    writeFileSync(
      ini,
      [
        '# an INI inventory as Ansible users write them',
        '[web]',
        ...lab.hosts.slice(0, 2).map((h) => `${h.name} ansible_host=${h.address}`),
        '',
        '[workers]',
        `${lab.hosts[2]!.name} ansible_host=${lab.hosts[2]!.address}`,
        '',
        '[app:children]',
        'web',
        'workers',
        '',
        '[all:vars]',
        'ansible_user=lanes',
        `ansible_ssh_private_key_file=${lab.keyFile}`,
        `ansible_ssh_common_args="-o UserKnownHostsFile=${lab.knownHostsFile} -o StrictHostKeyChecking=yes"`,
        '',
      ].join('\n'),
    );
    const r = await runCli(['ping', 'app:!workers', '-i', ini, '--json'], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(hostEnds(r.stdout).map((e) => e.host).sort(), lab.hosts.slice(0, 2).map((h) => h.name).sort());
  });

  it('reports an unreachable host with its reason, without stopping the healthy ones', async () => {
    const inv = inventory('unreachable', { ...hostsOf(2), ghost: { ansible_host: '127.0.1.250' } }, labVars());
    const r = await runCli(['ping', '-i', inv, '--json'], { env: { HOME: home } });
    assert.equal(r.code, 1);
    const ends = hostEnds(r.stdout);
    assert.equal(ends.filter((e) => e.ok).length, 2);
    const ghost = ends.find((e) => e.host === 'ghost');
    assert.equal(ghost?.ok, false);
    assert.match(ghost!.failure!.message, /connection refused/);
    const plain = await runCli(['ping', '-i', inv], { env: { HOME: home } });
    assert.equal(plain.code, 1);
    assert.match(plain.stdout, /2 ok, 1 failed/);
    assert.match(plain.stdout, /ghost: .*connection refused/);
  });

  it('runs commands as root with passwordless sudo (become)', async () => {
    const inv = inventory('become', hostsOf(1), labVars({ ansible_become: true }));
    const r = await runCli(['ping', '-i', inv, '--json'], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(hostEnds(r.stdout)[0]?.data?.user, 'root');
  });

  it('--limit narrows the hosts, and an unknown pattern is refused before connecting', async () => {
    const r = await runCli(['ping', '-i', lab.inventoryFile, '--limit', lab.hosts[1]!.name, '--json'], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(hostEnds(r.stdout).map((e) => e.host), [lab.hosts[1]!.name]);
    const bad = await runCli(['ping', '-i', lab.inventoryFile, '--limit', 'no-such-group'], { env: { HOME: home } });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no-such-group/);
    assert.equal(bad.stdout, '');
  });
});

describe('authentication', () => {
  let agentSock: string;
  let agentPid: number;

  before(() => {
    agentSock = path.join(tmp, 'agent.sock');
    const out = execFileSync('ssh-agent', ['-a', agentSock, '-s'], { encoding: 'utf8' });
    agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(out)![1]);
    execFileSync('ssh-add', [lab.keyFile], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'ignore' });
  });
  after(() => {
    if (agentPid) process.kill(agentPid);
  });

  const withoutKey = () => {
    const v = labVars();
    delete v.ansible_ssh_private_key_file;
    return v;
  };

  it('authenticates through ssh-agent when no key file is given', async () => {
    const inv = inventory('agent', hostsOf(3), withoutKey());
    const r = await runCli(['ping', '-i', inv, '--json'], { env: { HOME: home, SSH_AUTH_SOCK: agentSock } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(hostEnds(r.stdout).filter((e) => e.ok).length, 3);
  });

  it('fails clearly with neither a key nor an agent', async () => {
    const inv = inventory('nokey', hostsOf(1), withoutKey());
    const r = await runCli(['ping', '-i', inv], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /no SSH key to authenticate with as lanes/);
  });

  it('names the missing key file and the host', async () => {
    const inv = inventory('missingkey', hostsOf(1), labVars({ ansible_ssh_private_key_file: '/nonexistent/id_ed25519' }));
    const r = await runCli(['ping', '-i', inv], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`${lab.hosts[0]!.name}: private key file /nonexistent/id_ed25519 does not exist`));
  });

  it('a key the host does not accept fails authentication, naming user and address', async () => {
    const other = path.join(tmp, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    const inv = inventory('wrongkey', hostsOf(1), labVars({ ansible_ssh_private_key_file: other }));
    const r = await runCli(['ping', '-i', inv], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`authentication failed for lanes@${lab.hosts[0]!.address.replace(/\./g, '\\.')}:22`));
  });

  it('reaches a host through a jump host (ProxyJump from ~/.ssh/config)', async () => {
    const [jump, target] = [lab.hosts[0]!, lab.hosts[1]!];
    const cfg = path.join(tmp, 'ssh_config');
    writeFileSync(cfg, [`Host ${target.address}`, `  ProxyJump lanes@${jump.address}`, `Host *`, `  IdentityFile ${lab.keyFile}`, ''].join('\n'));
    const inv = inventory('jump', { [target.name]: { ansible_host: target.address } }, withoutKey());
    const r = await runCli(['ping', '-i', inv, '--ssh-config', cfg, '--known-hosts', lab.knownHostsFile, '--json'], {
      env: { HOME: home, SSH_AUTH_SOCK: '' },
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(hostEnds(r.stdout)[0]?.data?.hostname, target.name);
  });
});

describe('host keys', () => {
  const oneHost = () => ({ [lab.hosts[0]!.name]: { ansible_host: lab.hosts[0]!.address } });

  it('refuses an unknown host key and says how to accept it', async () => {
    const empty = path.join(tmp, 'empty_known_hosts');
    writeFileSync(empty, '');
    const inv = inventory('unknownkey', oneHost(), labVars({ ansible_ssh_common_args: `-o UserKnownHostsFile=${empty}` }));
    const r = await runCli(['ping', '-i', inv], { env: { HOME: home } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /is not known: ssh-ed25519 SHA256:/);
    assert.match(r.stdout, /--accept-new-host-keys/);
  });

  it('--accept-new-host-keys records an unknown key, after which normal runs pass', async () => {
    const file = path.join(tmp, 'accept_known_hosts');
    writeFileSync(file, '');
    const inv = inventory('acceptnew', oneHost(), labVars({ ansible_ssh_common_args: `-o UserKnownHostsFile=${file}` }));
    const first = await runCli(['ping', '-i', inv, '--accept-new-host-keys'], { env: { HOME: home } });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const recorded = readFileSync(file, 'utf8');
    assert.match(recorded, new RegExp(`^${lab.hosts[0]!.address.replace(/\./g, '\\.')} ssh-ed25519 AAAA`, 'm'));
    const second = await runCli(['ping', '-i', inv], { env: { HOME: home } });
    assert.equal(second.code, 0, second.stdout + second.stderr);
  });

  it('refuses a changed host key, even with --accept-new-host-keys', async () => {
    const fake = path.join(tmp, 'fake_host_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', fake]);
    const pub = readFileSync(`${fake}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const file = path.join(tmp, 'changed_known_hosts');
    writeFileSync(file, `${lab.hosts[0]!.address} ${pub}\n`);
    const inv = inventory('changedkey', oneHost(), labVars({ ansible_ssh_common_args: `-o UserKnownHostsFile=${file}` }));
    for (const extra of [[], ['--accept-new-host-keys']]) {
      const r = await runCli(['ping', '-i', inv, ...extra], { env: { HOME: home } });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /HOST KEY CHANGED/);
      assert.match(r.stdout, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1`));
    }
    assert.equal(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 1, 'the known_hosts file was not touched');
  });
});

describe('sudo with a password', () => {
  const password = 'lab-Pa$$ w0rd';
  let addr: string;

  before(async () => {
    addr = lab.hosts[2]!.address;
    const pub = readFileSync(`${lab.keyFile}.pub`, 'utf8').trim();
    await onHost(
      lab,
      lab.hosts[2]!.name,
      [
        'id deployer >/dev/null 2>&1 || useradd -m -s /bin/bash deployer',
        `echo ${"'deployer:" + password.replace(/'/g, `'\\''`) + "'"} | chpasswd`,
        'install -d -m 700 -o deployer -g deployer ~deployer/.ssh',
        `echo '${pub}' > ~deployer/.ssh/authorized_keys`,
        'chown deployer:deployer ~deployer/.ssh/authorized_keys',
        "echo 'deployer ALL=(ALL) ALL' > /etc/sudoers.d/deployer && chmod 440 /etc/sudoers.d/deployer",
      ].join('\n'),
    );
  });

  const inv = (extra: Record<string, unknown> = {}) =>
    inventory('sudopw', { [lab.hosts[2]!.name]: { ansible_host: addr } }, labVars({ ansible_user: 'deployer', ansible_become: true, ...extra }));

  it('escalates with the password given once, and masks it in output', async () => {
    const r = await runCli(['ping', '-i', inv(), '--json'], { env: { HOME: home, LANES_BECOME_PASSWORD: password } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(hostEnds(r.stdout)[0]?.data?.user, 'root');
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password));
  });

  it('says sudo wants a password when none is given', async () => {
    const r = await runCli(['ping', '-i', inv()], { env: { HOME: home, LANES_BECOME_PASSWORD: '' } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /sudo wants a password/);
  });

  it('reports a wrong password without hanging', async () => {
    const r = await runCli(['ping', '-i', inv({ ansible_become_password: 'wrong' })], { env: { HOME: home } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /refused the become password/);
  });

  it('passes stdin to the command and never the password', async () => {
    const conn = await SshConnection.open(
      resolveTarget('pw', { ansible_host: addr, ...labVars({ ansible_user: 'deployer', ansible_become: true, ansible_become_password: password }) }, {
        env: { HOME: home },
      }),
    );
    try {
      const r = await conn.run('id -un; cat', { stdin: 'line one\nline two\n' });
      assert.equal(r.stdout, 'root\nline one\nline two\n');
    } finally {
      conn.close();
    }
  });
});

describe('exec, upload and timeouts (library)', () => {
  let conn: SshConnection;
  before(async () => {
    conn = await SshConnection.open(resolveTarget(lab.hosts[0]!.name, { ansible_host: lab.hosts[0]!.address, ...labVars() }, { env: { HOME: home } }));
  });
  after(() => conn?.close());

  it('returns exit code, stdout and stderr; run() turns a failure into an error carrying them', async () => {
    const r = await conn.exec('echo out; echo err >&2; exit 3');
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
    await assert.rejects(conn.run('echo boom >&2; exit 4'), (e: Error) => /exit 4: boom/.test(e.message));
  });

  it('one connection serves many commands, also concurrently', async () => {
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => conn.run(`echo ${i}`)));
    assert.deepEqual(rs.map((r) => r.stdout.trim()), ['0', '1', '2', '3', '4', '5', '6', '7']);
  });

  it('kills a command at its timeout', async () => {
    const t0 = Date.now();
    await assert.rejects(conn.exec('sleep 30', { timeoutMs: 500 }), (e: Error) => e instanceof LanesError && e.kind === 'timeout');
    assert.ok(Date.now() - t0 < 5000);
    assert.equal((await conn.run('echo still-usable')).stdout, 'still-usable\n');
  });

  it('uploads atomically with the given mode, as root', async () => {
    const dest = '/etc/lanes-upload-test.conf';
    await conn.upload('key = "va\'lue"\n', dest, { mode: '0640', become: true });
    const r = await conn.run(`stat -c '%a %U' ${dest}; cat ${dest}; ls /etc | grep -c lanes- || true`, { become: true });
    assert.equal(r.stdout, `640 root\nkey = "va'lue"\n1\n`, 'no temporary file is left behind');
    await assert.rejects(conn.upload('x', '/nonexistent-dir/file'), /directory \/nonexistent-dir does not exist/);
  });

  it('gives up on a handshake that never comes (connect timeout)', async () => {
    const server = net.createServer(() => undefined); // accepts, never speaks SSH
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const t0 = Date.now();
      await assert.rejects(
        SshConnection.open(resolveTarget('silent', { ansible_host: '127.0.0.1', ansible_port: port, ...labVars() }, { env: { HOME: home }, connectTimeoutMs: 1000 })),
        (e: Error) => e instanceof LanesError && e.kind === 'timeout' && /no SSH handshake/.test(e.message),
      );
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      server.close();
    }
  });
});

describe('lanes facts', () => {
  it('reads OS, PHP-FPM, Supervisor and systemd facts in one exec per host', async () => {
    const r = await runCli(['facts', '-i', lab.inventoryFile, '--json'], { env: { HOME: home } });
    assert.equal(r.code, 0, r.stderr);
    const ends = jsonEvents(r.stdout).filter((e) => e.type === 'host-end') as unknown as { ok: boolean; data: Record<string, Record<string, unknown>> }[];
    assert.equal(ends.length, lab.hosts.length);
    for (const e of ends) {
      assert.equal(e.ok, true);
      assert.equal(e.data.os!.id, 'debian');
      assert.equal(e.data.os!.versionId, '12');
      assert.equal((e.data.php_fpm!.primary as { unit: string }).unit, 'php8.2-fpm.service');
      assert.equal(e.data.supervisor!.includeDir, '/etc/supervisor/conf.d');
      assert.equal(e.data.systemd!.pid1, true);
      assert.ok((e.data.hardware!.cpus as number) >= 1);
    }
    const steps = jsonEvents(r.stdout).filter((e) => e.type === 'step-start' && e.host === lab.hosts[0]!.name).map((e) => e.step);
    assert.deepEqual(steps, ['connect', 'facts']);
  });
});
