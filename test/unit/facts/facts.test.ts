// Each fact parser against recorded outputs (pyinfra-style JSON fixtures): test/fixtures/facts/<fact>/<case>.json
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gatherScript, hostFacts, parseGathered } from '../../../agent/facts/gather.js';
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
});
