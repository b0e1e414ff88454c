// release.config end to end on 3 lab hosts, through the real CLI: a `.env` rendered per host from a
// template with a vault value and an inventory variable is written into releases/<id>/ with its mode,
// root and the release group; the secret is in no output (text, --json, --dry-run); changing the
// inventory variable changes the release id; `lanes rollback` returns the old `.env` with the old code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { encryptVault } from '../../agent/vault/index.js';
import { jsonEvents, runCli, type CliResult } from '../support/cli.js';
import { fixture, repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { copySampleApp, ONE_BATCH } from './support/sample-app.js';

const pwFile = fixture('vault', 'password-default.txt');
const password = readFileSync(pwFile, 'utf8').trim();
const appKey = `base64:app-key-${randomBytes(8).toString('hex')}`;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-release-config-'));
let lab: EnsuredLab;
let site: string;
let inv: string;
let limit: string;
let hosts: string[];

/** A copy of the sample app with a VERSION file, so each variant is a distinct artifact. */
function variant(name: string): string {
  return copySampleApp(path.join(tmp, name), { version: name });
}

/** Where `current` points on each host. */
async function currents(): Promise<string[]> {
  return Promise.all(hosts.map(async (h) => (await onHost(lab, h, 'readlink /var/www/app/current')).trim()));
}

function setColor(color: string): void {
  writeFileSync(path.join(inv, 'group_vars', 'all', 'vars.yml'), `app_color: ${color}\n`);
}

const cli = (args: string[]) => runCli([...args, '-i', inv, '--limit', limit, '--vault-password-file', pwFile]);

/** Neither the vault value nor the vault password in anything the run printed. */
function assertNoSecret(r: CliResult): void {
  for (const s of [appKey, password]) assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), `a secret was printed:\n${r.stdout}${r.stderr}`);
}

function expectedEnv(host: string, color: string): string {
  return `APP_KEY=${appKey}\nAPP_COLOR=${color}\nHOST=${host}\n`;
}

/** The release id of a run, from its --json artifact event. */
function releaseIdOf(r: CliResult): string {
  const e = jsonEvents(r.stdout).find((x) => x.type === 'message' && x.code === 'artifact') as { data?: { id?: string } } | undefined;
  assert.ok(e?.data?.id, r.stdout);
  return e.data.id;
}

