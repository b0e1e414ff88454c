// Rollout batches with Ansible's serial semantics.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { batches, batchSizes, parseSerial } from '../../../agent/rollout/serial.js';

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `web${i + 1}`);

describe('batches', () => {
  it('splits by count, the last value repeating', () => {
    assert.deepEqual(batches(hosts(5), [2]), [['web1', 'web2'], ['web3', 'web4'], ['web5']]);
    assert.deepEqual(batches(hosts(3), [1]), [['web1'], ['web2'], ['web3']]);
    assert.deepEqual(batches(hosts(3), [10]), [['web1', 'web2', 'web3']]);
  });

  it('follows Ansible for [1, "50%", "100%"]', () => {
    assert.deepEqual(batchSizes(10, [1, '50%', '100%']), [1, 5, 4]);
    assert.deepEqual(batchSizes(3, [1, '50%', '100%']), [1, 1, 1]);
    assert.deepEqual(batchSizes(1, [1, '50%', '100%']), [1]);
    assert.deepEqual(batchSizes(20, [1, 5, 10]), [1, 5, 10, 4]);
    assert.deepEqual(batches(hosts(4), [1, '50%']), [['web1'], ['web2', 'web3'], ['web4']]);
  });

  it('rounds percentages down, at least 1', () => {
    assert.deepEqual(batchSizes(10, ['25%']), [2, 2, 2, 2, 2]);
    assert.deepEqual(batchSizes(3, ['10%']), [1, 1, 1]);
    assert.deepEqual(batchSizes(7, ['30%']), [2, 2, 2, 1]);
    assert.deepEqual(batchSizes(7, ['100%']), [7]);
    assert.deepEqual(batchSizes(4, ['3']), [3, 1], 'a numeric string is a count');
  });

  it('treats an empty list as one batch, and no hosts as no batch', () => {
    assert.deepEqual(batches(hosts(3), []), [['web1', 'web2', 'web3']]);
    assert.deepEqual(batches([], [1]), []);
  });

  it('keeps every host exactly once, in order', () => {
    for (const n of [1, 2, 7, 33]) {
      for (const s of [[1], ['33%'], [2, '50%'], [1, '10%', '100%']]) {
        assert.deepEqual(batches(hosts(n), s).flat(), hosts(n));
      }
    }
  });

  it('refuses invalid values with the allowed form', () => {
    for (const bad of [0, -1, 1.5, NaN, 'abc', '0', '0%', '150%', '-5%', '12.5%', '', '%']) {
      assert.throws(
        () => batches(hosts(3), [1, bad]),
        (e: unknown) => e instanceof LanesError && /invalid serial value/.test(e.message) && /host count .* percentage/.test(e.hint ?? ''),
        String(bad),
      );
    }
    assert.throws(() => batches([], ['abc']), LanesError, 'even with no hosts');
  });
});

describe('parseSerial', () => {
  it('reads --serial 1,50%,100%', () => {
    assert.deepEqual(parseSerial('1,50%,100%'), [1, '50%', '100%']);
    assert.deepEqual(parseSerial(' 2 , 25 % '), [2, '25%']);
    assert.deepEqual(parseSerial('3'), [3]);
  });
  it('refuses empty parts and bad values', () => {
    for (const bad of ['', '1,,2', '1,', 'abc', '0', '150%', '1,x%']) {
      assert.throws(() => parseSerial(bad), (e: unknown) => e instanceof LanesError && /--serial/.test(e.message) && !!e.hint, bad);
    }
  });
});
