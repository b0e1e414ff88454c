import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PyDate, PyFloat, plainValue, pyFloat, pyFloatRepr, pyInt, pyJsonDumps } from '../../../agent/values/python.js';

// Each right-hand side was printed by CPython 3.11 (repr / json.dumps) on this machine.
const REPR: [number, string][] = [
  [8.0, '8.0'],
  [1e16, '1e+16'],
  [1e15, '1000000000000000.0'],
  [1e-5, '1e-05'],
  [0.0001, '0.0001'],
  [1.5e-5, '1.5e-05'],
  [123.456, '123.456'],
  [-0.0, '-0.0'],
  [1e22, '1e+22'],
  [1.2345e20, '1.2345e+20'],
  [0.1, '0.1'],
  [100.0, '100.0'],
  [1e3, '1000.0'],
  [5e-324, '5e-324'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [12345678901234568.0, '1.2345678901234568e+16'],
  [Infinity, 'inf'],
  [-Infinity, '-inf'],
  [NaN, 'nan'],
];

test('pyFloatRepr prints floats as Python repr() does', () => {
  for (const [n, want] of REPR) assert.equal(pyFloatRepr(n), want, `repr(${n})`);
});

test('pyFloat keeps plain numbers where Python prints the same, PyFloat where it does not', () => {
  assert.equal(pyFloat(1.5), 1.5);
  assert.equal(pyFloat(0.1), 0.1);
  const eight = pyFloat(8);
  assert.ok(eight instanceof PyFloat);
  assert.equal(`${String(eight)}`, '8.0');
  assert.equal(Number(eight) + 1, 9);
  assert.ok(Number(eight) > 7);
});

test('pyInt keeps integers beyond 2^53 exact as bigint', () => {
  assert.equal(pyInt('42'), 42);
  assert.equal(pyInt('-9007199254740991'), -9007199254740991);
  assert.equal(pyInt('9007199254740993'), 9007199254740993n);
});

test('PyDate prints str() in text and isoformat() in JSON', () => {
  const d = new PyDate('2001-12-14');
  assert.equal(String(d), '2001-12-14');
  const dt = new PyDate('2001-12-14', '21:59:43.100000', '-05:00');
  assert.equal(String(dt), '2001-12-14 21:59:43.100000-05:00');
  assert.equal(pyJsonDumps(dt), '"2001-12-14T21:59:43.100000-05:00"');
  assert.equal(+dt, Date.parse('2001-12-15T02:59:43.100Z') / 1000);
});

test('pyJsonDumps writes what json.dumps writes', () => {
  assert.equal(pyJsonDumps({ b: [1, new PyFloat(2), {}], a: 'x\u00e9\x7f\x01' }), '{"b": [1, 2.0, {}], "a": "x\\u00e9\\u007f\\u0001"}');
  assert.equal(
    pyJsonDumps({ b: [1, new PyFloat(2), []], a: 'x' }, { indent: 4, sortKeys: true }),
    '{\n    "a": "x",\n    "b": [\n        1,\n        2.0,\n        []\n    ]\n}',
  );
  // Keys that look like integers keep Python's code-point order (a JS object would put them first).
  assert.equal(pyJsonDumps({ b: 1, '10': 2, '9': 3 }, { sortKeys: true }), '{"10": 2, "9": 3, "b": 1}');
  assert.equal(pyJsonDumps([new PyFloat(Infinity), new PyFloat(NaN), 2n ** 70n, 1.5]), '[Infinity, NaN, 1180591620717411303424, 1.5]');
  assert.equal(pyJsonDumps('é', { ensureAscii: false }), '"é"');
});

test('plainValue turns Python values into plain JSON values and keeps the rest as is', () => {
  const inner = { keep: [1, 'a'] };
  const v = { f: new PyFloat(8), big: 2n ** 60n, d: new PyDate('2020-01-02'), inner };
  const p = plainValue(v) as Record<string, unknown>;
  assert.deepEqual(p, { f: 8, big: '1152921504606846976', d: '2020-01-02', inner: { keep: [1, 'a'] } });
  assert.equal(p.inner, inner);
  assert.equal(plainValue(inner), inner);
});
