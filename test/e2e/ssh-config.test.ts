// Honest ssh config against lab hosts: a ProxyCommand carries the connection (and dies with it), a
// failing one is one line naming the host; UserKnownHostsFile none or /dev/null with
// StrictHostKeyChecking=no warns once naming the hosts whose keys were not checked, and
// --strict-host-keys (or LANES_STRICT_HOST_KEYS=1) refuses before anything runs.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonEvents, runCli } from '../support/cli.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { pidAlive } from '../support/process.js';

let lab: EnsuredLab;
let tmp: string;
/** An empty HOME: no ~/.ssh of the test machine can make a test pass by accident. */
let home: string;
let proxyScript: string;
const MARK = '/etc/lanes-e2e-ssh-config';
const STRICT_MARK = '/etc/lanes-e2e-ssh-config-strict';

function inventory(name: string, n: number, vars: Record<string, unknown>): string {
  const file = path.join(tmp, `inventory-${name}.yml`);
  const hosts = Object.fromEntries(lab.hosts.slice(0, n).map((h) => [h.name, { ansible_host: h.address }]));
  writeFileSync(file, JSON.stringify({ all: { vars: { ansible_user: 'lanes', ansible_become: true, ansible_ssh_private_key_file: lab.keyFile, ...vars }, hosts } }, null, 2));
  return file;
}

function hostEnds(stdout: string) {
  return jsonEvents(stdout).filter((e) => e.type === 'host-end') as unknown as { host: string; ok: boolean; data?: { hostname: string }; failure?: { message: string } }[];
}


before(async () => {
  lab = await ensureLab(2);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-ssh-config-'));
  home = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-home-'));
  // The ProxyCommand: records that it ran (its pid, the host and port it was given), then relays
  // its stdin/stdout to host:port, and records how many bytes went each way when it ends.
  proxyScript = path.join(tmp, 'proxy.mjs');
  writeFileSync(
    proxyScript,
    `import net from 'node:net';
import { appendFileSync } from 'node:fs';
const [host, port, log] = process.argv.slice(2);
appendFileSync(log, JSON.stringify({ event: 'start', pid: process.pid, host, port }) + '\\n');
let up = 0, down = 0;
const s = net.connect(Number(port), host);
process.stdin.on('data', (d) => { up += d.length; s.write(d); });
s.on('data', (d) => { down += d.length; process.stdout.write(d); });
const end = () => { appendFileSync(log, JSON.stringify({ event: 'end', pid: process.pid, up, down }) + '\\n'); process.exit(0); };
process.stdin.on('end', end); s.on('close', end); process.on('SIGHUP', end); process.on('SIGTERM', end);
`,
  );
  await Promise.all(lab.hosts.slice(0, 2).map((h) => onHost(lab, h.name, `rm -f ${MARK} ${STRICT_MARK}`)));
});

after(async () => {
  await Promise.all(lab.hosts.slice(0, 2).map((h) => onHost(lab, h.name, `rm -f ${MARK} ${STRICT_MARK}`)));
});

