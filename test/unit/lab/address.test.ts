import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateBlock, conflictingListeners, hostAddress, parseProcNetTcp } from '../../../agent/lab/address.js';
import { LanesError } from '../../../agent/errors.js';

describe('lab address blocks', () => {
  it('gives the default lab block 1 and others the lowest free block from 2', () => {
    assert.equal(allocateBlock('lanes', new Map()), 1);
    assert.equal(allocateBlock('e2elab', new Map()), 2);
    assert.equal(allocateBlock('e2elab', new Map([['lanes', 1]])), 2);
    assert.equal(allocateBlock('third', new Map([['lanes', 1], ['e2elab', 2], ['x', 4]])), 3);
  });

  it('keeps a block a lab already holds', () => {
    assert.equal(allocateBlock('e2elab', new Map([['e2elab', 7]])), 7);
    assert.equal(allocateBlock('lanes', new Map([['lanes', 1], ['other', 2]])), 1);
  });

  it('fails with a lab error when all blocks are taken', () => {
    const taken = new Map<string, number>();
    for (let b = 1; b <= 254; b++) taken.set(`l${b}`, b);
    assert.throws(() => allocateBlock('one-more', taken), (err: unknown) => err instanceof LanesError && err.kind === 'lab');
  });

  it('builds 127.0.<block>.<index> addresses and refuses out-of-range parts', () => {
    assert.equal(hostAddress(1, 1), '127.0.1.1');
    assert.equal(hostAddress(2, 254), '127.0.2.254');
    assert.throws(() => hostAddress(0, 1));
    assert.throws(() => hostAddress(1, 0));
    assert.throws(() => hostAddress(1, 255));
  });
});

describe('/proc/net/tcp listeners', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0',
    '   1: 0101007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0',
    '   2: 0101007F:0016 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 100 0 0 10 0',
  ].join('\n');
  const tcp6 = [
    '  sl  local_address                         remote_address                        st',
    '   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000',
    '   1: 0000000000000000FFFF00000201007F:0016 00000000000000000000000000000000:0000 0A 00000000:00000000',
  ].join('\n');

  it('decodes listening sockets only (little-endian addresses, hex ports)', () => {
    assert.deepEqual(parseProcNetTcp(tcp), [
      { address: '0.0.0.0', port: 2024 },
      { address: '127.0.1.1', port: 22 },
    ]);
    assert.deepEqual(parseProcNetTcp(tcp6), [
      { address: '::', port: 80 },
      { address: '127.0.1.2', port: 22 },
    ]);
  });

  it('finds listeners on the very address or the wildcard', () => {
    const all = [...parseProcNetTcp(tcp), ...parseProcNetTcp(tcp6)];
    assert.deepEqual(conflictingListeners(all, '127.0.1.1', [22, 80]), [
      { address: '127.0.1.1', port: 22 },
      { address: '::', port: 80 },
    ]);
    assert.deepEqual(conflictingListeners(all, '127.0.1.3', [22]), []);
  });
});
