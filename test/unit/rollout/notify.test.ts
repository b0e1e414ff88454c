// Release notifications against a real local HTTP server: bodies, masking, warnings naming only the origin.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EventBus, type EventOf, type LanesEvent } from '../../../agent/report/events.js';
import { SecretMasker } from '../../../agent/report/mask.js';
import { Notifier, checkNotifyUrls, releaseEvent, runOutcome, urlOrigin } from '../../../agent/rollout/notify.js';
import { LanesError } from '../../../agent/errors.js';

interface Received {
  path: string;
  method: string;
  contentType: string;
  body: Record<string, unknown>;
}

/** A webhook whose answer depends on its path: /ok, /slow (never answers in time), /500, /redirect. */
class Hook {
  readonly received: Received[] = [];
  private readonly server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      this.received.push({ path: req.url ?? '', method: req.method ?? '', contentType: String(req.headers['content-type']), body: JSON.parse(raw) as Record<string, unknown> });
      if (req.url?.startsWith('/slow')) {
        this.slow.push(res);
        return;
      }
      if (req.url?.startsWith('/500')) res.writeHead(500).end('boom');
      else if (req.url?.startsWith('/redirect')) res.writeHead(302, { location: `http://127.0.0.1:${this.port}/ok/redirected` }).end();
      else res.writeHead(204).end();
    });
  });
  private readonly slow: http.ServerResponse[] = [];

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const r of this.slow) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

function collect(bus: EventBus): EventOf<'message'>[] {
  const out: EventOf<'message'>[] = [];
  bus.on((e: LanesEvent) => {
    if (e.type === 'message') out.push(e);
  });
  return out;
}

const started = releaseEvent({ event: 'started', operation: 'release', release: '20261128-aaaa', previous: '20261127-bbbb', hosts: ['lab1', 'lab2'] });

