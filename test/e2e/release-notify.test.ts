// Release notifications through the real CLI on one lab host, with a webhook on the controller (the
// lab hosts never need to reach it: the controller POSTs). A release sends started + finished with
// its id; a release failing its health gate sends rolled-back (host, step, reason) and failed, and the
// host is back on the previous release; a webhook refusing connections is a warning and the release
// still succeeds; a rollback is announced as one; a dry run sends nothing. The webhook URLs carry a token in their path, which must
// never appear in the output. The host is left on a healthy release, workers running, no lock.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jsonEvents } from '../support/cli.js';
import { FaultHost } from './support/faults.js';

const h = new FaultHost();

interface Hooked {
  path: string;
  body: Record<string, unknown>;
}

const received: Hooked[] = [];
const server = http.createServer((req, res) => {
  let raw = '';
  req.on('data', (c: Buffer) => (raw += c.toString()));
  req.on('end', () => {
    received.push({ path: req.url ?? '', body: JSON.parse(raw) as Record<string, unknown> });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
});
let hookUrl = '';
/** The release the first test made live: what the rollback goes back to. */
let okId = '';
let refusedUrl = '';

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/HOOKSECRET`;
  // A port nobody listens on: taken, then freed.
  const gone = http.createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  refusedUrl = `http://127.0.0.1:${(gone.address() as AddressInfo).port}/services/PLAYSECRET?token=QUERYSECRET`;
  await new Promise<void>((r) => gone.close(() => r()));
  await h.setup(0);
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await h.teardown();
});

function events(): string[] {
  return received.map((r) => String(r.body.event));
}

function noSecrets(out: string): void {
  for (const s of ['HOOKSECRET', 'PLAYSECRET', 'QUERYSECRET', '/hook/', '/services/']) assert.ok(!out.includes(s), `the output shows ${s}:\n${out}`);
}

describe('release notifications on a lab host', { concurrency: false }, () => {
  it('a release POSTs started and finished with its id; the URL never appears in the output', async () => {
    received.length = 0;
    const v = h.variant('notify-ok');
    const id = await h.idOf(v);
    const r = await h.cli(['release', h.fast, '--artifact', v, '--notify', hookUrl]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    noSecrets(r.stdout + r.stderr);
    assert.deepEqual(events(), ['started', 'finished']);
    assert.ok(received.every((x) => x.path === '/hook/HOOKSECRET'));
    const [s, f] = received.map((x) => x.body);
    for (const b of [s!, f!]) {
      assert.equal(b.tool, 'lanes');
      assert.equal(b.operation, 'release');
      assert.equal(b.release, id);
      assert.equal(b.previous, h.v1);
      assert.deepEqual(b.hosts, [h.host]);
      assert.match(String(b.who), /@/);
      assert.ok(!Number.isNaN(Date.parse(String(b.at))));
    }
    assert.equal(f!.ok, 1);
    assert.equal(await h.current(), `releases/${id}`);
    h.v1 = id;
    okId = id;
  });

  it('a release failing its health gate POSTs rolled-back (host, step, reason) and failed; the host is back', async () => {
    received.length = 0;
    const v = h.variant('notify-broken', { BROKEN: 'yes\n' });
    const id = await h.idOf(v);
    const r = await h.cli(['release', h.fast, '--artifact', v, '--notify', hookUrl]);
    await h.assertGateRolledBack(r, h.v1);
    noSecrets(r.stdout + r.stderr);
    assert.deepEqual(events(), ['started', 'rolled-back', 'failed']);
    const rb = received[1]!.body;
    assert.equal(rb.release, id);
    assert.equal(rb.host, h.host);
    assert.equal(rb.step, 'health gate');
    assert.equal(rb.previous, h.v1);
    assert.match(String(rb.reason), new RegExp(`^health gate: .*500.* — rolled back to ${h.v1}`));
    const f = received[2]!.body;
    assert.equal(f.release, id);
    assert.deepEqual(f.hosts, [h.host]);
    assert.equal(f.failed, 1);
    assert.match(String(f.reason), new RegExp(`^${h.host}: health gate: `));
    assert.equal(await h.locked(), false);
  });

  it("a release.notify webhook refusing connections is a warning naming its origin only; the release succeeds and --notify's still gets every event", async () => {
    received.length = 0;
    const pb = h.playbook('notify-play', [['    max_fail: 0\n', `    max_fail: 0\n    notify: ["${refusedUrl}"]\n`]]);
    const v = h.variant('notify-refused');
    const id = await h.idOf(v);
    const r = await h.cli(['release', pb, '--artifact', v, '--notify', hookUrl]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    noSecrets(out);
    const origin = new URL(refusedUrl).origin;
    const warns = out.split('\n').filter((l) => l.includes('warn:') && l.includes(origin));
    assert.equal(warns.length, 2, out);
    assert.match(warns[0]!, /the started notification to .* failed: connection refused \(the release is not affected\)/);
    assert.match(warns[1]!, /the finished notification to .* failed: connection refused/);
    assert.deepEqual(events(), ['started', 'finished']);
    assert.equal(await h.current(), `releases/${id}`);
    await h.assertWorkersOn(id);
    assert.equal(await h.locked(), false);
    h.v1 = id;
  });

  it('a rollback POSTs started and finished as a rollback to the release before; --json carries them as release-event messages', async () => {
    received.length = 0;
    const r = await h.cli(['rollback', h.fast, '--notify', hookUrl, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    noSecrets(r.stdout + r.stderr);
    assert.deepEqual(events(), ['started', 'finished']);
    for (const { body } of received) {
      assert.equal(body.operation, 'rollback');
      assert.equal(body.release, okId);
      assert.equal(body.previous, h.v1);
    }
    const said = jsonEvents(r.stdout).filter((e) => e.type === 'message' && e.code === 'release-event').map((e) => (e.data as { event: string }).event);
    assert.deepEqual(said, ['started', 'finished']);
    assert.equal(await h.current(), `releases/${okId}`);
    await h.assertWorkersOn(okId);
    h.v1 = okId;
  });

  it('a dry run lists the webhooks by origin and sends nothing', async () => {
    received.length = 0;
    const r = await h.cli(['release', h.fast, '--artifact', h.variant('notify-dry'), '--dry-run', '--notify', hookUrl]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    noSecrets(r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^notify: ${new URL(hookUrl).origin} \\(.*nothing is sent in a dry run\\)$`, 'm'));
    assert.deepEqual(received, []);
    assert.equal(await h.current(), `releases/${h.v1}`);
  });
});
