import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MASK, SecretMasker, secrets } from '../../../agent/report/mask.js';

describe('SecretMasker', () => {
  it('replaces every occurrence of every secret', () => {
    const m = new SecretMasker();
    m.add('s3cret');
    m.add('tok-1');
    assert.equal(m.mask('a s3cret b s3cret tok-1'), `a ${MASK} b ${MASK} ${MASK}`);
  });

  it('ignores secrets shorter than 3 characters', () => {
    const m = new SecretMasker();
    m.add('ab');
    m.add('');
    assert.equal(m.size, 0);
    assert.equal(m.mask('ab cab'), 'ab cab');
  });

  it('masks a secret that contains another one whole', () => {
    const m = new SecretMasker();
    m.add('pass');
    m.add('password123');
    assert.equal(m.mask('x password123 y pass'), `x ${MASK} y ${MASK}`);
  });

  it('treats regex characters literally', () => {
    const m = new SecretMasker();
    m.add('a.b*c$1(');
    assert.equal(m.mask('axbbc a.b*c$1( end'), `axbbc ${MASK} end`);
  });

  it('masks strings deep inside values without touching the original or the keys', () => {
    const m = new SecretMasker();
    m.add('hunter2');
    const value = { hunter2: ['pw hunter2', 7, null, { nested: 'hunter2!' }], ok: true };
    const masked = m.maskValue(value);
    assert.deepEqual(masked, { hunter2: [`pw ${MASK}`, 7, null, { nested: `${MASK}!` }], ok: true });
    assert.equal(value.hunter2[0], 'pw hunter2');
  });

  it('survives circular data and keeps shared (non-circular) objects', () => {
    const m = new SecretMasker();
    m.add('hunter2');
    const shared = { s: 'hunter2' };
    const loop: Record<string, unknown> = { a: shared, b: shared };
    loop.self = loop;
    assert.deepEqual(m.maskValue(loop), { a: { s: MASK }, b: { s: MASK }, self: '[Circular]' });
  });

  it('returns values unchanged when nothing is registered', () => {
    const m = new SecretMasker();
    const v = { a: 'x' };
    assert.equal(m.maskValue(v), v);
  });

  it('exports a process-wide default masker', () => {
    assert.ok(secrets instanceof SecretMasker);
  });
});
