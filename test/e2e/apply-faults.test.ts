// lanes apply under faults, on one lab host, through the real CLI: a file's own validator checks the
// staged file before it goes live (a broken sudoers file never locks root out), staged files are
// dot-files no include glob loads, the apply survives its controller (killed) and its connection
// (cut) and finishes or restores on its own under a host-side lock, stale staging is removed, and
// an operation over its time limit fails naming it, with the host restored. Every test checks the
// host afterwards: file contents, nginx -t / visudo -c, staging files, the lock.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { cliPath } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

const SUDOERS = '/etc/sudoers.d/lanes-e2e';
const SITE = '/etc/nginx/sites-enabled/lanes-e2e.conf';
const LOCK = '/var/lib/lanes/apply.lock';
const LOST = 'connection lost during apply; the host finishes or restores on its own: run `lanes plan` to see where it ended';

let lab: EnsuredLab;
let host: string;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-apply-faults-'));

/** Valid sudoers content, version n. */
const sudoers = (n: number) => `# lanes e2e v${n}\nlanes ALL=(root) NOPASSWD: /bin/true\n`;
/** A site file: an upstream block only. Loaded twice (a staged copy beside it), nginx -t fails on the duplicate. */
const site = (n: number) => `# lanes e2e v${n}\nupstream lanes_e2e_up { server 127.0.0.1:9; }\n`;

interface Book {
  sudo?: string;
  sudoValidate?: string;
  site?: string;
  siteValidate?: string;
  absent?: boolean;
}

/** A playbook for the test host (JSON is YAML), written to a temp file. */
function book(name: string, b: Book): string {
  const files: Record<string, unknown>[] = [];
  if (b.absent) {
    files.push({ path: SUDOERS, state: 'absent' }, { path: SITE, state: 'absent', reload: 'nginx' });
  } else {
    if (b.sudo !== undefined) files.push({ path: SUDOERS, content: b.sudo, mode: '0440', validate: b.sudoValidate ?? 'visudo -cf %s' });
    if (b.site !== undefined) files.push({ path: SITE, content: b.site, validate: b.siteValidate ?? 'nginx -t', reload: 'nginx' });
  }
  const file = path.join(tmp, `${name}.yml`);
  writeFileSync(file, `${JSON.stringify([{ hosts: host, files }], null, 2)}\n`);
  return file;
}

const apply = (playbook: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []) => runCli(['apply', playbook, '-i', lab.inventoryFile, '--limit', host, '--yes', ...extra], { env });
/**
 * A run whose controller is gone (killed, connection lost) cannot remove its host lease: it expires
 * after its TTL. The fault tests give such runs a short TTL, and the next apply waits it out and
 * must say it took the lease over.
 */
const SHORT_LEASE = ['--lock-ttl', '6s'];
const WAIT_LEASE = ['--lock-wait', '60s'];
const TOOK_OVER = /took over an expired lease of/;
const plan = (playbook: string) => runCli(['plan', playbook, '-i', lab.inventoryFile, '--limit', host, '--detailed-exitcode']);
const sh = (script: string) => onHost(lab, host, script);

