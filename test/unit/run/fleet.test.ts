// The one fleet runner: --forks bounds every phase (not only connecting), a failing host fails alone,
// host-start / host-end come once per host from the runner, and a cancelled run starts no host.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { EventBus, type LanesEvent } from '../../../agent/report/events.js';
import { CancelledError } from '../../../agent/run/cancel.js';
import { Fleet, runFleet, type FleetHost } from '../../../agent/run/fleet.js';
import { parsableKeyPair } from '../../support/ssh-keys.js';

const env = { HOME: '/nonexistent-home' };
/** A valid key nobody accepts: connecting gets as far as the TCP connect. */
const keyFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'lanes-unit-fleet-')), 'id');
writeFileSync(keyFile, parsableKeyPair().private, { mode: 0o600 });

function hosts(n: number, port = 22): FleetHost[] {
  return Array.from({ length: n }, (_, i) => ({ name: `web${i + 1}`, vars: { ansible_host: '127.0.0.1', ansible_port: port, ansible_user: 'u', ansible_ssh_private_key_file: keyFile } }));
}

function recorder() {
  const bus = new EventBus();
  const events: LanesEvent[] = [];
  bus.on((e) => events.push(e));
  return { bus, events, of: <K extends LanesEvent['type']>(t: K) => events.filter((e) => e.type === t) as Extract<LanesEvent, { type: K }>[] };
}

/** A phase body that records how many hosts are in it at once. */
function concurrency() {
  let now = 0;
  let max = 0;
  return {
    get max() {
      return max;
    },
    body: async () => {
      now++;
      max = Math.max(max, now);
      await new Promise((r) => setTimeout(r, 5));
      now--;
    },
  };
}

describe('Fleet.each', () => {
  it('bounds every phase by forks, the first and each later one', async () => {
    const r = recorder();
    const fleet = await Fleet.start(hosts(12), { bus: r.bus, command: 'test', forks: 3, env });
    for (let phase = 0; phase < 3; phase++) {
      const c = concurrency();
      await fleet.each(c.body, fleet.hosts);
      assert.equal(c.max, 3, `phase ${phase + 1}: three hosts at once, never more`);
    }
  });

  it('a host that throws fails alone and is skipped by later phases; each host starts and ends once', async () => {
    const r = recorder();
    const fleet = await Fleet.start(hosts(4), { bus: r.bus, command: 'test', forks: 2, env });
    const seen: string[] = [];
    await fleet.each(async (s) => {
      if (s.host === 'web2') throw new Error('web2 broke');
      s.summary = 'fine';
    });
    await fleet.each(async (s) => void seen.push(s.host));
    assert.deepEqual(seen.sort(), ['web1', 'web3', 'web4']);
    const end = fleet.end();
    fleet.end();
    assert.equal(end.ok, false);
    assert.deepEqual(end.summary.failures, [{ host: 'web2', message: 'web2 broke' }]);
    assert.deepEqual(r.of('host-start').map((e) => e.host).sort(), ['web1', 'web2', 'web3', 'web4']);
    const ends = r.of('host-end');
    assert.deepEqual(ends.map((e) => e.host).sort(), ['web1', 'web2', 'web3', 'web4'], 'one host-end per host, even after two end() calls');
    assert.equal(ends.find((e) => e.host === 'web1')?.summary, 'fine');
    assert.equal(ends.find((e) => e.host === 'web2')?.failure?.message, 'web2 broke');
    assert.equal(r.of('run-start').length, 1);
  });

  it('refuses forks that is not a whole number of at least 1', async () => {
    const r = recorder();
    await assert.rejects(Fleet.start(hosts(1), { bus: r.bus, command: 'test', forks: 0, env }), /--forks must be a whole number/);
    assert.equal(r.events.length, 0, 'nothing announced');
  });
});

describe('runFleet', () => {
  it('a cancelled run starts no host: each ends failed, untouched, without connecting', async () => {
    const r = recorder();
    const ac = new AbortController();
    ac.abort('SIGTERM');
    let jobs = 0;
    const result = await runFleet(hosts(3), async () => ((jobs++, {})), { bus: r.bus, command: 'test', env, signal: ac.signal });
    assert.equal(jobs, 0);
    assert.equal(result.ok, false);
    assert.deepEqual(result.hosts.map((h) => h.host), ['web1', 'web2', 'web3']);
    for (const h of result.hosts) assert.ok(h.error instanceof CancelledError);
    assert.equal(r.of('step-start').length, 0, 'no connect step');
    assert.ok(r.of('host-end').every((e) => /not started, untouched: the run was cancelled \(SIGTERM\)/.test(e.failure?.message ?? '')));
  });

  it('a host that cannot be reached fails with its connect step; its host-end comes once, in inventory order of outcomes', async () => {
    // A port nobody listens on: every connect is refused (not a reset: never retried).
    const server = net.createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((res) => server.close(() => res()));
    const r = recorder();
    const result = await runFleet(hosts(5, port), async () => ({}), { bus: r.bus, command: 'test', env, forks: 2, connectRate: 1 });
    assert.equal(result.ok, false);
    assert.deepEqual(result.hosts.map((h) => h.host), ['web1', 'web2', 'web3', 'web4', 'web5']);
    assert.equal(result.summary.failed, 5);
    const steps = r.of('step-end');
    assert.equal(steps.length, 5);
    for (const s of steps) assert.match(s.detail ?? '', /connection refused/);
    assert.equal(r.of('host-end').length, 5);
    assert.equal(r.of('run-end').length, 1);
  });
});
