/**
 * Output at 1000 hosts, on a synthetic event stream: the plain and live renderers and the plan text
 * group hosts by outcome, every failed host can still be found (named, inside a range, or in --json),
 * and the number of lines stays bounded. A run of FLEET_THRESHOLD hosts keeps one line per host.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { SecretMasker } from '../../../agent/report/mask.js';
import { JsonRenderer } from '../../../agent/report/json.js';
import { LiveRenderer } from '../../../agent/report/live.js';
import { PlainRenderer } from '../../../agent/report/plain.js';
import { renderPlan } from '../../../agent/report/plan-text.js';
import { renderRunOutput } from '../../../agent/report/run-text.js';
import { abbreviateHosts, FLEET_THRESHOLD, LISTED_FAILURES } from '../../../agent/report/fleet.js';
import type { EventBus } from '../../../agent/report/events.js';
import type { Change } from '../../../agent/resources/types.js';
import { capture, lines, recordingBus, waitFor } from './fixtures.js';

type Emit = Parameters<EventBus['emit']>[0];

const name = (i: number) => `web${String(i).padStart(4, '0')}`;
/** Hosts that fail with a reason of their own (more distinct reasons than are shown as groups). */
const LONE = [100, 200, 300, 400, 500, 600, 700, 800, 900, 950, 960, 970];

interface Fleet {
  hosts: string[];
  failed: Map<string, string>;
  steps: Emit[];
  ends: Emit[];
  runEnd: Emit;
}

/**
 * 1000 hosts: web0001…web0040 refused, web0041…web0070 with 2 changes, 12 hosts each failing its own
 * way, web0991…web1000 timed out, the rest (908) no changes.
 */
function fleet(n = 1000): Fleet {
  const hosts = Array.from({ length: n }, (_, i) => name(i + 1));
  const failed = new Map<string, string>();
  const steps: Emit[] = [];
  const ends: Emit[] = [];
  hosts.forEach((host, i) => {
    const k = i + 1;
    steps.push({ type: 'host-start', host }, { type: 'step-start', host, step: 'connect' });
    let reason: string | undefined;
    if (k <= 40) reason = `${host}: connect: connection refused`;
    else if (LONE.includes(k)) reason = `disk full on /dev/sd${k}`;
    else if (k > n - 10) reason = 'read state: timed out after 120s';
    if (reason !== undefined) {
      failed.set(host, reason);
      ends.push({ type: 'host-end', host, ok: false, ms: 10, failure: { kind: 'x', message: reason } });
      return;
    }
    steps.push({ type: 'step-end', host, step: 'connect', ok: true, ms: 5 }, { type: 'step-start', host, step: 'read state' }, { type: 'step-end', host, step: 'read state', ok: true, ms: 5 });
    ends.push({ type: 'host-end', host, ok: true, ms: 20, summary: k <= 70 ? '2 changes' : 'no changes' });
  });
  const failures = [...failed].map(([host, message]) => ({ host, message }));
  const runEnd: Emit = { type: 'run-end', ok: false, ms: 12_300, summary: { ok: n - failed.size, failed: failed.size, failures } };
  return { hosts, failed, steps, ends, runEnd };
}

function emitFleet(bus: EventBus, f: Fleet): void {
  bus.emit({ type: 'run-start', command: 'plan', hosts: f.hosts });
  for (const e of [...f.steps, ...f.ends, f.runEnd]) bus.emit(e);
}

/** The hosts a text names: each name, and every name inside a `first…last` range. */
function namedHosts(text: string): Set<string> {
  const named = new Set<string>();
  for (const m of text.matchAll(/web(\d{4})(?:…web(\d{4}))?/g)) {
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let i = from; i <= to; i++) named.add(name(i));
  }
  return named;
}

describe('host lists', () => {
  it('abbreviates consecutive numbered names to exact ranges, and long lists with a count', () => {
    assert.equal(abbreviateHosts(['web3', 'web1', 'web2', 'web5', 'db1']), 'db1, web1…web3, web5 (5 hosts)');
    assert.equal(abbreviateHosts(['web009', 'web010', 'web011']), 'web009…web011 (3 hosts)');
    assert.equal(abbreviateHosts(['web9', 'web10', 'web11', 'web12']), 'web9…web12 (4 hosts)');
    // Different widths of zero-padded numbers are different names, not a run.
    assert.equal(abbreviateHosts(['a09', 'a010', 'a011']), 'a09, a010, a011 (3 hosts)');
    assert.equal(abbreviateHosts(['lab1']), 'lab1');
    const scattered = Array.from({ length: 20 }, (_, i) => `h${i * 2}`);
    assert.equal(abbreviateHosts(scattered), 'h0, h2, h4, h6, h8, h10, … +14 more (20 hosts)');
    // Items left out may be ranges: the count is of hosts.
    assert.equal(abbreviateHosts(['a1', 'b1', 'c1', 'd1', 'e1', 'f1', 'g1', 'g2', 'g3', 'x1']), 'a1, b1, c1, d1, e1, f1, … +4 more (10 hosts)');
  });
});

