// The lab end to end, through the real CLI: `lanes lab up` boots a real Debian host with systemd
// under systemd-nspawn; OpenSSH reaches it with the lab key and host-key checking ON; its services
// run; a host whose processes died with the session (overlay still mounted) comes back with its
// upper dir; `lanes lab down` leaves no process and no mount behind. Uses its own small lab
// (`<run's lab>-l`, another address block) so that it runs beside the run's lab and any other lab.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { labDown, labPaths, type LabHost } from '../../agent/lab/index.js';
import { parseMountinfo, mountsUnder } from '../../agent/lab/mountinfo.js';
import { runCli, type CliResult } from '../support/cli.js';
import { testLabName } from './support/lab.js';
import { pidAlive } from '../support/process.js';

const NAME = `${testLabName()}-l`;
const isRoot = process.getuid?.() === 0;
const paths = labPaths({ name: NAME });

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

function ssh(address: string, command: string, knownHosts = paths.knownHostsFile): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [
    '-F', '/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ConnectTimeout=10',
    '-i', paths.keyFile,
    `lanes@${address}`,
    command,
  ];
  return new Promise((resolve) => {
    execFile('ssh', args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function httpGet(address: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: address, port: 80, path: '/', timeout: 10_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function status(): Promise<LabHost[]> {
  const r = await runCli(['lab', 'status', '--name', NAME, '--json']);
  ok(r, 'lab status');
  return JSON.parse(r.stdout) as LabHost[];
}


async function waitGone(pids: number[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (pids.some(pidAlive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
}

const hostMounts = () => mountsUnder(parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')), paths.hostsDir);

describe('lanes lab (real hosts under systemd-nspawn)', { skip: isRoot ? false : 'the lab needs root' }, () => {
  let host: LabHost;

  after(async () => {
    // Whatever happened above, leave no host of this lab running.
    if (existsSync(paths.stateFile)) await labDown({ name: NAME }).catch(() => undefined);
  });

  it('`lab up --hosts 1` boots a host (building the base image first if needed)', { timeout: 20 * 60_000 }, async () => {
    const r = await runCli(['lab', 'up', '--name', NAME, '--hosts', '1']);
    ok(r, 'lab up');
    assert.match(r.stdout, /^lab1\s+127\.0\.\d+\.1\s+running\s+running$/m);
  });

  it('`lab status` reports the host running with systemd running', async () => {
    const hosts = await status();
    assert.equal(hosts.length, 1);
    host = hosts[0]!;
    assert.equal(host.name, 'lab1');
    assert.match(host.address, /^127\.0\.\d+\.1$/);
    assert.notEqual(host.address, '127.0.1.1', 'a second lab must not use the default lab block');
    assert.equal(host.state, 'running');
    assert.equal(host.systemState, 'running');
    assert.ok(host.pid && pidAlive(host.pid));
  });

  it('OpenSSH logs in with the lab key, checking the host key; services run; sudo needs no password', async () => {
    const r = await ssh(host.address, 'hostname; systemctl is-system-running; systemctl is-active php8.2-fpm supervisor nginx ssh; sudo -n true && echo sudo-ok');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['lab1', 'running', 'active', 'active', 'active', 'active', 'sudo-ok']);
  });

  it('host-key checking is really on: an empty known_hosts is refused', async () => {
    const empty = path.join(mkdtempSync(path.join(os.tmpdir(), 'lanes-lab-e2e-')), 'known_hosts');
    writeFileSync(empty, '');
    const r = await ssh(host.address, 'true', empty);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Host key verification failed/);
  });

  it('Nginx answers on the host address with the host name; password and root logins are off', async () => {
    assert.deepEqual(await httpGet(host.address), { status: 200, body: 'lab1\n' });
    const r = await ssh(host.address, 'sudo sshd -T | grep -Ei "^(passwordauthentication|permitrootlogin|listenaddress) "');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^passwordauthentication no$/m);
    assert.match(r.stdout, /^permitrootlogin no$/m);
    assert.match(r.stdout, new RegExp(`^listenaddress ${host.address.replace(/\./g, '\\.')}:22$`, 'm'));
  });

  it('`lab inventory` prints a YAML inventory naming the host', async () => {
    const r = await runCli(['lab', 'inventory', '--name', NAME]);
    ok(r, 'lab inventory');
    const doc = parse(r.stdout) as { all: { vars: Record<string, unknown>; children: { app: { hosts: Record<string, { ansible_host: string; nginx_listen: string }> } } } };
    assert.deepEqual(doc.all.children.app.hosts, { lab1: { ansible_host: host.address, nginx_listen: `${host.address}:80` } });
    assert.equal(doc.all.vars.ansible_user, 'lanes');
    assert.equal(doc.all.vars.ansible_ssh_private_key_file, paths.keyFile);
    assert.equal(readFileSync(paths.inventoryFile, 'utf8'), r.stdout);
    const p = await runCli(['lab', 'inventory', '--name', NAME, '--path']);
    ok(p, 'lab inventory --path');
    assert.equal(p.stdout, `${paths.inventoryFile}\n`);
  });

  it('`lab up` again only checks: the same process keeps running', async () => {
    ok(await runCli(['lab', 'up', '--name', NAME, '--hosts', '1']), 'second lab up');
    assert.equal((await status())[0]!.pid, host.pid);
  });

  it('a host whose processes died with the session comes back from its stale overlay, keeping its upper dir', { timeout: 120_000 }, async () => {
    assert.equal((await ssh(host.address, 'echo kept | sudo tee /root/marker >/dev/null')).code, 0);
    const knownHosts = readFileSync(paths.knownHostsFile, 'utf8');
    const init = Number(readFileSync(`/proc/${host.pid}/task/${host.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    // What the end of a session does: every process killed at once, mounts left behind.
    process.kill(host.pid!, 'SIGKILL');
    process.kill(init, 'SIGKILL');
    await waitGone([host.pid!, init], 10_000);
    assert.ok(hostMounts().length > 0, 'the overlay stays mounted');
    assert.equal((await status())[0]!.state, 'stopped');

    const r = await runCli(['lab', 'up', '--name', NAME, '--hosts', '1']);
    ok(r, 'lab up after the session ended');
    assert.match(r.stderr, /stale overlay/);
    host = (await status())[0]!;
    assert.equal(host.systemState, 'running');
    assert.equal(readFileSync(paths.knownHostsFile, 'utf8'), knownHosts, 'same host keys');
    const marker = await ssh(host.address, 'sudo cat /root/marker');
    assert.equal(marker.code, 0, marker.stderr);
    assert.equal(marker.stdout, 'kept\n');
  });

  it('`lab down` stops the host, unmounts its overlay and removes its state but keeps the key', { timeout: 120_000 }, async () => {
    const pid = host.pid!;
    ok(await runCli(['lab', 'down', '--name', NAME]), 'lab down');
    await waitGone([pid], 5000);
    assert.equal(pidAlive(pid), false, 'systemd-nspawn is gone');
    assert.deepEqual(hostMounts(), [], 'no mount left under the lab');
    assert.equal(existsSync(paths.hostsDir), false);
    assert.equal(existsSync(paths.knownHostsFile), false);
    assert.equal(existsSync(paths.keyFile), true);
    assert.deepEqual(await status(), []);
    const inv = await runCli(['lab', 'inventory', '--name', NAME]);
    assert.equal(inv.code, 1);
    assert.match(inv.stderr, new RegExp(`^lanes: lab "${NAME}" has no hosts`));
  });
});