describe('Notifier', () => {
  const hook = new Hook();
  before(() => hook.start());
  after(() => hook.stop());

  it('POSTs each release event as JSON, in order, with the fields of the event', async () => {
    hook.received.length = 0;
    const bus = new EventBus();
    const n = new Notifier([hook.url('/ok/hook/TOKEN')], { bus, who: 'ci@runner', masker: new SecretMasker() });
    bus.emit(started);
    bus.emit({ type: 'message', level: 'info', text: 'batch 1/1: lab1' }); // not a release event: not sent
    bus.emit(
      releaseEvent({ event: 'rolled-back', operation: 'release', release: '20261128-aaaa', previous: '20261127-bbbb', host: 'lab2', step: 'health gate', reason: 'health gate: HTTP 500 — rolled back to 20261127-bbbb' }),
    );
    bus.emit(releaseEvent(runOutcome({ operation: 'release', release: '20261128-aaaa', previous: '20261127-bbbb', hosts: ['lab1', 'lab2'], failures: [{ host: 'lab2', message: 'health gate: HTTP 500' }] })));
    await n.flush();
    assert.deepEqual(
      hook.received.map((r) => [r.method, r.path, r.contentType, r.body.event]),
      [
        ['POST', '/ok/hook/TOKEN', 'application/json', 'started'],
        ['POST', '/ok/hook/TOKEN', 'application/json', 'rolled-back'],
        ['POST', '/ok/hook/TOKEN', 'application/json', 'failed'],
      ],
    );
    const [s, rb, f] = hook.received.map((r) => r.body);
    assert.equal(s!.tool, 'lanes');
    assert.equal(s!.operation, 'release');
    assert.equal(s!.release, '20261128-aaaa');
    assert.equal(s!.previous, '20261127-bbbb');
    assert.deepEqual(s!.hosts, ['lab1', 'lab2']);
    assert.equal(s!.who, 'ci@runner');
    assert.ok(!Number.isNaN(Date.parse(String(s!.at))) && String(s!.at).endsWith('Z'));
    assert.equal(rb!.host, 'lab2');
    assert.equal(rb!.step, 'health gate');
    assert.match(String(rb!.reason), /HTTP 500/);
    assert.deepEqual(f!.hosts, ['lab2']);
    assert.equal(f!.ok, 1);
    assert.equal(f!.failed, 1);
    assert.match(String(f!.reason), /^lab2: health gate: HTTP 500$/);
  });

  it('sends finished with every host when all are fine, and every URL gets each event', async () => {
    hook.received.length = 0;
    const bus = new EventBus();
    const n = new Notifier([hook.url('/ok/a'), hook.url('/ok/b'), hook.url('/ok/a')], { bus, masker: new SecretMasker() });
    bus.emit(releaseEvent(runOutcome({ operation: 'rollback', release: 'r1', hosts: ['lab1', 'lab2'], failures: [] })));
    await n.flush();
    assert.deepEqual(hook.received.map((r) => r.path).sort(), ['/ok/a', '/ok/b']);
    for (const r of hook.received) {
      assert.equal(r.body.event, 'finished');
      assert.equal(r.body.operation, 'rollback');
      assert.equal(r.body.ok, 2);
      assert.deepEqual(r.body.hosts, ['lab1', 'lab2']);
    }
  });

  it('masks every registered secret in the body', async () => {
    hook.received.length = 0;
    const masker = new SecretMasker();
    masker.add('hunter2-db-password');
    const bus = new EventBus();
    const n = new Notifier([hook.url('/ok/m')], { bus, masker });
    bus.emit(releaseEvent({ event: 'rolled-back', operation: 'release', release: 'r2', host: 'lab1', step: 'start workers', reason: 'start workers: DB_PASSWORD=hunter2-db-password refused' }));
    await n.flush();
    assert.equal(hook.received.length, 1);
    const raw = JSON.stringify(hook.received[0]!.body);
    assert.ok(!raw.includes('hunter2-db-password'), raw);
    assert.match(String(hook.received[0]!.body.reason), /DB_PASSWORD=\*{8} refused/);
  });

  it('a 500 answer is one warning naming only the origin, never the path or query', async () => {
    const bus = new EventBus();
    const msgs = collect(bus);
    const n = new Notifier([hook.url('/500/services/T000/B000/SECRETTOKEN?key=QUERYSECRET')], { bus, masker: new SecretMasker() });
    bus.emit(started);
    await n.flush();
    const warns = msgs.filter((m) => m.level === 'warn');
    assert.equal(warns.length, 1);
    assert.equal(warns[0]!.code, 'notify');
    assert.match(warns[0]!.text, /HTTP 500/);
    assert.ok(warns[0]!.text.includes(`http://127.0.0.1:${hook.port}`), warns[0]!.text);
    const all = JSON.stringify(msgs);
    assert.ok(!all.includes('SECRETTOKEN') && !all.includes('QUERYSECRET') && !all.includes('/500'), all);
  });

  it('a redirect is not followed and is a warning', async () => {
    hook.received.length = 0;
    const bus = new EventBus();
    const msgs = collect(bus);
    const n = new Notifier([hook.url('/redirect/SECRETTOKEN')], { bus, masker: new SecretMasker() });
    bus.emit(started);
    await n.flush();
    assert.deepEqual(
      hook.received.map((r) => r.path),
      ['/redirect/SECRETTOKEN'],
      'the redirect target was never requested',
    );
    const warns = msgs.filter((m) => m.code === 'notify');
    assert.equal(warns.length, 1);
    assert.match(warns[0]!.text, /302 \(a redirect, not followed\)/);
    assert.ok(!warns[0]!.text.includes('SECRETTOKEN'));
  });

  it('no answer within the timeout is a warning, and flush() does not wait longer', async () => {
    const bus = new EventBus();
    const msgs = collect(bus);
    const n = new Notifier([hook.url('/slow/SECRETTOKEN')], { bus, timeoutMs: 300, masker: new SecretMasker() });
    bus.emit(started);
    const t0 = Date.now();
    await n.flush();
    assert.ok(Date.now() - t0 < 5000, 'flush is bounded by the timeout');
    const warns = msgs.filter((m) => m.code === 'notify');
    assert.equal(warns.length, 1);
    assert.match(warns[0]!.text, /no answer within 0\.3s/);
    assert.ok(!warns[0]!.text.includes('SECRETTOKEN'));
  });

  it('flush() gives up events still queued behind a slow URL, with a warning each', async () => {
    const bus = new EventBus();
    const msgs = collect(bus);
    const n = new Notifier([hook.url('/slow/q')], { bus, timeoutMs: 300, masker: new SecretMasker() });
    bus.emit(started);
    bus.emit(releaseEvent(runOutcome({ operation: 'release', release: 'r', hosts: ['lab1'], failures: [] })));
    await n.flush();
    const warns = msgs.filter((m) => m.code === 'notify');
    assert.equal(warns.length, 2);
    assert.deepEqual(warns.map((w) => (w.data as { event: string }).event), ['started', 'finished']);
  });

  it('a refused connection is a warning; nothing throws', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const bus = new EventBus();
    const msgs = collect(bus);
    const n = new Notifier([`http://127.0.0.1:${port}/hook/SECRETTOKEN`], { bus, masker: new SecretMasker() });
    bus.emit(started);
    await n.flush();
    const warns = msgs.filter((m) => m.code === 'notify');
    assert.equal(warns.length, 1);
    assert.match(warns[0]!.text, /connection refused/);
    assert.deepEqual(warns[0]!.data, { origin: `http://127.0.0.1:${port}`, event: 'started' });
  });

  it('flush() waits for a POST in flight', async () => {
    hook.received.length = 0;
    const bus = new EventBus();
    const n = new Notifier([hook.url('/ok/w')], { bus, masker: new SecretMasker() });
    bus.emit(started);
    assert.equal(hook.received.length, 0, 'nothing has arrived synchronously');
    await n.flush();
    assert.equal(hook.received.length, 1);
  });

  it('with no URL it does not subscribe at all', async () => {
    const bus = new EventBus();
    const n = new Notifier([], { bus });
    bus.emit(started);
    await n.flush();
  });
});

describe('notify URLs', () => {
  it('shows only the origin', () => {
    assert.equal(urlOrigin('https://user:pw@hooks.example.com:8443/services/T/B/XYZ?token=abc#f'), 'https://hooks.example.com:8443');
    assert.equal(urlOrigin('http://127.0.0.1:9000/hook/SECRET'), 'http://127.0.0.1:9000');
    assert.equal(urlOrigin('not a url SECRET'), '(an invalid URL)');
  });

  it('refuses a --notify value that is not http(s), without printing it', () => {
    checkNotifyUrls(['http://a/b', 'https://c:1/d?e'], '--notify');
    assert.throws(
      () => checkNotifyUrls(['http://ok/', 'ftp://host/SECRET'], '--notify'),
      (e: unknown) => e instanceof LanesError && /--notify #2/.test(e.message) && !e.message.includes('SECRET'),
    );
  });

  it('a failed run names the cancel first', () => {
    const d = runOutcome({ operation: 'release', release: 'r', hosts: ['lab1'], failures: [], cancelled: 'SIGTERM' });
    assert.equal(d.event, 'failed');
    assert.equal(d.reason, 'cancelled by SIGTERM');
  });
});