describe('ProxyCommand', () => {
  it('connects through the ProxyCommand of the ssh config, with %h the HostName and %p the port; the command ends with the run', async () => {
    const log = path.join(tmp, 'proxy.log');
    const cfg = path.join(tmp, 'ssh_config_proxy');
    // The inventory names aliases; only the ssh config knows their addresses, and only the proxy reaches them.
    const lines = lab.hosts.slice(0, 2).flatMap((h) => [`Host alias-${h.name}`, `  HostName ${h.address}`]);
    writeFileSync(cfg, [...lines, 'Host alias-*', `  ProxyCommand ${process.execPath} ${proxyScript} %h %p ${log}`, ''].join('\n'));
    const inv = path.join(tmp, 'proxy-inv.yml');
    const hosts = Object.fromEntries(lab.hosts.slice(0, 2).map((h) => [h.name, { ansible_host: `alias-${h.name}` }]));
    writeFileSync(
      inv,
      JSON.stringify({
        all: { vars: { ansible_user: 'lanes', ansible_ssh_private_key_file: lab.keyFile, ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile}` }, hosts },
      }),
    );
    const r = await runCli(['ping', '-i', inv, '--ssh-config', cfg, '--json'], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ends = hostEnds(r.stdout);
    assert.deepEqual(
      ends.map((e) => [e.host, e.data?.hostname]).sort(),
      lab.hosts.slice(0, 2).map((h) => [h.name, h.name]),
    );
    const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; pid: number; host?: string; port?: string; up?: number; down?: number });
    const starts = events.filter((e) => e.event === 'start');
    assert.deepEqual(starts.map((e) => `${e.host}:${e.port}`).sort(), lab.hosts.slice(0, 2).map((h) => `${h.address}:22`).sort(), 'one proxy per host, given HostName and port');
    for (const s of starts) {
      const end = events.find((e) => e.event === 'end' && e.pid === s.pid);
      assert.ok(end, `proxy ${s.pid} recorded its end`);
      assert.ok((end.up ?? 0) > 0 && (end.down ?? 0) > 0, 'the SSH session went through the proxy both ways');
      assert.ok(!pidAlive(s.pid), `proxy ${s.pid} is gone after the run`);
    }
  });

  it('ProxyCommand from ansible_ssh_common_args applies a playbook through the proxy', async () => {
    const log = path.join(tmp, 'proxy-args.log');
    const book = path.join(tmp, 'mark-book.yml');
    const h = lab.hosts[0]!;
    writeFileSync(book, JSON.stringify([{ hosts: h.name, files: [{ path: MARK, content: 'via proxy\n' }] }]));
    const inv = inventory('proxy-args', 1, {
      ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile} -o ProxyCommand="${process.execPath} ${proxyScript} %h %p ${log}"`,
    });
    const r = await runCli(['apply', book, '-i', inv, '--yes'], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await onHost(lab, h.name, `cat ${MARK}`), 'via proxy\n');
    assert.match(readFileSync(log, 'utf8'), new RegExp(`"host":"${h.address.replace(/\./g, '\\.')}","port":"22"`));
  });

  it('a ProxyCommand that exits early: exit 1, one line naming the host, its exit code and last stderr line', async () => {
    const cfg = path.join(tmp, 'ssh_config_fail');
    writeFileSync(cfg, ['Host *', `  ProxyCommand sh -c 'echo "bastion.example: no route to host" >&2; exit 3'`, ''].join('\n'));
    const h = lab.hosts[0]!;
    const inv = inventory('proxy-fail', 1, { ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile}` });
    const r = await runCli(['ping', '-i', inv, '--ssh-config', cfg], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failures = (r.stdout + r.stderr).split('\n').filter((l) => /ProxyCommand exited/.test(l));
    assert.ok(failures.length >= 1, r.stdout + r.stderr);
    for (const line of failures) {
      assert.match(line, new RegExp(`${h.name}.*ProxyCommand exited with code 3 before the SSH connection was up: bastion\\.example: no route to host`));
    }
    // --json carries the same one line as the host's failure.
    const j = await runCli(['ping', '-i', inv, '--ssh-config', cfg, '--json'], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(j.code, 1);
    const end = hostEnds(j.stdout).find((e) => e.host === h.name);
    assert.match(end?.failure?.message ?? '', /ProxyCommand exited with code 3 before the SSH connection was up: bastion\.example: no route to host/);
    assert.ok(!(end?.failure?.message ?? '').includes('\n'));
  });

  it('ProxyCommand none is a direct connection', async () => {
    const cfg = path.join(tmp, 'ssh_config_none');
    writeFileSync(cfg, ['Host *', '  ProxyCommand none', ''].join('\n'));
    const inv = inventory('proxy-none', 1, { ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile}` });
    const r = await runCli(['ping', '-i', inv, '--ssh-config', cfg], { env: { HOME: home, SSH_AUTH_SOCK: '' } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});

describe('host keys that are never checked', { concurrency: false }, () => {
  const tofuArgs = (file: string) => ({ ansible_ssh_common_args: `-o StrictHostKeyChecking=no -o UserKnownHostsFile=${file}` });
  const names = () => lab.hosts.slice(0, 2).map((h) => h.name);

  for (const file of ['/dev/null', 'none']) {
    it(`StrictHostKeyChecking=no with UserKnownHostsFile=${file}: runs, warns once naming every host, keeps no key anywhere`, async () => {
      const cwd = mkdtempSync(path.join(tmp, 'cwd-'));
      const inv = inventory(`tofu-${file === 'none' ? 'none' : 'devnull'}`, 2, tofuArgs(file));
      const r = await runCli(['ping', '-i', inv], { env: { HOME: home, SSH_AUTH_SOCK: '' }, cwd });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const warnings = r.stderr.split('\n').filter((l) => /host keys NOT checked/.test(l));
      assert.equal(warnings.length, 1, r.stderr);
      for (const n of names()) assert.ok(warnings[0]!.includes(n), `${n} named: ${warnings[0]}`);
      assert.deepEqual(readdirSync(cwd), [], '"none" is not a file name');
      assert.ok(!existsSync(path.join(home, '.ssh', 'known_hosts')), 'no key recorded in ~/.ssh/known_hosts');

      const j = await runCli(['ping', '-i', inv, '--json'], { env: { HOME: home, SSH_AUTH_SOCK: '' }, cwd });
      assert.equal(j.code, 0, j.stdout + j.stderr);
      const msgs = jsonEvents(j.stdout).filter((e) => e.type === 'message' && e.code === 'host-keys-unchecked') as unknown as { level: string; data: { hosts: string[] } }[];
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0]!.level, 'warn');
      assert.deepEqual([...msgs[0]!.data.hosts].sort(), names().sort());
    });
  }

  it('--strict-host-keys and LANES_STRICT_HOST_KEYS=1 refuse before anything runs: exit 1, one line naming the hosts', async () => {
    const book = path.join(tmp, 'strict-book.yml');
    writeFileSync(book, JSON.stringify([{ hosts: 'all', files: [{ path: STRICT_MARK, content: 'must not be written\n' }] }]));
    const inv = inventory('strict', 2, tofuArgs('/dev/null'));
    for (const [args, env] of [
      [['--strict-host-keys'], {}],
      [[], { LANES_STRICT_HOST_KEYS: '1' }],
    ] as const) {
      const r = await runCli(['apply', book, '-i', inv, '--yes', ...args], { env: { HOME: home, SSH_AUTH_SOCK: '', ...env } });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /refusing to connect: the host keys of .* would be accepted without being checked/);
      for (const n of names()) assert.ok(lines[0]!.includes(n), `${n} named`);
      assert.equal(r.stdout, '', 'no host was started');
      for (const n of names()) assert.equal(await onHost(lab, n, `cat ${STRICT_MARK} 2>/dev/null || echo absent`), 'absent\n', n);
    }
  });

  it('accept-new on a runner with no known_hosts: warned on the run that first sees the keys, checked on the next', async () => {
    const fresh = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-home-'));
    const inv = inventory('acceptnew', 2, { ansible_ssh_common_args: '-o StrictHostKeyChecking=accept-new' });
    const first = await runCli(['ping', '-i', inv], { env: { HOME: fresh, SSH_AUTH_SOCK: '' } });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(first.stderr.split('\n').filter((l) => /host keys NOT checked/.test(l)).length, 1, first.stderr);
    assert.ok(existsSync(path.join(fresh, '.ssh', 'known_hosts')), 'keys recorded');
    const second = await runCli(['ping', '-i', inv, '--strict-host-keys'], { env: { HOME: fresh, SSH_AUTH_SOCK: '' } });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.doesNotMatch(second.stderr, /host keys NOT checked/);
  });
});
