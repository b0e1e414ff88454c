// Saved plans on lab hosts: a plan file edited between review and apply is refused (exit 1, one
// line naming host and change) and nothing is applied on any host; the unedited plan applies; a
// plan signed with LANES_PLAN_KEY needs the key; --max-age refuses an old plan.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

const FILE = '/etc/lanes-e2e-plan-integrity';
const KEY = 'e2e-plan-key-0123456789abcdef';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-plan-integrity-'));
let lab: EnsuredLab;
let hosts: string[];
let playbook: string;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What each host has at FILE ('' when absent). */
async function onHosts(): Promise<string[]> {
  return Promise.all(hosts.map((h) => onHost(lab, h, `cat ${FILE} 2>/dev/null || true`)));
}

async function plan(out: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await runCli(['plan', playbook, '-i', lab.inventoryFile, '--limit', hosts.join(':'), '--out', out], { env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
}

const apply = (file: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []) => runCli(['apply', file, '-i', lab.inventoryFile, ...extra], { env });

/** exit 1 with exactly one error line on stderr matching `re`, and no host touched. */
async function assertRefused(r: { code: number | null; stdout: string; stderr: string }, re: RegExp): Promise<void> {
  assert.equal(r.code, 1, r.stdout + r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
  assert.deepEqual(await onHosts(), hosts.map(() => ''), 'nothing was applied on any host');
}

before(async () => {
  lab = await ensureLab(2);
  hosts = lab.hosts.slice(0, 2).map((h) => h.name);
  playbook = path.join(tmp, 'book.yml');
  writeFileSync(playbook, `${JSON.stringify([{ hosts: hosts.join(':'), files: [{ path: FILE, content: 'reviewed\n', mode: '0644' }] }], null, 2)}\n`);
  await Promise.all(hosts.map((h) => onHost(lab, h, `rm -f ${FILE}`)));
});

after(async () => {
  await Promise.all(hosts.map((h) => onHost(lab, h, `rm -f ${FILE}`)));
});

describe('saved plan integrity', { concurrency: false }, () => {
  it('refuses a plan whose operation was edited after review; nothing is applied on any host', async () => {
    const file = path.join(tmp, 'plan.json');
    await plan(file);
    const j = JSON.parse(readFileSync(file, 'utf8')) as Json;
    const second = j.hosts.find((h: Json) => h.host === hosts[1]);
    const write = second.changes[0].operations.find((o: Json) => o.op === 'write');
    write.content = 'not what was reviewed\n';
    writeFileSync(file, JSON.stringify(j, null, 2));
    await assertRefused(
      await apply(file, {}, ['--yes']),
      new RegExp(`plan\\.json was edited after it was written: host ${hosts[1]}, change \\S*${FILE.replace(/[/.-]/g, '\\$&')}\\S* \\(operations differ from the digest\\)`),
    );
  });

  it('refuses a plan with a host added by editing', async () => {
    const file = path.join(tmp, 'plan-added.json');
    await plan(file);
    const j = JSON.parse(readFileSync(file, 'utf8')) as Json;
    const extra = lab.hosts[2]?.name ?? 'intruder';
    j.hosts.push({ ...j.hosts[0], host: extra });
    writeFileSync(file, JSON.stringify(j, null, 2));
    await assertRefused(await apply(file), new RegExp(`host ${extra} \\(added: not in the digest\\)`));
  });

  it('a plan signed with LANES_PLAN_KEY is refused without the key and after a re-sealed edit', async () => {
    const file = path.join(tmp, 'plan-keyed.json');
    await plan(file, { LANES_PLAN_KEY: KEY });
    assert.ok(!readFileSync(file, 'utf8').includes(KEY), 'the key is not in the file');
    await assertRefused(await apply(file, { LANES_PLAN_KEY: '' }), /is signed with a plan key, and LANES_PLAN_KEY is not set/);
    await assertRefused(await apply(file, { LANES_PLAN_KEY: 'another-key-of-enough-length' }), /signed with another LANES_PLAN_KEY/);
  });

  it('--max-age refuses a plan older than that', async () => {
    const file = path.join(tmp, 'plan-old.json');
    await plan(file);
    await new Promise((r) => setTimeout(r, 2100));
    await assertRefused(await apply(file, {}, ['--max-age', '1s']), /plan-old\.json is \d+s old \(written .*\), older than --max-age 1s/);
    await assertRefused(await apply(file, { LANES_PLAN_MAX_AGE: '1s' }), /older than --max-age 1s/);
  });

  it('applies the unedited keyed plan exactly as reviewed on every host', async () => {
    const file = path.join(tmp, 'plan-good.json');
    await plan(file, { LANES_PLAN_KEY: KEY });
    const r = await apply(file, { LANES_PLAN_KEY: KEY }, ['--max-age', '30m']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await onHosts(), hosts.map(() => 'reviewed\n'));
  });
});