describe('PlainRenderer at 1000 hosts', () => {
  it('groups results by outcome, names failed hosts up to the cap, and keeps progress to a line per tenth', async () => {
    const f = fleet();
    const out = capture();
    const progress = capture();
    const r = new PlainRenderer({ out: out.stream, progress: progress.stream, masker: new SecretMasker(), env: {} });
    const { bus } = recordingBus();
    r.attach(bus);
    emitFleet(bus, f);
    await r.done();

    const got = out.text().split('\n').slice(0, -1);
    assert.deepEqual(got.slice(0, 2), [
      `ok: ${abbreviateHosts(f.hosts.filter((h, i) => i >= 70 && !f.failed.has(h)))}: no changes`,
      'ok: web0041…web0070 (30 hosts): 2 changes',
    ]);
    assert.match(got[0]!, /^ok: web0071…web0099, web0101…web0199, .* \(908 hosts\): no changes$/);
    assert.deepEqual(got.slice(2, 12), [
      'FAILED: web0001…web0040 (40 hosts): connect: connection refused',
      'FAILED: web0991…web1000 (10 hosts): read state: timed out after 120s',
      ...LONE.slice(0, 8).map((k) => `FAILED: ${name(k)}: disk full on /dev/sd${k}`),
    ]);
    assert.equal(got[12], 'FAILED: web0900, web0950, web0960, web0970 (4 hosts), with 4 other reasons: see below or --json');
    assert.equal(got[13], 'plan: 938 ok, 62 failed (12.3s)');
    const listed = got.slice(14, 14 + LISTED_FAILURES);
    assert.deepEqual(listed, [...f.failed].slice(0, LISTED_FAILURES).map(([h, m]) => `  ${h}: ${m.startsWith(`${h}: `) ? m.slice(h.length + 2) : m}`));
    assert.equal(got[14 + LISTED_FAILURES], '  and 12 more failed hosts: see --json (one host-end event per host)');
    assert.equal(got.length, 15 + LISTED_FAILURES);

    // Every failed host is named somewhere in the results, directly or inside a range.
    const named = namedHosts(out.text());
    assert.deepEqual([...f.failed.keys()].filter((h) => !named.has(h)), []);

    assert.deepEqual(lines(progress.text()), [
      'plan: starting on 1000 hosts',
      ...[100, 200, 300, 400, 500, 600, 700, 800, 900, 1000].map((d) => `plan: ${d}/1000 hosts done, ${[...f.failed.keys()].filter((h) => f.hosts.indexOf(h) < d).length} failed`),
    ]);
  });

  it(`keeps one line per host up to ${FLEET_THRESHOLD} hosts, and groups from one more`, async () => {
    for (const n of [FLEET_THRESHOLD, FLEET_THRESHOLD + 1]) {
      const hosts = Array.from({ length: n }, (_, i) => name(i + 1));
      const out = capture();
      const r = new PlainRenderer({ out: out.stream, progress: capture().stream, masker: new SecretMasker(), env: {} });
      const { bus } = recordingBus();
      r.attach(bus);
      bus.emit({ type: 'run-start', command: 'ping', hosts });
      for (const host of hosts) bus.emit({ type: 'host-end', host, ok: true, ms: 35, summary: 'no changes' });
      bus.emit({ type: 'run-end', ok: true, ms: 500, summary: { ok: n, failed: 0, failures: [] } });
      await r.done();
      const got = lines(out.text());
      if (n === FLEET_THRESHOLD) {
        assert.deepEqual(got, [...hosts.map((h) => `[${h}] ok 35ms no changes`), `ping: ${n} ok, 0 failed (500ms)`]);
      } else {
        assert.deepEqual(got, [`ok: web0001…web0021 (21 hosts): no changes`, `ping: ${n} ok, 0 failed (500ms)`]);
      }
    }
  });

  it('groups per-host summaries (timings) into one ok line instead of a line per host', async () => {
    const hosts = Array.from({ length: 200 }, (_, i) => name(i + 1));
    const out = capture();
    const r = new PlainRenderer({ out: out.stream, progress: capture().stream, masker: new SecretMasker(), env: {} });
    const { bus } = recordingBus();
    r.attach(bus);
    bus.emit({ type: 'run-start', command: 'ping', hosts });
    hosts.forEach((host, i) => bus.emit({ type: 'host-end', host, ok: true, ms: 35, summary: `root@${host} connect ${i}ms` }));
    bus.emit({ type: 'run-end', ok: true, ms: 500, summary: { ok: 200, failed: 0, failures: [] } });
    await r.done();
    assert.deepEqual(lines(out.text()), ["ok: web0001…web0200 (200 hosts); each host's summary: see --json", 'ping: 200 ok, 0 failed (500ms)']);
  });
});

