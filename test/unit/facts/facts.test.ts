// Each fact parser against recorded outputs (pyinfra-style JSON fixtures): test/fixtures/facts/<fact>/<case>.json
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gatherScript, gatherScriptChunks, hostFacts, parseGathered } from '../../../agent/facts/gather.js';
import { fixture } from '../../support/paths.js';

interface FactFixture {
  case: string;
  source: string;
  output: string;
  expected: unknown;
}

describe('fact parsers on recorded outputs', () => {
  for (const [key, fact] of Object.entries(hostFacts)) {
    const dir = fixture('facts', key);
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    it(`${key} has fixtures`, () => assert.ok(files.length > 0));
    for (const file of files) {
      const fx = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as FactFixture;
      it(`${key}: ${fx.case}`, () => {
        assert.deepEqual(JSON.parse(JSON.stringify(fact.parse(fx.output))), fx.expected);
      });
    }
  }
});

describe('gather: one script, split back per fact', () => {
  it('parses sections and ignores forged markers with another nonce', () => {
    const out = [
      '@@abc123 begin os',
      'ID=debian',
      '@@ffffff end os 0',
      'VERSION_ID="12"',
      '@@abc123 end os 0',
      '@@abc123 begin hardware',
      'cpus 4',
      'memkb 2048',
      '@@abc123 end hardware 0',
    ].join('\n');
    const facts = { os: hostFacts.os, hardware: hostFacts.hardware };
    const v = parseGathered(facts, out, 'abc123', 'h1');
    assert.equal(v.os.id, 'debian');
    assert.equal(v.os.versionId, '12');
    assert.deepEqual(v.hardware, { cpus: 4, memoryMiB: 2 });
  });

  it('fails naming the fact when its section is missing', () => {
    assert.throws(() => parseGathered({ os: hostFacts.os }, '', 'n1', 'h1'), /fact "os" produced no output/);
  });

  it('builds a script with one marker pair per fact', () => {
    const s = gatherScript(hostFacts, 'n0');
    for (const key of Object.keys(hostFacts)) {
      assert.ok(s.includes(`echo '@@n0 begin ${key}'`), key);
      assert.ok(s.includes(`echo "@@n0 end ${key} $?"`), key);
    }
  });

  it('sends the script as chunks whose fact commands are encoded once and shared by every exec', () => {
    const facts = { os: hostFacts.os, probe: { name: 'probe', command: "printf 'é %s\\n' x", parse: (o: string) => o } };
    const a = gatherScriptChunks(facts, 'n1');
    const b = gatherScriptChunks(facts, 'n2');
    const bytes = (chunks: (string | Buffer)[]) => Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    assert.deepEqual(bytes(a), Buffer.from(gatherScript(facts, 'n1')), 'the chunks are exactly the script');
    assert.equal(
      gatherScript(facts, 'n1'),
      ['exec 2>/dev/null', 'LC_ALL=C; export LC_ALL', "echo '@@n1 begin os'", `( ${hostFacts.os.command}\n)`, 'echo "@@n1 end os $?"', "echo '@@n1 begin probe'", "( printf 'é %s\\n' x\n)", 'echo "@@n1 end probe $?"'].join('\n'),
    );
    const shared = a.filter((c) => Buffer.isBuffer(c));
    assert.equal(shared.length, 2);
    shared.forEach((c) => assert.ok(b.includes(c), 'the same Buffer object in another exec'));
    assert.ok(bytes(b).includes('@@n2 begin probe') && !bytes(b).includes('@@n1'), 'each exec has its own nonce');
  });
});
