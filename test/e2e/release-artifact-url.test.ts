// `lanes release --artifact URL --artifact-sha256 HEX` on three lab hosts, through the real CLI: the
// test serves the sample app, packed by lanes' own packer, over HTTP on 127.0.0.1 (the hosts share
// the machine's network namespace) behind a secret token in the query string. A wrong sha256 fails
// every host before any switch with nothing left in releases/; the right one goes live everywhere
// with the release id an upload of the same tar.gz has, one GET per host; the token is in no output.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { jsonEvents, runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { sitePlaybook } from './support/faults.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

const APP = '/var/www/app';
const SECRET = `tok${Date.now().toString(36)}SeCrEt`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-artifact-url-'));
/** site.yml releasing in one batch (what is tested is how the artifact arrives, not the batches). */
const site = sitePlaybook(path.join(tmp, 'pb'), [['serial: [1, "100%"]', 'serial: ["100%"]']]);
let lab: EnsuredLab;
let server: Server;
let url = '';
let tarball: Buffer;
/** The sample app without the script its queue worker runs. */
let noWorker: { id: string; sha256: string; bytes: Buffer };
let id = '';
let sha256 = '';
/** GET requests the server answered with the artifact. */
let gets: string[] = [];

const lanes = (args: string[]) => runCli([...args, '-i', lab.inventoryFile, '--limit', lab.hosts.slice(0, 3).map((h) => h.name).join(',')]);
const onAll = (script: string) => Promise.all(lab.hosts.slice(0, 3).map((h) => onHost(lab, h.name, script, { allowFail: true })));
const currents = () => onAll(`readlink ${APP}/current || echo none`).then((o) => o.map((l) => l.trim()));
/** What releases/ holds besides the history and the bootstrap release (release dirs and temporaries). */
const extras = () => onAll(`ls -A ${APP}/releases | grep -v -e '^bootstrap$' -e '^\\.' || true`).then((o) => o.map((l) => l.trim()));

function assertNoSecret(r: { stdout: string; stderr: string }): void {
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `the token leaked:\n${r.stdout}\n${r.stderr}`);
  assert.ok(!r.stdout.includes('token=') && !r.stderr.includes('token='), 'no query string shown');
}

before(async () => {
  lab = await ensureLab(3);
  const app = path.join(tmp, 'app');
  cpSync(path.join(repoRoot, 'playbooks', 'sample-app'), app, { recursive: true });
  writeFileSync(path.join(app, 'VERSION'), `fetched ${SECRET.length} ${Date.now()}\n`);
  const art = await readArtifact(app);
  ({ id, sha256 } = art);
  tarball = art.bytes;
  rmSync(path.join(app, 'worker.php'));
  noWorker = await readArtifact(app);
  server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === `/app.tar.gz?token=${SECRET}`) {
      gets.push(req.socket.remoteAddress ?? '');
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': tarball.length });
      res.end(tarball);
      return;
    }
    if (req.method === 'GET' && req.url === `/no-worker.tar.gz?token=${SECRET}`) {
      res.writeHead(200, { 'content-type': 'application/gzip' }).end(noWorker.bytes);
      return;
    }
    res.writeHead(403).end('forbidden\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app.tar.gz?token=${SECRET}`;
  const hosts = lab.hosts.slice(0, 3).map((h) => h.name).join(',');
  const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', hosts, '--yes']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

after(async () => {
  server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('lanes release --artifact URL', { concurrency: false }, () => {
  it('refuses a URL without --artifact-sha256 in one line, before connecting', async () => {
    const r = await lanes(['release', site, '--artifact', url, '--json']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /release artifact http:\/\/127\.0\.0\.1:\d+\/app\.tar\.gz is a URL: --artifact-sha256 is required/);
    assert.doesNotMatch(r.stdout, /run-start/, 'nothing connected');
    assertNoSecret(r);
  });

  it('a wrong sha256 fails every host before any switch, naming both sums; nothing is left on the hosts', async () => {
    const before = await currents();
    // Earlier files on this lab may have left releases of their own: compared, not assumed empty.
    const releasesBefore = await extras();
    const wrong = (sha256[0] === '0' ? '1' : '0') + sha256.slice(1);
    gets = [];
    const r = await lanes(['release', site, '--artifact', url, '--artifact-sha256', wrong]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failed = r.stdout.split('\n').filter((l) => l.startsWith('FAILED'));
    assert.equal(failed.length, 3, r.stdout);
    for (const l of failed) assert.match(l, new RegExp(`http://127\\.0\\.0\\.1:\\d+/app\\.tar\\.gz has sha256 ${sha256} on this host, expected ${wrong}`));
    assert.equal(gets.length, 3, 'each host downloaded it once');
    assertNoSecret(r);
    assert.deepEqual(await currents(), before, 'the live release is unchanged');
    assert.deepEqual(await extras(), releasesBefore, 'no release directory and no temporary on any host');
  });

  it('a fetched release lacking the script a worker runs fails every host after the download, before any switch', async () => {
    const before = await currents();
    const r = await lanes(['release', site, '--artifact', url.replace('/app.tar.gz', '/no-worker.tar.gz'), '--artifact-sha256', noWorker.sha256]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const failed = r.stdout.split('\n').filter((l) => l.startsWith('FAILED'));
    assert.equal(failed.length, 3, r.stdout);
    for (const l of failed) assert.match(l, new RegExp(`worker app-queue runs ${APP}/current/worker\\.php, which release ${noWorker.id} does not contain`));
    assertNoSecret(r);
    assert.deepEqual(await currents(), before, 'never switched');
  });

  it('goes live on every host with the id an upload of the same tar.gz has, one GET per host, the token in no output', async () => {
    gets = [];
    const r = await lanes(['release', site, '--artifact', url, '--artifact-sha256', sha256, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assertNoSecret(r);
    const events = jsonEvents(r.stdout);
    const said = events.find((e) => e.type === 'message' && e.code === 'artifact') as { data: { id: string; sha256: string; source: { kind: string; url: string } } } | undefined;
    assert.deepEqual(said?.data, { id, sha256, source: { kind: 'url', url: url.replace(/\?.*/, '') } });
    assert.equal((events.find((e) => e.type === 'run-end') as { ok?: boolean } | undefined)?.ok, true);
    assert.equal(gets.length, 3, `one GET per host: ${gets.join(', ')}`);
    assert.deepEqual(await currents(), [`releases/${id}`, `releases/${id}`, `releases/${id}`]);
    for (const h of lab.hosts.slice(0, 3)) {
      const res = await fetch(`http://${h.address}/`);
      assert.equal(((await res.json()) as { release: string }).release, id, `${h.name} serves the fetched release`);
    }
    const onHosts = await onAll(`grep -rl ${SECRET} ${APP} 2>/dev/null; ls -A ${APP}/releases | grep -c tmp- || true`);
    assert.deepEqual(onHosts.map((o) => o.trim()), ['0', '0', '0'], 'no token stored in the app root, no temporary left');
  });
});
