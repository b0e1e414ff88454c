// The release lock lease: holder naming, the JSON line, and acquire/held/expired/release/renew/break
// run by a real sh against a temporary application root — including racing acquirers.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import {
  acquireScript,
  breakScript,
  isoSeconds,
  lockHeldError,
  lockHolder,
  newLease,
  parseLease,
  parseLockChange,
  parseLockOutput,
  releaseScript,
  renewLease,
  renewScript,
  serializeLease,
  type Lease,
} from '../../../agent/rollout/lock.js';
import type { FramedScript } from '../../../agent/remote/sh.js';

/** The lease file name inside a test root (on hosts it is LEASE_FILE). */
const LOCK_FILE = 'lease';
function lockPath(spec: { path: string }): string {
  return `${spec.path}/${LOCK_FILE}`;
}

/** The shell the scripts run in (LANES_TEST_SH=bash to check them under bash, /bin/sh on RHEL). */
const SHELL = process.env.LANES_TEST_SH ?? 'sh';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lanes-lock-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  nonce: string;
}

function sh(script: FramedScript): Ran {
  const r = spawnSync(SHELL, ['-c', script.text], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, nonce: script.nonce };
}

/** What the script said, read with its own nonce. */
const lockOut = (r: Ran) => parseLockOutput(r, r.nonce);
const lockChange = (r: Ran) => parseLockChange(r, r.nonce);

function shAsync(script: FramedScript): Promise<Ran> {
  return new Promise((resolve) => {
    const c = spawn(SHELL, ['-c', script.text]);
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stdout, stderr, nonce: script.nonce }));
  });
}

const HOUR = 3600_000;

function lease(holder: string, over: Partial<Lease> = {}, now = Date.now()): Lease {
  return { ...newLease({ operation: 'release', ttlMs: HOUR, holder, from: 'laptop', pid: 4242, now }), ...over };
}

function root(name: string): { path: string } {
  return { path: path.join(tmp, name) };
}

function lockLine(spec: { path: string }): string {
  return readFileSync(lockPath(spec), 'utf8');
}

describe('lockHolder', () => {
  it('prefers LANES_LOCK_HOLDER, then the CI job, then the user', () => {
    assert.equal(lockHolder({ LANES_LOCK_HOLDER: 'deploy bot', USER: 'alice', GITHUB_RUN_ID: '1' }), 'deploy bot');
    assert.equal(lockHolder({ GITHUB_RUN_ID: '991', GITHUB_REPOSITORY: 'acme/shop', GITHUB_ACTOR: 'bob', USER: 'runner' }), 'github:acme/shop/run/991 (bob)');
    assert.equal(lockHolder({ GITHUB_RUN_ID: '991' }), 'github:run/991');
    assert.equal(lockHolder({ CI_JOB_ID: '77', CI_PROJECT_PATH: 'acme/shop', GITLAB_USER_LOGIN: 'carol' }), 'gitlab:acme/shop/job/77 (carol)');
    assert.equal(lockHolder({ USER: 'alice' }), 'alice');
    assert.equal(lockHolder({ LOGNAME: 'dave', LANES_LOCK_HOLDER: '  ' }), 'dave');
    assert.ok(lockHolder({}).length > 0);
  });
});

describe('lease JSON', () => {
  it('writes one line with fixed keys, seconds precision', () => {
    const l = newLease({ operation: 'release', ttlMs: 30 * 60_000, holder: 'alice', from: 'laptop', pid: 1, now: Date.parse('2026-11-23T13:40:00.750Z') });
    assert.equal(
      serializeLease(l),
      '{"holder":"alice","from":"laptop","pid":1,"since":"2026-11-23T13:40:00Z","expires":"2026-11-23T14:10:00Z","operation":"release"}',
    );
    assert.equal(renewLease(l, 60_000, Date.parse('2026-11-23T14:00:00Z')).expires, '2026-11-23T14:01:00Z');
    assert.throws(() => newLease({ operation: 'x', ttlMs: 10 }), LanesError);
  });

  it('round-trips hostile holder names through the remote file', () => {
    for (const holder of [`o'brien`, 'alice smith', '"quoted" \\ back', '$(touch pwned) `id`', 'naïve 名前', 'two\nlines', 'tab\there']) {
      const spec = root(`rt-${Buffer.from(holder).toString('hex').slice(0, 20)}`);
      const l = lease(holder, { operation: `release "x" it's` });
      const r = sh(acquireScript(lockPath(spec), l));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lockOut(r).status, 'acquired');
      const line = lockLine(spec);
      assert.equal(line, `${serializeLease(l)}\n`, 'exactly one line');
      assert.deepEqual(parseLease(line.trim()), l);
      // Another holder sees it intact.
      const seen = lockOut(sh(acquireScript(lockPath(spec), lease('other'))));
      assert.equal(seen.status, 'held');
      assert.deepEqual(seen.holder, l);
      // And the holder itself can release it (the identity prefix matches literally).
      assert.equal(lockChange(sh(releaseScript(lockPath(spec), l))).status, 'released');
    }
    assert.ok(!existsSync(path.join(process.cwd(), 'pwned')));
  });
});

