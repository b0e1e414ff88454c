// FleetLease against a real sh and a temporary lease file (the scripts are the ones run on hosts):
// a held lease refused naming the holder, --lock-wait, an expired lease taken over and reported,
// --break-lock, a heartbeat that renews (and finds a stolen lease lost), and unlock results reported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EventBus, type LanesEvent } from '../../../agent/report/events.js';
import { newLease, parseLease, serializeLease } from '../../../agent/rollout/lock.js';
import { FleetLease } from '../../../agent/run/lease.js';
import type { HostContext } from '../../../agent/run/fleet.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'lanes-fleet-lease-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A host whose "connection" runs scripts in a local sh. */
function host(name = 'web1'): Pick<HostContext, 'host' | 'conn' | 'step'> {
  const conn = {
    exec: async (script: string) => {
      const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
      return { command: script, code: r.status, stdout: r.stdout, stderr: r.stderr, ms: 0 };
    },
  };
  return { host: name, conn: conn as unknown as HostContext['conn'], step: (_n, fn) => fn() };
}

function setup(opts: Partial<ConstructorParameters<typeof FleetLease>[0]> = {}) {
  const bus = new EventBus();
  const events: LanesEvent[] = [];
  bus.on((e) => events.push(e));
  const file = path.join(mkdtempSync(path.join(tmp, 'h-')), 'lease');
  const lease = new FleetLease({ bus, operation: 'apply', file, ...opts });
  const warns = () => events.filter((e) => e.type === 'message' && e.level === 'warn') as Extract<LanesEvent, { type: 'message' }>[];
  return { lease, events, file, warns };
}

const other = (ttlMs: number, now = Date.now()) => newLease({ operation: 'release', ttlMs, holder: 'ci:run/7', from: 'runner-3', pid: 99, now });

describe('FleetLease', () => {
  it('takes a free lease and removes it at the end', async () => {
    const { lease, file, warns } = setup();
    await lease.acquire(host());
    const held = parseLease(readFileSync(file, 'utf8').trim())!;
    assert.equal(held.operation, 'apply');
    assert.equal(held.pid, process.pid);
    await lease.releaseAll();
    assert.throws(() => readFileSync(file));
    assert.deepEqual(warns(), []);
  });

  it("refuses another run's lease naming it; --break-lock removes it, reported", async () => {
    const { lease, file } = setup();
    writeFileSync(file, `${serializeLease(other(3600_000))}\n`);
    await assert.rejects(lease.acquire(host()), /host locked by ci:run\/7@runner-3 \(pid 99, operation release\)/);
    const b = setup({ breakLock: true });
    writeFileSync(b.file, `${serializeLease(other(3600_000))}\n`);
    await b.lease.acquire(host());
    assert.match(b.warns()[0]!.text, /--break-lock removed the lease of ci:run\/7@runner-3/);
    await b.lease.releaseAll();
  });

  it('takes over an expired lease, naming the previous holder in a warning', async () => {
    const { lease, file, warns } = setup();
    writeFileSync(file, `${serializeLease(other(60_000, Date.now() - 3600_000))}\n`);
    await lease.acquire(host());
    const w = warns();
    assert.equal(w.length, 1);
    assert.equal(w[0]!.code, 'lease-takeover');
    assert.equal(w[0]!.host, 'web1');
    assert.match(w[0]!.text, /took over an expired lease of ci:run\/7@runner-3 \(pid 99, operation release\) since /);
    await lease.releaseAll();
  });

  it('waits with --lock-wait until the other lease is gone', async () => {
    const { lease, file, events } = setup({ waitMs: 20_000 });
    writeFileSync(file, `${serializeLease(other(3600_000))}\n`);
    setTimeout(() => rmSync(file), 1500);
    await lease.acquire(host());
    assert.ok(events.some((e) => e.type === 'message' && e.code === 'lease-wait'));
    await lease.releaseAll();
  });

  it('renews while the run lives; a stolen lease is reported lost and not removed at the end', async () => {
    const { lease, file, warns } = setup({ ttlMs: 3000 });
    await lease.acquire(host());
    const first = parseLease(readFileSync(file, 'utf8').trim())!;
    await new Promise((r) => setTimeout(r, 2300));
    const renewed = parseLease(readFileSync(file, 'utf8').trim())!;
    assert.equal(renewed.since, first.since);
    assert.ok(renewed.expires > first.expires, `renewed: ${first.expires} → ${renewed.expires}`);
    lease.assertHeld('web1');

    const thief = other(3600_000);
    writeFileSync(file, `${serializeLease(thief)}\n`);
    await new Promise((r) => setTimeout(r, 1500));
    assert.match(lease.lostOn('web1') ?? '', /the lease was lost: it is now held by ci:run\/7@runner-3/);
    assert.throws(() => lease.assertHeld('web1'), /stopped: the lease was lost/);
    await lease.releaseAll();
    assert.equal(readFileSync(file, 'utf8').trim(), serializeLease(thief), "someone else's lease is never removed");
    assert.ok(warns().some((w) => w.code === 'lease-release' && /no longer ours but ci:run\/7/.test(w.text)));
  });

  it('reports a lease already gone at the end', async () => {
    const { lease, file, warns } = setup();
    await lease.acquire(host());
    rmSync(file);
    await lease.releaseAll();
    assert.ok(warns().some((w) => w.code === 'lease-release' && /already gone/.test(w.text)));
  });

  it('a cancelled run takes no lease', async () => {
    const c = new AbortController();
    c.abort('SIGTERM');
    const { lease, file } = setup({ signal: c.signal });
    await assert.rejects(lease.acquire(host()), /cancelled before the lease was taken \(SIGTERM\)/);
    assert.throws(() => readFileSync(file));
  });
});
