// Many hosts through one bastion with sshd's DEFAULT MaxStartups (10:30:100): lab1 is the jump host
// of 40 host aliases (ansible_host lab2 / lab3). `lanes ping --forks 40` succeeds on every host by
// default (connection starts paced per jump host, --connect-rate 8). The fault is real: with the
// pacing off (--connect-rate 0) and no retries (LANES_CONNECT_RETRIES=0) the bastion's sshd drops
// starts past MaxStartups (counted in its log) and hosts fail with the reset named in their line.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { jsonEvents, runCli } from '../support/cli.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

const ALIASES = 40;
let lab: EnsuredLab;
let tmp: string;
let home: string;
let inv: string;
let cfg: string;

interface HostEnd {
  host: string;
  ok: boolean;
  data?: { hostname: string };
  failure?: { message: string };
}

function hostEnds(stdout: string): HostEnd[] {
  return jsonEvents(stdout).filter((e) => e.type === 'host-end') as unknown as HostEnd[];
}

/** How many starts the bastion's sshd has dropped past MaxStartups so far (its journal). */
async function drops(): Promise<number> {
  const out = await onHost(lab, lab.hosts[0]!.name, "journalctl -q --no-pager -o cat _COMM=sshd _COMM=sshd-session | grep -c 'past MaxStartups' || true");
  return Number(out.trim());
}

function ping(extra: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(['ping', '-i', inv, '--ssh-config', cfg, '--forks', String(ALIASES), '--json', ...extra], { env: { HOME: home, SSH_AUTH_SOCK: '', ...env } });
}

before(async () => {
  lab = await ensureLab(3);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-bastion-'));
  home = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-home-'));
  const [bastion, ...targets] = lab.hosts.slice(0, 3);
  // Keys and known hosts for every lab address (the bastion's and the targets'), user lanes.
  cfg = path.join(tmp, 'ssh_config');
  writeFileSync(cfg, ['Host 127.*', '  User lanes', `  IdentityFile ${lab.keyFile}`, `  UserKnownHostsFile ${lab.knownHostsFile}`, ''].join('\n'));
  const hosts = Object.fromEntries(Array.from({ length: ALIASES }, (_, i) => [`app${String(i + 1).padStart(2, '0')}`, { ansible_host: targets[i % targets.length]!.address }]));
  inv = path.join(tmp, 'inventory.yml');
  writeFileSync(inv, JSON.stringify({ all: { vars: { ansible_ssh_common_args: `-J lanes@${bastion!.address}` }, hosts } }));
});

describe('a bastion with the default MaxStartups', () => {
  it('is configured with sshd defaults: MaxStartups 10:30:100', async () => {
    const t = await onHost(lab, lab.hosts[0]!.name, 'sshd -T 2>/dev/null | grep -i ^maxstartups');
    assert.equal(t.trim().toLowerCase(), 'maxstartups 10:30:100');
  });

  it('--forks 40 through it: every host answers, and the bastion dropped no start', async () => {
    const before = await drops();
    const r = await ping([]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ends = hostEnds(r.stdout);
    assert.equal(ends.length, ALIASES);
    for (const e of ends) {
      assert.ok(e.ok, `${e.host}: ${e.failure?.message}`);
      const target = lab.hosts[1 + (Number(e.host.slice(3)) - 1) % 2]!;
      assert.equal(e.data?.hostname, target.name, `${e.host} reached ${target.name} through the bastion`);
    }
    assert.equal(await drops(), before, 'no start dropped past MaxStartups');
  });

  it('with the pacing and retries off, the bastion drops starts and hosts fail naming the reset', async () => {
    const before = await drops();
    const r = await ping(['--connect-rate', '0'], { LANES_CONNECT_RETRIES: '0' });
    const dropped = (await drops()) - before;
    assert.ok(dropped >= 1, `the bastion's sshd dropped starts past MaxStartups (${dropped})\n${r.stdout}`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failed = hostEnds(r.stdout).filter((e) => !e.ok);
    assert.ok(failed.length >= 1);
    for (const f of failed) {
      assert.match(f.failure?.message ?? '', /reset before authentication/, `${f.host}: ${f.failure?.message}`);
    }
  });

  it('the hosts behind it are fine afterwards', async () => {
    for (const h of lab.hosts.slice(0, 3)) assert.equal((await onHost(lab, h.name, 'systemctl is-active ssh')).trim(), 'active');
  });
});