describe('lock scripts (real sh)', () => {
  it('acquires a free lock, creating the application root', () => {
    const spec = root('fresh/app');
    const l = lease('alice');
    const r = sh(acquireScript(lockPath(spec), l));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lockOut(r), { status: 'acquired' });
    assert.equal(lockLine(spec), `${serializeLease(l)}\n`);
    assert.deepEqual(readdirSync(spec.path), [LOCK_FILE], 'no temporary left behind');
    // Acquiring again with the same lease is fine (a retry).
    assert.deepEqual(lockOut(sh(acquireScript(lockPath(spec), l))), { status: 'acquired' });
  });

  it('reports a lock held by someone else and leaves it alone', () => {
    const spec = root('held');
    const alice = lease('alice');
    sh(acquireScript(lockPath(spec), alice));
    const bob = lease('bob', { pid: 1 });
    const r = sh(acquireScript(lockPath(spec), bob));
    assert.equal(r.code, 0);
    const out = lockOut(r);
    assert.equal(out.status, 'held');
    assert.deepEqual(out.holder, alice);
    assert.equal(lockLine(spec), `${serializeLease(alice)}\n`);
    // The same holder name from another run (other pid/since) is not "ours" either.
    assert.equal(lockOut(sh(acquireScript(lockPath(spec), lease('alice', { pid: 9 })))).status, 'held');
  });

  it('takes over an expired lock and reports the old one', () => {
    const spec = root('expired');
    const old = lease('ci-job-cancelled', {}, Date.now() - 2 * HOUR); // expired an hour ago
    mkdirSync(spec.path, { recursive: true });
    writeFileSync(lockPath(spec), `${serializeLease(old)}\n`);
    const bob = lease('bob');
    const out = lockOut(sh(acquireScript(lockPath(spec), bob)));
    assert.equal(out.status, 'acquired-expired');
    assert.deepEqual(out.holder, old);
    assert.equal(lockLine(spec), `${serializeLease(bob)}\n`);
  });

  it('accepts millisecond ISO times written by other code', () => {
    const spec = root('millis');
    const old: Lease = { holder: 'x', from: 'y', pid: 1, since: new Date(Date.now() - 2 * HOUR).toISOString(), expires: new Date(Date.now() - 1000 * 60).toISOString(), operation: 'release' };
    sh(acquireScript(lockPath(spec), old));
    assert.equal(lockOut(sh(acquireScript(lockPath(spec), lease('bob')))).status, 'acquired-expired');
    const live: Lease = { ...old, expires: new Date(Date.now() + HOUR).toISOString() };
    const spec2 = root('millis2');
    sh(acquireScript(lockPath(spec2), live));
    assert.equal(lockOut(sh(acquireScript(lockPath(spec2), lease('bob')))).status, 'held');
  });

  it('takes over a corrupt lock file, reporting its raw content', () => {
    const spec = root('corrupt');
    mkdirSync(spec.path, { recursive: true });
    writeFileSync(lockPath(spec), 'garbage');
    const out = lockOut(sh(acquireScript(lockPath(spec), lease('bob'))));
    assert.deepEqual(out, { status: 'acquired-expired', raw: 'garbage' });
  });

  it('lets exactly one of many racing acquirers take an expired lock', async () => {
    const spec = root('race');
    sh(acquireScript(lockPath(spec), lease('old', {}, Date.now() - 3 * HOUR)));
    const contenders = Array.from({ length: 12 }, (_, i) => lease(`c${i}`, { pid: 1000 + i }));
    const results = await Promise.all(contenders.map((l) => shAsync(acquireScript(lockPath(spec), l))));
    const won = results.map((r, i) => ({ i, r })).filter(({ r }) => lockOut(r).status !== 'held');
    assert.equal(won.length, 1, results.map((r) => r.stdout + r.stderr).join('\n'));
    const winner = contenders[won[0]!.i]!;
    assert.equal(lockLine(spec), `${serializeLease(winner)}\n`);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(spec.path), [LOCK_FILE]);
  });

  it('lets exactly one of many racing acquirers take a free lock', async () => {
    const spec = root('race-free');
    mkdirSync(spec.path, { recursive: true });
    const contenders = Array.from({ length: 12 }, (_, i) => lease(`c${i}`, { pid: 2000 + i }));
    const results = await Promise.all(contenders.map((l) => shAsync(acquireScript(lockPath(spec), l))));
    assert.equal(results.filter((r) => lockOut(r).status === 'acquired').length, 1);
    assert.equal(results.filter((r) => lockOut(r).status === 'held').length, 11);
  });

  it('waits for the guard of a run in its critical section', async () => {
    const spec = root('guard-wait');
    mkdirSync(`${lockPath(spec)}.guard`, { recursive: true });
    const started = Date.now();
    const pending = shAsync(acquireScript(lockPath(spec), lease('alice')));
    await new Promise((r) => setTimeout(r, 400));
    rmdirSync(`${lockPath(spec)}.guard`);
    const r = await pending;
    assert.equal(lockOut(r).status, 'acquired', r.stderr);
    assert.ok(Date.now() - started >= 400);
  });

  it('takes over a guard left by a run killed inside it', () => {
    const spec = root('guard-stale');
    const guard = `${lockPath(spec)}.guard`;
    mkdirSync(guard, { recursive: true });
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(guard, old, old);
    const r = sh(acquireScript(lockPath(spec), lease('alice')));
    assert.equal(lockOut(r).status, 'acquired', r.stderr);
    assert.deepEqual(readdirSync(spec.path), [LOCK_FILE]);
  });

  it('releases only its own lock', () => {
    const spec = root('release');
    const alice = lease('alice');
    sh(acquireScript(lockPath(spec), alice));
    const notOurs = lockChange(sh(releaseScript(lockPath(spec), lease('bob'))));
    assert.equal(notOurs.status, 'not-ours');
    assert.deepEqual(notOurs.lease, alice);
    // Same holder, another run: not ours either.
    assert.equal(lockChange(sh(releaseScript(lockPath(spec), { ...alice, since: isoSeconds(Date.now() + 5000) }))).status, 'not-ours');
    assert.ok(existsSync(lockPath(spec)));
    // Even after a renewal (other expires), the holder releases it.
    assert.equal(lockChange(sh(renewScript(lockPath(spec), renewLease(alice, 2 * HOUR)))).status, 'renewed');
    assert.equal(lockChange(sh(releaseScript(lockPath(spec), alice))).status, 'released');
    assert.ok(!existsSync(lockPath(spec)));
    assert.equal(lockChange(sh(releaseScript(lockPath(spec), alice))).status, 'absent');
  });

  it('renews only its own lock', () => {
    const spec = root('renew');
    const alice = lease('alice');
    sh(acquireScript(lockPath(spec), alice));
    const later = renewLease(alice, 3 * HOUR);
    assert.equal(lockChange(sh(renewScript(lockPath(spec), later))).status, 'renewed');
    assert.deepEqual(parseLease(lockLine(spec).trim()), later);
    const lost = lockChange(sh(renewScript(lockPath(spec), renewLease(lease('bob'), HOUR))));
    assert.equal(lost.status, 'lost');
    assert.deepEqual(lost.lease, later);
    assert.deepEqual(readdirSync(spec.path), [LOCK_FILE]);
  });

  it('breaks any lock, printing what it removed', () => {
    const spec = root('break');
    const alice = lease('alice');
    sh(acquireScript(lockPath(spec), alice));
    const out = lockChange(sh(breakScript(lockPath(spec))));
    assert.equal(out.status, 'broken');
    assert.deepEqual(out.lease, alice);
    assert.ok(!existsSync(lockPath(spec)));
    assert.equal(lockChange(sh(breakScript(lockPath(spec)))).status, 'absent');
  });
});

