// Saved plans carry digests of what they hold: every edit of a plan file is refused, naming what
// changed; a keyed (HMAC) plan cannot be re-sealed without the key; --max-age refuses old plans.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { canonicalJson, computeIntegrity, planKeyFromEnv } from '../../../agent/plan/plan-digest.js';
import { PLAN_FORMAT, readPlanFile, writePlanFile, type PlanFile } from '../../../agent/plan/plan-file.js';

const KEY = 'k'.repeat(32);
let dir: string;
let n = 0;

function samplePlan(createdAt = new Date().toISOString()): PlanFile {
  const host = (name: string) => ({
    host: name,
    fingerprint: `fp-${name}`,
    probes: [{ kind: 'file' as const, path: '/etc/x' }],
    desired: [{ type: 'file', id: '/etc/x', spec: { content: 'hello\n' } }],
    changes: [
      {
        resource: 'file:/etc/x',
        action: 'update' as const,
        summary: 'content',
        diff: '-a\n+hello\n',
        operations: [{ op: 'write' as const, path: '/etc/x', content: 'hello\n', mode: '0644' }],
      },
      {
        resource: 'file:/etc/y',
        action: 'create' as const,
        summary: 'new',
        operations: [{ op: 'mkdir' as const, path: '/etc/y', mode: '0755' }],
      },
    ],
  });
  return { format: PLAN_FORMAT, createdAt, playbook: 'site.yml', inventory: ['inv.yml'], hosts: [host('lab1'), host('lab2')] } as unknown as PlanFile;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Write a plan, let `edit` change the parsed file, write it back, return the path. */
async function edited(edit: (j: Json) => void, key?: string): Promise<string> {
  const file = path.join(dir, `plan-${++n}.json`);
  await writePlanFile(file, samplePlan(), key);
  const j = JSON.parse(readFileSync(file, 'utf8')) as Json;
  edit(j);
  writeFileSync(file, JSON.stringify(j, null, 2));
  return file;
}

async function refused(file: string, re: RegExp, key: string | null = null): Promise<void> {
  await assert.rejects(readPlanFile(file, { key }), (err: unknown) => {
    assert.ok(err instanceof LanesError, String(err));
    assert.match(err.format(), re);
    assert.ok(!err.format().includes('\n'), 'one line');
    return true;
  });
}

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-plan-integrity-'));
});

