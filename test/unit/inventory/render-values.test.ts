// Value by value, what ansible-core 2.14 prints: `--yaml` (PyYAML + libyaml through AnsibleDumper),
// the --list/--host JSON, and `--graph --vars` ('%s' % value). The expected texts in
// test/fixtures/inventory/render/values.expected.json were recorded from the real thing by
// record-values.py next to it, for every value of values.json.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { pyStr, pyYamlDump } from '../../../agent/inventory/index.js';
import { PyDate, pyFloat, pyInt, pyJsonDumps } from '../../../agent/values/python.js';
import { fixture } from './helpers.js';

interface Expected {
  yaml: string;
  json: string;
  str: string;
}

/** The tagged JSON of values.json as the values lanes holds: PyFloat, bigint, PyDate. */
function typed(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(typed);
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    const [first] = entries;
    if (entries.length === 1 && first !== undefined && first[0].startsWith('$')) {
      const [tag, text] = first as [string, string];
      if (tag === '$float') return pyFloat(text.endsWith('inf') ? (text.startsWith('-') ? -Infinity : Infinity) : Number(text));
      if (tag === '$int') return pyInt(text);
      const m = /^(\d{4}-\d{2}-\d{2})(?:T([\d:.]+)([+-]\d{2}:\d{2})?)?$/.exec(text);
      if (!m?.[1]) throw new Error(`test: bad date ${text}`);
      return new PyDate(m[1], m[2], m[3]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries) out[k] = typed(x);
    return out;
  }
  return v;
}

const values = JSON.parse(readFileSync(fixture('render/values.json'), 'utf8')) as unknown[];
const expected = JSON.parse(readFileSync(fixture('render/values.expected.json'), 'utf8')) as Expected[];

describe('values as ansible-inventory prints them', () => {
  it('has one recorded output per value', () => {
    assert.equal(expected.length, values.length);
    assert.ok(values.length >= 100);
  });

  values.forEach((raw, i) => {
    const want = expected[i] as Expected;
    const label = JSON.stringify(raw).slice(0, 60);
    it(`#${i} ${label}`, () => {
      const v = typed(raw);
      assert.equal(pyYamlDump({ v }), want.yaml, 'yaml');
      assert.equal(pyJsonDumps({ v }, { indent: 4, sortKeys: true, ensureAscii: false }), want.json, 'json');
      assert.equal(pyStr(v), want.str, 'graph --vars');
    });
  });
});

describe('pyYamlDump structure', () => {
  it('writes an empty mapping as {} and nested sequences indentless under keys', () => {
    assert.equal(pyYamlDump({}), '{}\n');
    assert.equal(pyYamlDump({ a: [1, [2, 3], { b: [] }] }), 'a:\n- 1\n- - 2\n  - 3\n- b: []\n');
  });
});