describe('parseLockOutput and lockHeldError', () => {
  it("parses every outcome of this run's nonce, ignores other lines, and refuses silence with the script's own words", () => {
    const l = lease('alice');
    const n = 'a1b2c3d4e5f6';
    const b64 = (t: string) => Buffer.from(t).toString('base64');
    assert.deepEqual(parseLockOutput({ stdout: `noise\n@@0000000000ff acquired\n@@${n} acquired\n` }, n), { status: 'acquired' });
    assert.deepEqual(parseLockOutput({ stdout: `@@${n} held ${b64(serializeLease(l))}\n` }, n), { status: 'held', holder: l });
    assert.deepEqual(parseLockOutput({ stdout: `@@${n} acquired-expired ${b64(serializeLease(l))}\n` }, n), { status: 'acquired-expired', holder: l });
    assert.throws(() => parseLockOutput({ stdout: '@@acquired\n' }, n), LanesError);
    assert.throws(
      () => parseLockOutput({ stdout: '', stderr: 'cannot create /var/lib/lanes\n' }, n),
      (e: unknown) => e instanceof LanesError && e.message === 'the host lease could not be read or written: cannot create /var/lib/lanes',
    );
  });

  it('names holder, machine, pid, operation, since and expiry, and how to get out', () => {
    const l: Lease = { holder: 'alice', from: 'laptop', pid: 4242, since: '2026-11-23T13:40:00Z', expires: '2026-11-23T14:10:00Z', operation: 'release' };
    const e = lockHeldError('web1', l);
    assert.equal(e.host, 'web1');
    assert.equal(e.kind, 'exec');
    assert.equal(
      e.format(),
      'web1: host locked by alice@laptop (pid 4242, operation release) since 2026-11-23T13:40:00Z, expires 14:10:00Z (wait for it with --lock-wait 5m, or remove it with --break-lock if that run is gone)',
    );
    assert.match(lockHeldError('web1', { ...l, expires: '2026-11-24T01:00:00Z' }).message, /expires 2026-11-24T01:00:00Z$/);
    assert.match(lockHeldError('web1', undefined, 'garbage').message, /unreadable lease file \(garbage\)/);
  });
});
