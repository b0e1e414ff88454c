// The fleet simulator with 3 virtual hosts (no lab: lab1's committed recording) under the real lanes
// CLI: plan and a no-op apply (lease taken and released) answer as the converged lab host did, and the
// host set to fail really drops its connections, so lanes reports it failed beside the others.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Recording } from '../../../bench/simulator/answer.js';
import { startSimFleet, type SimFleet } from '../../../bench/simulator/fleet.js';
import { readJsonRun } from '../../../bench/simulator/simulate.js';
import { runCli } from '../../../bench/measure.js';
import { fixture, repoRoot } from '../../support/paths.js';

const playbook = path.join(repoRoot, 'playbooks', 'site.yml');
const RERECORD = 're-record the fixture: npm run bench -- --lab NAME --record test/fixtures/sim/lab1-site.json';

describe('simulated fleet of 3 under the real CLI', () => {
  let dir: string;
  let fleet: SimFleet;
  let inventory: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lanes-sim-test-'));
    const recording = JSON.parse(readFileSync(fixture('sim', 'lab1-site.json'), 'utf8')) as Recording;
    // A third of the hosts fail: sim0003 (isFailing's even spread).
    fleet = await startSimFleet({ hosts: 3, dir, recording, failRate: 1 / 3 });
    inventory = await fleet.inventory(3);
  });
  after(async () => {
    fleet?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('marks exactly sim0003 as failing', () => {
    assert.deepEqual(fleet.hosts.map((h) => h.failing), [false, false, true]);
  });

  it('plans no change on the answering hosts and fails the one that drops its connections', async () => {
    const r = await runCli(['plan', playbook, '-i', inventory, '--json']);
    const stats = await fleet.drain();
    assert.equal(stats.unanswered, 0, `lanes sent a fact the recording has no answer for: ${RERECORD}`);
    const run = readJsonRun(r.stdout);
    assert.deepEqual(run.changedHosts, []);
    assert.equal(run.failed, 1, r.stdout.slice(-2000) + r.stderr);
    assert.match(run.firstFailure ?? '', /^sim0003: /);
    assert.equal(r.code, 1);
    const ends = r.stdout.split('\n').filter((l) => l.includes('"host-end"')).map((l) => JSON.parse(l) as { host: string; ok: boolean; summary?: string });
    assert.deepEqual(ends.filter((e) => e.ok).map((e) => [e.host, e.summary]).sort(), [['sim0001', 'no changes'], ['sim0002', 'no changes']]);
    assert.equal(stats.connectMs.length, 2, 'two handshakes completed, the failing host none');
    assert.equal(stats.execs, 2, 'one exec per answering host');
  });

  it('applies nothing on the answering hosts, the lease taken and released through the simulator', async () => {
    const r = await runCli(['apply', playbook, '-i', inventory, '--limit', 'sim0001:sim0002', '--json', '--yes']);
    const stats = await fleet.drain();
    assert.equal(r.code, 0, r.stdout.slice(-2000) + r.stderr);
    const run = readJsonRun(r.stdout);
    assert.equal(run.failed, 0);
    assert.deepEqual(run.changedHosts, []);
    // acquire, read state, release on each host
    assert.equal(stats.execs, 6);
    assert.equal(stats.unanswered, 0, RERECORD);
  });
});
