// The host release history: record lines (atomic, parseable, garbage-tolerant), the append and read
// scripts run by a real sh against a temporary application root, and what `lanes releases` derives.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  MAX_RECORD_BYTES,
  appendScript,
  describeHost,
  fleetSummary,
  historyPath,
  hostReleases,
  parseAppend,
  parseHistory,
  parseHistoryRead,
  parseSwitchHistory,
  switchHistoryScript,
  readHistoryScript,
  recordParts,
  sourceOf,
  type HistoryRecord,
} from '../../../agent/rollout/history.js';
import type { FramedScript } from '../../../agent/remote/sh.js';

const SHELL = process.env.LANES_TEST_SH ?? 'sh';
const tmp = mkdtempSync(path.join(tmpdir(), 'lanes-history-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function sh(script: FramedScript) {
  const r = spawnSync(SHELL, ['-c', script.text], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function appRoot(name: string, releases: string[] = []): string {
  const root = path.join(tmp, name);
  for (const id of releases) {
    mkdirSync(path.join(root, 'releases', id), { recursive: true });
    writeFileSync(path.join(root, 'releases', id, '.lanes-release'), `id=${id}\ndate=2026-11-0${releases.indexOf(id) + 1}T00:00:00Z\n`);
  }
  mkdirSync(path.join(root, 'releases'), { recursive: true });
  return root;
}

const rec = (r: Partial<HistoryRecord> & Pick<HistoryRecord, 'release' | 'event' | 'time'>): HistoryRecord => ({ who: 'alice@laptop', command: 'release', previous: null, ...r });

describe('history records', () => {
  it('appends one JSON line per record with the host clock, values quoted', () => {
    const root = appRoot('append', ['r000000000001']);
    const spec = { path: root };
    const evil = `it's "odd" $(touch ${root}/pwned) \`x\`\nsecond line`;
    for (const r of [
      { release: 'r000000000001', event: 'live' as const, who: 'bob@ci', command: 'release', source: { kind: 'directory' as const, path: "/src/a b'c" }, previous: null },
      { release: 'r000000000002', event: 'failed' as const, who: 'bob@ci', command: 'release', previous: 'r000000000001', reason: evil },
    ]) {
      const s = appendScript(spec, r);
      const out = sh(s);
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(parseAppend(out.stdout, s.nonce), { ok: true });
    }
    const text = readFileSync(historyPath(spec), 'utf8');
    assert.equal(text.split('\n').length, 3, text);
    const { records, skipped } = parseHistory(text);
    assert.equal(skipped, 0);
    assert.equal(records.length, 2);
    assert.match(records[0]!.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.deepEqual(records[0]!.source, { kind: 'directory', path: "/src/a b'c" });
    assert.equal(records[1]!.reason, evil.replace(/\s+/g, ' '));
    assert.equal(records[1]!.previous, 'r000000000001');
    assert.equal(spawnSync('test', ['-e', `${root}/pwned`]).status, 1, 'nothing in a value is run');
  });

  it('keeps a record under PIPE_BUF however long its reason', () => {
    const { prefix, suffix } = recordParts({ release: 'r1', event: 'failed', who: 'x'.repeat(5000), command: 'release', previous: 'r0', reason: 'y'.repeat(20000) });
    assert.ok(Buffer.byteLength(prefix + '2026-01-01T00:00:00Z' + suffix) <= MAX_RECORD_BYTES);
    assert.ok(JSON.parse(prefix + '2026-01-01T00:00:00Z' + suffix));
  });

  it('skips garbage lines and counts them', () => {
    const good = JSON.stringify(rec({ release: 'r1', event: 'live', time: '2026-01-01T00:00:00Z' }));
    const { records, skipped } = parseHistory(`${good}\nnot json\n{"release":"r2"}\n[1]\n{"time":"2026-01-01T00:00:01Z","release":"r2","event":"exploded"}\n${good.slice(0, 30)}\n\n${good}\n`);
    assert.equal(records.length, 2);
    assert.equal(skipped, 5);
  });

  it('takes the source from the artifact as it is now (a path) or as an object with a commit', () => {
    assert.deepEqual(sourceOf({ source: { kind: 'directory', path: '/x/app' } }), { kind: 'directory', path: '/x/app' });
    assert.deepEqual(sourceOf({ source: { kind: 'tarball', path: '/x/app.tar.gz' } }), { kind: 'tarball', path: '/x/app.tar.gz' });
    assert.deepEqual(sourceOf({ source: { kind: 'git', ref: 'HEAD', repo: '/repo', commit: 'abc123' } }), { kind: 'git', path: '/repo', commit: 'abc123' });
    assert.deepEqual(sourceOf({ source: { kind: 'url', url: 'https://store.example/app.tar.gz' } }), { kind: 'url', path: 'https://store.example/app.tar.gz' });
    assert.equal(sourceOf(undefined), undefined);
  });
});

describe('the switch history (rollback target, prune)', () => {
  it('is the live and rolled-back records of the JSON history, oldest first; failed ones are not switches', () => {
    const root = appRoot('switches');
    const lines = [
      rec({ release: 'r1', event: 'live', time: '2026-11-01T00:00:00Z' }),
      rec({ release: 'r2', event: 'failed', time: '2026-11-02T00:00:00Z' }),
      rec({ release: 'r3', event: 'live', time: '2026-11-03T00:00:00Z' }),
      rec({ release: 'r1', event: 'rolled-back', time: '2026-11-04T00:00:00Z' }),
    ];
    writeFileSync(path.join(root, 'releases', '.history.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    // An older lanes' file beside it is ignored once the JSON history has switches.
    writeFileSync(path.join(root, '.lanes-history'), '2026-10-01T00:00:00Z r0\n');
    const s = switchHistoryScript({ path: root });
    assert.deepEqual(parseSwitchHistory(sh(s).stdout, s.nonce), ['r1', 'r3', 'r1']);
  });

  it('falls back to the legacy .lanes-history of a host released only by an older lanes; none is empty', () => {
    const root = appRoot('legacy');
    writeFileSync(path.join(root, '.lanes-history'), '2026-10-01T00:00:00Z r0\n2026-10-02T00:00:00Z r9\ngarbage\n');
    const s = switchHistoryScript({ path: root });
    assert.deepEqual(parseSwitchHistory(sh(s).stdout, s.nonce), ['r0', 'r9']);
    const empty = switchHistoryScript({ path: appRoot('none') });
    assert.deepEqual(parseSwitchHistory(sh(empty).stdout, empty.nonce), []);
  });
});

describe('reading a host', () => {
  it('reads current, the releases on disk and the history in one script', () => {
    const root = appRoot('read', ['r000000000001', 'r000000000002', 'r000000000003']);
    symlinkSync('releases/r000000000002', path.join(root, 'current'));
    mkdirSync(path.join(root, 'releases', 'r000000000009.tmp-1'));
    const lines = [
      rec({ release: 'r000000000001', event: 'live', time: '2026-11-01T00:00:00Z', source: { kind: 'url', path: 'https://store.example/a.tar.gz' } }),
      rec({ release: 'r000000000002', event: 'live', time: '2026-11-02T00:00:00Z', previous: 'r000000000001', source: { kind: 'tarball', path: '/b.tgz' } }),
      rec({ release: 'r000000000003', event: 'failed', time: '2026-11-03T00:00:00Z', previous: 'r000000000002', reason: 'health gate: 500' }),
    ];
    writeFileSync(path.join(root, 'releases', '.history.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    appendFileSync(path.join(root, 'releases', '.history.jsonl'), '{"truncat\n');
    const s = readHistoryScript({ path: root });
    const out = sh(s);
    assert.equal(out.code, 0, out.stderr);
    const read = parseHistoryRead(out.stdout, s.nonce);
    assert.equal(read.complete, true);
    assert.equal(read.current, 'r000000000002');
    assert.deepEqual(read.onDisk.map((d) => d.id).sort(), ['r000000000001', 'r000000000002', 'r000000000003']);
    assert.equal(read.records.length, 3);
    assert.deepEqual(read.records[0]?.source, { kind: 'url', path: 'https://store.example/a.tar.gz' }, 'a fetched release\'s source is read back');
    assert.equal(read.skipped, 1);
    const h = hostReleases('web1', read);
    assert.equal(h.previous, 'r000000000001');
    assert.deepEqual(
      h.releases.map((e) => [e.role, e.id, e.outcome]),
      [
        ['live', 'r000000000002', 'live'],
        ['previous', 'r000000000001', 'replaced'],
        ['kept', 'r000000000003', 'failed'],
      ],
    );
    const text = describeHost(h).join('\n');
    assert.match(text, /web1: on r000000000002/);
    assert.match(text, /live +r000000000002 +live +went live 2026-11-02T00:00:00Z, by alice@laptop \(release\), from tarball \/b\.tgz/);
    assert.match(text, /reason: health gate: 500/);
    assert.match(text, /warning: 1 unreadable line of releases\/\.history\.jsonl skipped/);
  });

  it('shows the releases on disk with no history when the host has no history file', () => {
    const root = appRoot('nohist', ['r000000000001', 'r000000000002']);
    symlinkSync('releases/r000000000002', path.join(root, 'current'));
    const s = readHistoryScript({ path: root });
    const read = parseHistoryRead(sh(s).stdout, s.nonce);
    assert.equal(read.hasHistory, false);
    const h = hostReleases('web1', read);
    assert.deepEqual(
      h.releases.map((e) => [e.role, e.id, e.outcome]),
      [
        ['live', 'r000000000002', 'live'],
        ['kept', 'r000000000001', 'no history'],
      ],
    );
    assert.match(describeHost(h)[0]!, /\(no history on this host\)/);
  });

  it('reads an application root with no releases at all', () => {
    const s = readHistoryScript({ path: path.join(tmp, 'absent') });
    const read = parseHistoryRead(sh(s).stdout, s.nonce);
    assert.equal(read.complete, true);
    assert.deepEqual(hostReleases('web1', read).releases, []);
  });
});

describe('outcomes', () => {
  it('a rollback marks the release it left as rolled back and the target live again', () => {
    const h = hostReleases('web1', {
      current: 'rA',
      onDisk: [
        { id: 'rA', date: '1' },
        { id: 'rB', date: '2' },
      ],
      hasHistory: true,
      skipped: 0,
      complete: true,
      records: [
        rec({ release: 'rA', event: 'live', time: '2026-01-01T00:00:00Z' }),
        rec({ release: 'rB', event: 'live', time: '2026-01-02T00:00:00Z', previous: 'rA' }),
        rec({ release: 'rA', event: 'rolled-back', time: '2026-01-03T00:00:00Z', previous: 'rB', command: 'rollback' }),
      ],
    });
    assert.equal(h.previous, 'rB');
    assert.deepEqual(
      h.releases.map((e) => [e.role, e.id, e.outcome, e.wentLive]),
      [
        ['live', 'rA', 'live', '2026-01-03T00:00:00Z'],
        ['previous', 'rB', 'rolled back', '2026-01-02T00:00:00Z'],
      ],
    );
  });
});

describe('fleetSummary', () => {
  it('one line for a uniform fleet', () => {
    assert.equal(fleetSummary([{ host: 'a', current: 'r1' }, { host: 'b', current: 'r1' }]).line, 'fleet: 2 hosts on r1');
  });
  it('a mixed fleet names the hosts that differ', () => {
    const s = fleetSummary(
      [
        { host: 'a', current: 'r1' },
        { host: 'b', current: 'r2' },
        { host: 'c', current: 'r1' },
        { host: 'd' },
      ],
      ['e'],
    );
    assert.equal(s.mixed, true);
    assert.equal(s.line, 'mixed fleet: 2 hosts on r1, 1 host on r2 (b), 1 host with no live release (d), 1 host not read (e)');
  });
});