async function waitFor(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Staging or restore files anywhere in the include directories this test manages. */
async function stagingLeft(): Promise<string> {
  return (await sh("ls -A /etc/sudoers.d /etc/nginx/sites-enabled | grep -e '\\.lanes-' || true")).trim();
}

async function lockFree(): Promise<boolean> {
  return (await sh(`if flock -n ${LOCK} true; then echo free; else echo held; fi`)).trim() === 'free';
}

/** The host's state after a fault: valid configuration, sudo works, no staging, lock free. */
async function assertHealthy(): Promise<void> {
  assert.equal(await stagingLeft(), '', 'no staging or backup file in an include directory');
  assert.ok(await lockFree(), 'the host-side apply lock is free');
  await sh('visudo -c >/dev/null && nginx -t 2>/dev/null && runuser -u lanes -- sudo -n true');
}

async function content(p: string): Promise<string> {
  return sh(`cat ${p}`);
}

before(async () => {
  lab = await ensureLab(3);
  host = lab.hosts[2]!.name;
  await sh(`rm -f ${SUDOERS} ${SITE} /etc/sudoers.d/.lanes-e2e.lanes-* /etc/nginx/sites-enabled/*lanes-e2e.conf.lanes-*`);
  const r = await apply(book('v1', { sudo: sudoers(1), site: site(1) }));
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

after(async () => {
  // Leave the host as other test files expect it: no test files, nginx serving, no lock.
  const r = await apply(book('absent', { absent: true }));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal((await sh(`ls ${SUDOERS} ${SITE} 2>/dev/null || true`)).trim(), '');
});

describe('lanes apply under faults', { concurrency: false }, () => {
  it('a sudoers file that visudo refuses never goes live: the live file is untouched and sudo still works', async () => {
    const before = await sh(`sha256sum ${SUDOERS}`);
    const r = await apply(book('bad-sudoers', { sudo: 'lanes ALL=(ALL NOPASSWD: ALL\n', site: site(1) }));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /validation failed \(visudo -cf \/etc\/sudoers\.d\/lanes-e2e\).*syntax error.*the live file was not touched, nothing reloaded/s);
    assert.doesNotMatch(r.stdout + r.stderr, /@@[0-9a-f]{12}/, 'no frame line reaches the user');
    assert.equal(await sh(`sha256sum ${SUDOERS}`), before);
    await assertHealthy();
  });

  it('a staged file waits for its check in the run\'s root-only staging directory, where no include glob looks', async () => {
    const running = apply(book('v2-slow', { sudo: sudoers(1), site: site(2), siteValidate: `sh -c 'sleep 6; grep -q lanes_e2e_up "$1"' _ %s` }));
    await waitFor('the staged site file', async () => (await sh('ls /var/lib/lanes/runs/*/stage/ 2>/dev/null || true')).trim() !== '');
    const listing = (await sh('ls -A /etc/nginx/sites-enabled')).trim().split('\n');
    assert.deepEqual(listing.filter((f) => /lanes-[A-Za-z0-9]{6}$/.test(f)), [], 'nothing staged in the include directory');
    assert.match(await sh('stat -c %a /var/lib/lanes/runs/*/stage 2>/dev/null || true'), /^700$/m);
    await sh('nginx -t 2>&1'); // fails (exit 1, "duplicate upstream") if the staged copy were loaded
    assert.equal(await content(SITE), site(1), 'the live file waits for the check');
    const r = await running;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await content(SITE), site(2));
    await assertHealthy();
  });

  it('a lanes process killed (SIGKILL) during validation: the host finishes on its own, then the next apply converges', async () => {
    const slow = book('v3-slow', { sudo: sudoers(3), sudoValidate: `sh -c 'sleep 8; visudo -cf "$1"' _ %s`, site: site(2) });
    const child = spawn(process.execPath, [cliPath, 'apply', slow, '-i', lab.inventoryFile, '--limit', host, '--yes', ...SHORT_LEASE], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('close', r));
    await waitFor('the slow validator on the host', async () => (await sh("pgrep -f 'visudo -c[f]' || true")).trim() !== '');
    child.kill('SIGKILL');
    await exited;
    assert.equal(await content(SUDOERS), sudoers(1), 'still validating: the live file is the old one');
    assert.equal(await lockFree(), false, 'the detached apply holds the host lock');
    await waitFor('the detached apply to finish', lockFree);
    assert.equal(await content(SUDOERS), sudoers(3), 'the validator passed and the host committed on its own');
    assert.match(await sh('cat /var/lib/lanes/runs/*/rc'), /^0$/m, 'the run left its exit code for a look');
    await assertHealthy();
    const again = await apply(book('v3', { sudo: sudoers(3), site: site(2) }), {}, WAIT_LEASE);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout + again.stderr, TOOK_OVER, 'the killed run could not remove its lease; the next one takes it over after its TTL');
    const p = await plan(book('v3', { sudo: sudoers(3), site: site(2) }));
    assert.equal(p.code, 0, p.stdout + p.stderr);
  });

  it('the SSH connection cut while a failing validator runs: the host restores on its own and the user is told', async () => {
    const broken = book('v4-broken', { sudo: sudoers(3), site: 'upstream lanes_e2e_up { server; }\n', siteValidate: "sh -c 'sleep 6; nginx -t'" });
    const running = apply(broken, {}, SHORT_LEASE);
    await waitFor('the slow validator on the host', async () => (await sh("pgrep -f 'sleep [6]; nginx' || true")).trim() !== '');
    assert.match(await content(SITE), /server; \}/, 'the new file is live while the whole tree is validated');
    // Kill the sshd session serving the apply: walk up from the launcher to its sshd process.
    await sh(`p=$(pgrep -f 'lanes-detached-launche[r]' | head -n 1)
while [ -n "$p" ] && [ "$p" -gt 1 ]; do
  case "$(tr '\\0' ' ' < /proc/$p/cmdline)" in "sshd: lanes"*) kill -9 "$p"; exit 0 ;; esac
  p=$(awk '{ print $4 }' /proc/$p/stat)
done
echo "no sshd session found" >&2; exit 1`);
    const r = await running;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok((r.stdout + r.stderr).includes(LOST), r.stdout + r.stderr);
    await waitFor('the detached apply to restore', lockFree);
    assert.equal(await content(SITE), site(2), 'restored by the host alone');
    await assertHealthy();
    const again = await apply(book('v3', { sudo: sudoers(3), site: site(2) }), {}, WAIT_LEASE);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const p = await plan(book('v3', { sudo: sudoers(3), site: site(2) }));
    assert.equal(p.code, 0, p.stdout + p.stderr);
  });

  it('SIGTERM to the apply script on the host restores what it committed, at once', async () => {
    const running = apply(book('v8-slow', { sudo: sudoers(3), site: site(8), siteValidate: "sh -c 'sleep 30; nginx -t'" }));
    await waitFor('the slow validator on the host', async () => (await sh("pgrep -f 'sleep 3[0]; nginx' || true")).trim() !== '');
    assert.equal(await content(SITE), site(8), 'committed, validating the live tree');
    await sh('for f in /var/lib/lanes/runs/*/pid; do d=${f%/pid}; [ -e "$d/rc" ] || kill -TERM "$(cat "$f")"; done');
    const r = await running;
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /the apply on the host was stopped by SIGTERM; it restored the previous files/);
    assert.equal(await content(SITE), site(2));
    assert.equal((await sh("pgrep -f 'sleep 3[0]; nginx' || true")).trim(), '', 'the validator in progress was stopped too');
    await assertHealthy();
  });

  it('a second apply while a detached one runs is refused with a clear sentence, never interleaved', async () => {
    // The first apply's validator waits for a gate the test opens once the other two were refused (at most
    // 45 s, under the 60 s validate limit): a fixed sleep let the first apply finish first on a loaded machine.
    const gate = '/run/lanes-e2e-apply-gate';
    await sh(`rm -f ${gate}`);
    const first = apply(book('v5-slow', { sudo: sudoers(5), sudoValidate: `sh -c 'i=0; while [ ! -e ${gate} ] && [ $i -lt 450 ]; do sleep 0.1; i=$((i+1)); done; visudo -cf "$1"' _ %s`, site: site(2) }));
    await waitFor('the slow validator on the host', async () => (await sh("pgrep -f 'visudo -c[f]' || true")).trim() !== '');
    // The host lease refuses it first, naming the holder.
    const second = await apply(book('v6', { sudo: sudoers(6), site: site(2) }));
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(second.stdout + second.stderr, /host locked by \S+ \(pid \d+, operation apply\)/);
    // Past the lease (an operator breaking a lease they believe stale), the host's own apply lock still refuses.
    const third = await apply(book('v6', { sudo: sudoers(6), site: site(2) }), {}, ['--break-lock']);
    assert.equal(third.code, 1, third.stdout + third.stderr);
    assert.match(third.stdout + third.stderr, /another lanes apply is still running on this host \(run [0-9a-f]{12} started \S+ by lanes\); it finishes or restores on its own/);
    await sh(`touch ${gate}`);
    const r = await first;
    await sh(`rm -f ${gate}`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await content(SUDOERS), sudoers(5));
    await assertHealthy();
  });

  it('stale staging left by an earlier run is planned for removal and removed by the next apply', async () => {
    const converged = book('v5', { sudo: sudoers(5), site: site(2) });
    // One in the old layout (loaded by nginx's glob: nginx -t fails on the duplicate upstream), one dot-file.
    await sh(`cp ${SITE} ${SITE}.lanes-Ab12Cd; cp ${SITE} /etc/nginx/sites-enabled/.lanes-e2e.conf.lanes-Zz99Yy; cp ${SUDOERS} /etc/sudoers.d/.lanes-e2e.lanes-Qq11Ww`);
    // And a run directory of two days ago: runs older than a day are removed by the next apply.
    await sh('mkdir -p /var/lib/lanes/runs/0123456789ab && echo 0 > /var/lib/lanes/runs/0123456789ab/rc && touch -d "2 days ago" /var/lib/lanes/runs/0123456789ab');
    assert.notEqual(await sh('nginx -t >/dev/null 2>&1; echo $?'), '0\n', 'the stale file breaks nginx -t');
    const p = await plan(converged);
    assert.equal(p.code, 2, p.stdout + p.stderr);
    assert.match(p.stdout, /lanes-e2e\.conf\.lanes-Ab12Cd, a staged file left by an interrupted apply/);
    const r = await apply(converged);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    await assertHealthy();
    assert.equal((await sh('ls /var/lib/lanes/runs')).includes('0123456789ab'), false, 'the old run directory is gone');
    const p2 = await plan(converged);
    assert.equal(p2.code, 0, p2.stdout + p2.stderr);
  });

  it('a validator over its time limit fails naming it and the limit, and the host is restored', async () => {
    const r = await apply(book('v7-hang', { sudo: sudoers(5), site: site(7), siteValidate: "sh -c 'sleep 40; nginx -t'" }), { LANES_APPLY_TIMEOUTS: 'validate=3' });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /validation timed out \(sh -c 'sleep 40; nginx -t' did not finish within 3 s, the limit for a validator\); previous files restored, nothing reloaded/);
    assert.equal(await content(SITE), site(2));
    assert.equal((await sh("pgrep -f 'sleep 4[0]' || true")).trim(), '', 'the validator was stopped with its children');
    await assertHealthy();
  });
});
