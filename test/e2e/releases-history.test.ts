// lanes releases end to end on 3 lab hosts: the history each host keeps (releases/.history.jsonl),
// written by release / rollback under the lease, read back in order with events, who and source; the
// fleet summary line, which names both releases of a mixed fleet; a garbage line skipped with a warning.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import type { HostReleases } from '../../agent/rollout/history.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { provision } from './support/spawn.js';
import { sitePlaybook } from './support/faults.js';
import { copySampleApp } from './support/sample-app.js';

const site = path.join(repoRoot, 'playbooks', 'site.yml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-history-'));
const HISTORY = '/var/www/app/releases/.history.jsonl';

let lab: EnsuredLab;
let names: string[];
let limit: string;

function variant(name: string, extra: Record<string, string> = {}): string {
  return copySampleApp(path.join(tmp, name), { version: `history-${name}`, extra });
}

async function releasesJson(): Promise<{ summary: { line: string; mixed: boolean }; hosts: HostReleases[] }> {
  const r = await runCli(['releases', site, '-i', lab.inventoryFile, '--limit', limit, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as { summary: { line: string; mixed: boolean }; hosts: HostReleases[] };
}

before(async () => {
  lab = await ensureLab(3);
  names = lab.hosts.slice(0, 3).map((h) => h.name);
  limit = names.join(':');
  await provision(limit);
});

describe('lanes releases', { concurrency: false }, () => {
  const a = variant('a');
  const b = variant('b');
  const c = variant('c');
  let idA: string;
  let idB: string;
  let idC: string;

  it('release twice and roll back once: every host shows the history in order, the summary line, who and source', async () => {
    idA = (await readArtifact(a)).id;
    idB = (await readArtifact(b)).id;
    const env = { LANES_LOCK_HOLDER: 'history-e2e' };
    for (const art of [a, b]) {
      const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', art, '--serial', '100%'], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    const rb = await runCli(['rollback', site, '-i', lab.inventoryFile, '--limit', limit, '--serial', '100%'], { env });
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);

    for (const h of names) {
      // The file on the host: the last three records are exactly this test's changes, in order.
      const lines = (await onHost(lab, h, `cat ${HISTORY}`)).trim().split('\n');
      const last = lines.slice(-3).map((l) => JSON.parse(l) as { release: string; event: string; who: string; command: string; previous: string | null; time: string });
      assert.deepEqual(
        last.map((x) => [x.release, x.event, x.command]),
        [
          [idA, 'live', 'release'],
          [idB, 'live', 'release'],
          [idA, 'rolled-back', 'rollback'],
        ],
        `${h}: ${lines.join('\n')}`,
      );
      assert.equal(last[1]!.previous, idA);
      assert.equal(last[2]!.previous, idB);
      for (const x of last) {
        assert.match(x.who, /^history-e2e@/);
        assert.match(x.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      }
      assert.equal((await onHost(lab, h, 'readlink /var/www/app/current')).trim(), `releases/${idA}`);
    }

    const r = await runCli(['releases', site, '-i', lab.inventoryFile, '--limit', limit]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^fleet: 3 hosts on ${idA}$`, 'm'));
    for (const h of names) {
      assert.match(r.stdout, new RegExp(`^${h}: on ${idA}$`, 'm'));
    }
    assert.match(r.stdout, new RegExp(`live +${idA} +live +went live \\S+, by history-e2e@\\S+ \\(rollback\\), from directory ${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(r.stdout, new RegExp(`previous +${idB} +rolled back +went live \\S+, by history-e2e@\\S+ \\(release\\), from directory `));

    const j = await releasesJson();
    assert.equal(j.summary.mixed, false);
    assert.equal(j.hosts.length, 3);
    for (const h of j.hosts) {
      assert.equal(h.current, idA);
      assert.equal(h.previous, idB);
      assert.equal(h.skipped, 0);
      assert.deepEqual(
        h.releases.slice(0, 2).map((e) => [e.role, e.id, e.outcome, e.source?.kind]),
        [
          ['live', idA, 'live', 'directory'],
          ['previous', idB, 'rolled back', 'directory'],
        ],
      );
    }
  });

  it('a failed release is recorded as failed on the host it failed on', async () => {
    const broken = variant('broken', { BROKEN: 'yes\n' });
    const idBroken = (await readArtifact(broken)).id;
    const r = await runCli(['release', sitePlaybook(path.join(tmp, 'pb-fast')), '-i', lab.inventoryFile, '--limit', limit, '--artifact', broken, '--serial', '1']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const first = names[0]!;
    const last = JSON.parse((await onHost(lab, first, `tail -n 1 ${HISTORY}`)).trim()) as { release: string; event: string; previous: string; reason: string };
    assert.equal(last.release, idBroken);
    assert.equal(last.event, 'failed');
    assert.equal(last.previous, idA);
    assert.match(last.reason, /health gate/);
    const j = await releasesJson();
    const h = j.hosts.find((x) => x.host === first)!;
    assert.equal(h.current, idA);
    assert.equal(h.releases.find((e) => e.id === idBroken)?.outcome, 'failed');
  });

  it('one host released alone (--limit) makes the summary a mixed-fleet line naming both releases', async () => {
    idC = (await readArtifact(c)).id;
    const one = names[0]!;
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', one, '--artifact', c]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = await runCli(['releases', site, '-i', lab.inventoryFile, '--limit', limit]);
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, new RegExp(`^mixed fleet: 2 hosts on ${idA}, 1 host on ${idC} \\(${one}\\)$`, 'm'));
    assert.match(out.stdout, new RegExp(`^${one}: on ${idC}$`, 'm'));
    const j = await releasesJson();
    assert.equal(j.summary.mixed, true);
    assert.equal(j.hosts.find((h) => h.host === one)?.previous, idA);
  });

  it('a garbage line in a host history is skipped with a warning; the rest is still read', async () => {
    const h = names[1]!;
    await onHost(lab, h, `printf '%s\\n' 'this is not json' '{"release":' >> ${HISTORY}`);
    const r = await runCli(['releases', site, '-i', lab.inventoryFile, '--limit', limit]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /warning: 2 unreadable lines of releases\/\.history\.jsonl skipped/);
    const j = await releasesJson();
    const host = j.hosts.find((x) => x.host === h)!;
    assert.equal(host.skipped, 2);
    assert.equal(host.current, idA);
    assert.equal(host.previous, idB);
    assert.equal(j.hosts.find((x) => x.host === names[2])?.skipped, 0);
    // The garbage removed again: the next reader of this host sees a clean history.
    await onHost(lab, h, `grep -v -e '^this is not json$' -e '^{"release":$' ${HISTORY} > ${HISTORY}.t; mv ${HISTORY}.t ${HISTORY}`);
    assert.equal((await releasesJson()).hosts.find((x) => x.host === h)?.skipped, 0);
  });
});