before(async () => {
  lab = await ensureLab(3);
  hosts = lab.hosts.slice(0, 3).map((h) => h.name);
  limit = hosts.join(':');
  // The play: site.yml with a release.config .env rendered from a template.
  const play = path.join(tmp, 'play');
  cpSync(path.join(repoRoot, 'playbooks'), play, { recursive: true });
  site = path.join(play, 'site.yml');
  const text = readFileSync(site, 'utf8');
  assert.match(text, /\n {4}max_fail: 0\n/);
  writeFileSync(site, text.replace(/\n {4}max_fail: 0\n/, '\n    max_fail: 0\n    config:\n      - { dest: .env, src: app.env.j2 }\n'));
  writeFileSync(path.join(play, 'templates', 'app.env.j2'), 'APP_KEY={{ vault_app_key }}\nAPP_COLOR={{ app_color }}\nHOST={{ inventory_hostname }}\n');
  // The inventory: the lab's, with a vault-encrypted key and a plain variable.
  inv = path.join(tmp, 'inv');
  mkdirSync(path.join(inv, 'group_vars', 'all'), { recursive: true });
  writeFileSync(path.join(inv, 'hosts.yml'), readFileSync(lab.inventoryFile, 'utf8'));
  writeFileSync(path.join(inv, 'group_vars', 'all', 'vault.yml'), encryptVault(`vault_app_key: '${appKey}'\n`, password));
  setColor('blue');
  const r = await cli(['apply', site, '--yes']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assertNoSecret(r);
});

after(() => rmSync(tmp, { recursive: true, force: true }));

describe('release.config', { concurrency: false }, () => {
  const v1 = variant('v1');
  const v2 = variant('v2');
  let id1 = '';

  it('writes the rendered .env into releases/<id> on every host: content, mode 0640, root:app; no secret printed', async () => {
    const artifactId = (await readArtifact(v1)).id;
    // plan --json carries the compiled release block: its configuration as {sha256, size} only.
    const plan = await cli(['plan', site, '--json']);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assertNoSecret(plan);
    assert.ok(!plan.stdout.includes('APP_COLOR'), 'no configuration content in the plan');
    assert.match(plan.stdout, /"config":\[\{"dest":"\.env","src":"app\.env\.j2","content":\{"sha256":"[0-9a-f]{64}","size":\d+\},"mode":"0640","sensitive":false\}\]/);
    const dry = await cli(['release', site, '--artifact', v1, '--dry-run']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assertNoSecret(dry);
    assert.match(dry.stdout, /configuration files into releases\/r[0-9a-f]{12} on lab1, lab2, lab3:\n {4}\.env {2}0640 {2}\(sensitive\)\n/);
    assert.ok(!dry.stdout.includes('APP_COLOR'), dry.stdout);

    const r = await cli(['release', site, '--artifact', v1, '--json', ...ONE_BATCH]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assertNoSecret(r);
    id1 = releaseIdOf(r);
    assert.match(id1, /^r[0-9a-f]{12}$/);
    assert.notEqual(id1, artifactId, 'the configuration is part of the release id');
    assert.match(dry.stdout, new RegExp(`^release ${id1} to 3 hosts`), 'the dry run names the same id');
    await Promise.all(hosts.map(async (h) => {
      const dir = `/var/www/app/releases/${id1}`;
      assert.equal((await onHost(lab, h, 'readlink /var/www/app/current')).trim(), `releases/${id1}`);
      assert.equal(await onHost(lab, h, `cat ${dir}/.env`), expectedEnv(h, 'blue'), `${h}: its own .env`);
      assert.equal((await onHost(lab, h, `stat -c '%a %U %G %F' ${dir}/.env`)).trim(), '640 root app regular file', `${h}: mode, owner, group`);
      // site.yml's build hooks mark the release built too (.lanes-built).
      assert.equal((await onHost(lab, h, `ls -A ${dir} | grep lanes- || true`)).trim(), '.lanes-built\n.lanes-config\n.lanes-release', `${h}: only the three markers, no staged leftovers`);
    }));
  });

  it('a changed inventory variable changes the release id; rollback returns the old .env with the old code', async () => {
    setColor('green');
    // Same artifact, new configuration: a new id (the dry run computes it exactly as a release does).
    const dry = await cli(['release', site, '--artifact', v1, '--dry-run']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    const sameCodeId = /^release (r[0-9a-f]{12}) /.exec(dry.stdout)?.[1];
    assert.ok(sameCodeId && sameCodeId !== id1, `${sameCodeId} differs from ${id1}`);

    const r = await cli(['release', site, '--artifact', v2, '--json', ...ONE_BATCH]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assertNoSecret(r);
    const id2 = releaseIdOf(r);
    assert.notEqual(id2, id1);
    await Promise.all(hosts.map(async (h) => {
      assert.equal(await onHost(lab, h, 'cat /var/www/app/current/.env /var/www/app/current/VERSION'), `${expectedEnv(h, 'green')}v2\n`);
      assert.equal(await onHost(lab, h, `cat /var/www/app/releases/${id1}/.env`), expectedEnv(h, 'blue'), `${h}: the old release keeps its own .env`);
    }));

    const back = await cli(['rollback', site, ...ONE_BATCH]);
    assert.equal(back.code, 0, back.stdout + back.stderr);
    assertNoSecret(back);
    await Promise.all(hosts.map(async (h) => {
      assert.equal((await onHost(lab, h, 'readlink /var/www/app/current')).trim(), `releases/${id1}`);
      assert.equal(await onHost(lab, h, 'cat /var/www/app/current/.env /var/www/app/current/VERSION'), `${expectedEnv(h, 'blue')}v1\n`, `${h}: code and configuration back together`);
      // The workers run the rolled-back release (they read its .env from their working directory).
      const cwd = await onHost(lab, h, `for p in $(pgrep -f '^/usr/bin/php .*/worker\\.php'); do readlink /proc/$p/cwd; done | sort -u`);
      assert.equal(cwd.trim(), `/var/www/app/releases/${id1}`);
    }));
  });

  it('an artifact shipping the dest as a symbolic link is refused on every host: nothing written through it, nothing switched', async () => {
    const linked = variant('linked');
    // A link inside the release (the unpack accepts it) that would make root write over the app's code.
    symlinkSync('public/index.php', path.join(linked, '.env'));
    const before = await currents();
    const index = await onHost(lab, hosts[0]!, 'cat /var/www/app/current/public/index.php');
    const r = await cli(['release', site, '--artifact', linked]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assertNoSecret(r);
    for (const h of hosts) assert.match(r.stdout + r.stderr, new RegExp(`${h}.*writing the configuration files of release r[0-9a-f]{12} failed: \\.env is a symbolic link in the release: refused`));
    assert.deepEqual(await currents(), before, 'no host switched');
    const id = /release (r[0-9a-f]{12}) failed/.exec(r.stdout + r.stderr)?.[1];
    await Promise.all(hosts.map(async (h) => {
      const dir = `/var/www/app/releases/${id}`;
      assert.equal(await onHost(lab, h, `cat ${dir}/public/index.php`), index, `${h}: the link target is untouched`);
      assert.equal((await onHost(lab, h, `test -L ${dir}/.env && ! test -e ${dir}/.lanes-config && echo refused`)).trim(), 'refused', `${h}: no configuration marker`);
      assert.equal((await onHost(lab, h, 'test -e /var/lib/lanes/lease && echo held || echo free')).trim(), 'free', `${h}: lease released`);
    }));
  });
});