describe('JsonRenderer at 1000 hosts', () => {
  it('stays complete: one host-end per host, every failure with its reason', async () => {
    const f = fleet();
    const out = capture();
    const r = new JsonRenderer({ stream: out.stream, masker: new SecretMasker() });
    const { bus } = recordingBus();
    r.attach(bus);
    emitFleet(bus, f);
    await r.done();
    const ends = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; host?: string; ok?: boolean; failure?: { message: string } })
      .filter((e) => e.type === 'host-end');
    assert.equal(ends.length, 1000);
    assert.deepEqual(new Set(ends.map((e) => e.host)), new Set(f.hosts));
    assert.deepEqual(new Map(ends.filter((e) => !e.ok).map((e) => [e.host, e.failure?.message])), f.failed);
  });
});

describe('LiveRenderer at 1000 hosts', () => {
  it('draws one row of counts per state with the longest-running hosts, then the grouped results', async () => {
    const f = fleet();
    const term = capture(true);
    const r = new LiveRenderer({ stream: term.stream, errStream: capture(true).stream, masker: new SecretMasker(), env: { NO_COLOR: '1' }, lazy: true });
    const { bus } = recordingBus();
    r.attach(bus);
    bus.emit({ type: 'run-start', command: 'plan', hosts: f.hosts });
    await waitFor(() => stripVTControlCharacters(term.text()).includes('plan on 1000 hosts'));
    // Half-way: every host connecting or further, the first 40 failed.
    for (const e of f.steps) bus.emit(e);
    for (const e of f.ends.slice(0, 40)) bus.emit(e);
    await waitFor(() => /failed\s+40/.test(stripVTControlCharacters(term.text())));
    const frame = stripVTControlCharacters(term.text().slice(term.text().lastIndexOf('plan on 1000 hosts')));
    // A frame is a few lines (the row, wrapped at the terminal's 100 columns), not a line per host.
    assert.ok(frame.split('\n').filter((l) => l.trim()).length <= 5, frame);
    const row = frame.replace(/\n\s*(› )?/g, ' ');
    assert.match(row, /^plan on 1000 hosts: waiting 0, connecting 22, reading 938, applying 0, done 0, failed 40 /);
    assert.match(row, /longest: web0041 \(read state \d+(ms|\.\ds)\), web0042 \(read state/);
    assert.match(row, /failed: web0038: connect: connection refused; web0039: connect: connection refused; web0040: connect: connection refused/);

    for (const e of [...f.ends.slice(40), f.runEnd]) bus.emit(e);
    await r.done();
    const text = stripVTControlCharacters(term.text());
    const after = lines(text.slice(text.lastIndexOf('plan on 1000 hosts: done')));
    assert.match(after[0]!, /^plan on 1000 hosts: done 938, failed 62$/);
    assert.equal(after[1], 'ok: web0071…web0099, web0101…web0199, web0201…web0299, web0301…web0399, web0401…web0499, web0501…web0599, … +384 more (908 hosts): no changes');
    assert.ok(after.includes('FAILED: web0001…web0040 (40 hosts): connect: connection refused'));
    assert.ok(after.includes('plan: 938 ok, 62 failed (12.3s)'));
    assert.ok(after.includes('  and 12 more failed hosts: see --json (one host-end event per host)'));
    assert.ok(after.length < 80, `${after.length} lines`);
    assert.deepEqual([...f.failed.keys()].filter((h) => !namedHosts(after.join('\n')).has(h)), []);
  });
});

describe('text results at 1000 hosts', () => {
  it('the plan abbreviates host lists and groups failures by reason', () => {
    const hosts = Array.from({ length: 1000 }, (_, i) => name(i + 1));
    const change: Change = { resource: 'file[/etc/motd]', action: 'update', summary: 'content', operations: [] };
    const text = renderPlan({
      title: 'plan: site.yml',
      hosts: hosts.slice(0, 990).map((host, i) => ({ host, changes: i < 30 ? [change] : [] })),
      failed: hosts.slice(990).map((host) => ({ host, message: `${host}: connect: timed out` })),
    });
    const got = text.split('\n');
    assert.equal(got[2], 'web0001…web0030 (30 hosts): 1 change');
    assert.ok(got.includes('no changes: web0031…web0990 (960 hosts)'));
    assert.ok(got.includes('FAILED web0991…web1000 (10 hosts): connect: timed out'));
    assert.ok(got.includes('1000 hosts: 30 to change, 960 unchanged, 10 failed'));
    assert.ok(got.length < 20, `${got.length} lines`);
  });

  it('lanes run output abbreviates the hosts of each group', () => {
    const hosts = Array.from({ length: 1000 }, (_, i) => ({ host: name(i + 1), code: i < 995 ? 0 : 1, stdout: i < 995 ? 'PHP 8.2\n' : '', stderr: i < 995 ? '' : 'php: not found\n' }));
    const got = renderRunOutput(hosts).split('\n');
    assert.deepEqual(got, [
      'web0001…web0995 (995 hosts): exit 0',
      '  PHP 8.2',
      'web0996…web1000 (5 hosts): exit 1',
      '  stderr:',
      '    php: not found',
      '995 ok, 5 failed (web0996…web1000 (5 hosts))',
      '',
    ]);
  });
});