describe('plan file integrity', () => {
  it('reads back an unedited plan, keyed and unkeyed', async () => {
    const a = await edited(() => undefined);
    assert.equal((await readPlanFile(a, { key: null })).hosts.length, 2);
    const b = await edited(() => undefined, KEY);
    assert.equal((await readPlanFile(b, { key: KEY })).hosts.length, 2);
    const j = JSON.parse(readFileSync(b, 'utf8')) as Json;
    assert.equal(j.integrity.algorithm, 'hmac-sha256');
    assert.ok(!readFileSync(b, 'utf8').includes(KEY), 'the key is never written');
  });

  it('reformatting the JSON is not an edit (the digest is over the data, not the bytes)', async () => {
    const file = await edited(() => undefined);
    const j = JSON.parse(readFileSync(file, 'utf8')) as Json;
    writeFileSync(file, JSON.stringify(j)); // one line, same data
    await readPlanFile(file, { key: null });
  });

  it('refuses an edited operation, naming host and change', async () => {
    const file = await edited((j) => (j.hosts[1].changes[0].operations[0].content = 'evil\n'));
    await refused(file, /plan-\d+\.json was edited after it was written: host lab2, change file:\/etc\/x \(operations differ from the digest\)/);
  });

  it('refuses an operation added to a change', async () => {
    const file = await edited((j) => j.hosts[0].changes[1].operations.push({ op: 'run', phase: 'prepare', script: 'id', describe: 'x' }));
    await refused(file, /host lab1, change file:\/etc\/y \(operations differ/);
  });

  it('refuses an operation removed', async () => {
    const file = await edited((j) => (j.hosts[0].changes[0].operations = []));
    await refused(file, /host lab1, change file:\/etc\/x \(operations differ/);
  });

  it('refuses an edited summary or diff (what the reviewer saw)', async () => {
    const file = await edited((j) => (j.hosts[0].changes[0].diff = '+nothing to see\n'));
    await refused(file, /host lab1, change file:\/etc\/x \(differs from the digest\)/);
  });

  it('refuses a change added or removed', async () => {
    const added = await edited((j) => j.hosts[0].changes.push({ resource: 'file:/root/.ssh/authorized_keys', action: 'create', summary: 'x', operations: [] }));
    await refused(added, /host lab1, change file:\/root\/\.ssh\/authorized_keys \(added: not in the digest\)/);
    const removed = await edited((j) => j.hosts[0].changes.pop());
    await refused(removed, /host lab1, change file:\/etc\/y \(removed: in the digest, not in the file\)/);
  });

  it('refuses an edited state fingerprint (it decides which hosts still match)', async () => {
    const file = await edited((j) => (j.hosts[0].fingerprint = 'whatever'));
    await refused(file, /host lab1, state fingerprint \(differs from the digest\)/);
  });

  it('refuses edited desired state and probes', async () => {
    const d = await edited((j) => (j.hosts[1].desired[0].spec.content = 'x'));
    await refused(d, /host lab2, desired state/);
    const p = await edited((j) => (j.hosts[1].probes = []));
    await refused(p, /host lab2, probes/);
  });

  it('refuses a host added or removed', async () => {
    const added = await edited((j) => j.hosts.push({ ...j.hosts[0], host: 'lab3' }));
    await refused(added, /host lab3 \(added: not in the digest\)/);
    const removed = await edited((j) => j.hosts.shift());
    await refused(removed, /host lab1 \(removed: in the digest, not in the file\)/);
  });

  it('refuses an edited createdAt (so --max-age cannot be dodged), playbook or inventory', async () => {
    const c = await edited((j) => (j.createdAt = new Date(Date.now() + 3600_000).toISOString()));
    await refused(c, /was edited after it was written: createdAt \(differs from the digest\)/);
    const i = await edited((j) => (j.inventory = ['other.yml']));
    await refused(i, /inventory \(differs/);
  });

  it('refuses an edited digest, and a missing or malformed one', async () => {
    const top = await edited((j) => (j.integrity.digest = '0'.repeat(64)));
    await refused(top, /the digest itself \(does not match the file\)/);
    const part = await edited((j) => (j.integrity.hosts[0].changes[0].operations = '0'.repeat(64)));
    await refused(part, /host lab1, change file:\/etc\/x \(operations differ/);
    const none = await edited((j) => delete j.integrity);
    await refused(none, /was edited after it was written: it has no integrity digest/);
    const bad = await edited((j) => (j.integrity = { algorithm: 'md5' }));
    await refused(bad, /integrity digest is malformed/);
  });

  it('an unkeyed plan can be re-sealed by whoever edits it — a keyed one cannot', async () => {
    // Forge: edit an operation, then recompute the digests as an attacker would.
    const reseal = (key: string | undefined) => (j: Json) => {
      j.hosts[0].changes[0].operations[0].content = 'evil\n';
      delete j.integrity;
      j.integrity = computeIntegrity(j as never, key);
    };
    const unkeyed = await edited(reseal(undefined));
    await readPlanFile(unkeyed, { key: null }); // the documented limit of an unkeyed digest
    const forged = await edited(reseal('attacker-guess-000000'), KEY);
    await refused(forged, /signed with another LANES_PLAN_KEY/, KEY);
    const unsigned = await edited(reseal(undefined), KEY);
    await refused(unsigned, /is not signed with LANES_PLAN_KEY/, KEY);
  });

  it('a keyed plan needs its key; an edited keyed plan names the change', async () => {
    const file = await edited(() => undefined, KEY);
    await refused(file, /is signed with a plan key, and LANES_PLAN_KEY is not set/, null);
    await refused(file, /signed with another LANES_PLAN_KEY/, 'z'.repeat(32));
    const e = await edited((j) => (j.hosts[1].changes[1].operations[0].path = '/etc/shadow'), KEY);
    await refused(e, /host lab2, change file:\/etc\/y \(operations differ/, KEY);
  });

  it('LANES_PLAN_KEY must not be trivially short', () => {
    assert.equal(planKeyFromEnv({}), undefined);
    assert.equal(planKeyFromEnv({ LANES_PLAN_KEY: '' }), undefined);
    assert.equal(planKeyFromEnv({ LANES_PLAN_KEY: KEY }), KEY);
    assert.throws(() => planKeyFromEnv({ LANES_PLAN_KEY: 'short' }), /too short/);
  });

  it('canonical JSON sorts keys at every level and drops undefined', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: undefined }], c: null } }), '{"a":{"c":null,"d":[1,{"z":1}]},"b":1}');
  });
});

describe('plan max age', () => {
  async function planWrittenAt(createdAt: string): Promise<string> {
    const file = path.join(dir, `aged-${++n}.json`);
    await writePlanFile(file, samplePlan(createdAt), undefined);
    return file;
  }

  it('refuses a plan older than --max-age, accepts a younger one', async () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    const file = await planWrittenAt('2026-01-01T09:00:00Z');
    await assert.rejects(readPlanFile(file, { key: null, maxAgeMs: 2 * 3600_000, now }), /is 3h old \(written 2026-01-01T09:00:00Z\), older than --max-age 2h/);
    await readPlanFile(file, { key: null, maxAgeMs: 4 * 3600_000, now });
    await readPlanFile(file, { key: null, now }); // no --max-age: no limit
  });

  it('refuses a plan from the future when --max-age is given', async () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    const file = await planWrittenAt('2026-01-01T13:00:00Z');
    await assert.rejects(readPlanFile(file, { key: null, maxAgeMs: 3600_000, now }), /written in the future/);
  });
});

describe('plan format', () => {
  it('refuses a plan of format 1 (fingerprints of another meaning) naming the format it expects', async () => {
    assert.equal(PLAN_FORMAT, 'lanes-plan/2');
    const file = await edited((j) => (j.format = 'lanes-plan/1'));
    await refused(file, /not a lanes plan file: format: .*expected a file written by lanes plan --out \(format lanes-plan\/2\)/);
  });
});
