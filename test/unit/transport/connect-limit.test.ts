// Pacing of connection starts: in flight per jump host and for direct connections, which errors are
// retried (a reset before authentication only), the backoff's bounds, and the retry loop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { ConnectLimiter, ConnectResetError, backoffMs, connectKey, connectPacing, isResetBeforeAuth, paced } from '../../../agent/transport/connect-limit.js';
import { resolveTarget } from '../../../agent/transport/target.js';

const env = { HOME: '/home/ops' };

/** A start that stays in flight until released; records the most seen in flight per key. */
function gate() {
  const waiting: (() => void)[] = [];
  return {
    wait: () => new Promise<void>((r) => waiting.push(r)),
    releaseAll: () => waiting.splice(0).forEach((r) => r()),
    get pending() {
      return waiting.length;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ConnectLimiter', () => {
  it('keeps at most `rate` starts in flight per key, each key counted apart', async () => {
    const limiter = new ConnectLimiter(3);
    const g = gate();
    let maxA = 0;
    let maxB = 0;
    const start = (key: string) =>
      limiter.run(key, async () => {
        maxA = Math.max(maxA, limiter.active('jump a'));
        maxB = Math.max(maxB, limiter.active('jump b'));
        await g.wait();
      });
    const all = [...Array.from({ length: 10 }, () => start('jump a')), ...Array.from({ length: 5 }, () => start('jump b'))];
    await tick();
    assert.equal(g.pending, 6, 'three per key started, the rest wait');
    assert.equal(limiter.active('jump a'), 3);
    assert.equal(limiter.active('jump b'), 3);
    while (g.pending > 0) {
      g.releaseAll();
      await tick();
    }
    await Promise.all(all);
    assert.equal(maxA, 3);
    assert.equal(maxB, 3);
    assert.equal(limiter.active('jump a'), 0, 'every slot given back');
  });

  it('frees the slot when the start fails', async () => {
    const limiter = new ConnectLimiter(1);
    await assert.rejects(limiter.run('direct', async () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(limiter.active('direct'), 0);
    assert.equal(await limiter.run('direct', async () => 'next'), 'next');
  });

  it('rate 0 is no limit', async () => {
    const limiter = new ConnectLimiter(0);
    const g = gate();
    const all = Array.from({ length: 50 }, () => limiter.run('direct', () => g.wait()));
    await tick();
    assert.equal(g.pending, 50);
    g.releaseAll();
    await Promise.all(all);
  });

  it('by default (no --connect-rate) 8 per jump host and direct starts unpaced; a rate given caps both', async () => {
    for (const [pacing, jumpCap, directCap] of [
      [connectPacing(), 8, 30],
      [connectPacing(3), 3, 3],
    ] as const) {
      const g = gate();
      const all = [...Array.from({ length: 30 }, () => pacing.limiter.run('jump ops@bastion:22', () => g.wait())), ...Array.from({ length: 30 }, () => pacing.limiter.run('direct', () => g.wait()))];
      await tick();
      assert.equal(pacing.limiter.active('jump ops@bastion:22'), jumpCap);
      assert.equal(pacing.limiter.active('direct'), directCap);
      while (g.pending > 0) {
        g.releaseAll();
        await tick();
      }
      await Promise.all(all);
    }
  });

  it('refuses a rate that is not a whole number of at least 0', () => {
    for (const bad of [-1, 2.5, Number.NaN]) assert.throws(() => new ConnectLimiter(bad), (e: unknown) => e instanceof LanesError && /--connect-rate/.test(e.message));
    assert.throws(() => connectPacing(8, -1), /LANES_CONNECT_RETRIES/);
  });
});

describe('connectKey', () => {
  it('a target behind ProxyJump counts against its first jump host; others share the direct pool', () => {
    const a = resolveTarget('a', { ansible_host: '10.0.0.5', ansible_ssh_common_args: '-J ops@bastion:2222' }, { env });
    const b = resolveTarget('b', { ansible_host: '10.0.0.6', ansible_ssh_common_args: '-J ops@bastion:2222,inner' }, { env });
    const c = resolveTarget('c', { ansible_host: '10.0.0.7' }, { env });
    assert.equal(connectKey(a), 'jump ops@bastion:2222');
    assert.equal(connectKey(b), connectKey(a));
    assert.equal(connectKey(c), 'direct');
  });
});

describe('isResetBeforeAuth', () => {
  const err = (message: string, extra: { code?: string; level?: string } = {}) => Object.assign(new Error(message), extra);
  it('retries a reset or a close before the key exchange finished', () => {
    assert.equal(isResetBeforeAuth(err('read ECONNRESET', { code: 'ECONNRESET' }), false), true);
    assert.equal(isResetBeforeAuth(err('write EPIPE', { code: 'EPIPE' }), false), true);
    assert.equal(isResetBeforeAuth(err('Connection lost before handshake', { level: 'protocol' }), false), true);
    assert.equal(isResetBeforeAuth(err('connection closed during handshake'), false), true);
  });
  it('never retries once authentication started, nor refusals, timeouts or name errors', () => {
    assert.equal(isResetBeforeAuth(err('read ECONNRESET', { code: 'ECONNRESET' }), true), false, 'after the key exchange');
    assert.equal(isResetBeforeAuth(err('All configured authentication methods failed', { level: 'client-authentication' }), false), false);
    assert.equal(isResetBeforeAuth(err('connect ECONNREFUSED 127.0.0.1:22', { code: 'ECONNREFUSED' }), false), false);
    assert.equal(isResetBeforeAuth(err('Timed out while waiting for handshake', { level: 'client-timeout' }), false), false);
    assert.equal(isResetBeforeAuth(err('getaddrinfo ENOTFOUND x', { code: 'ENOTFOUND' }), false), false);
  });
});

describe('backoffMs', () => {
  it('doubles from 250 ms up to 4 s, jittered within the upper half of each step', () => {
    const ceilings = [250, 500, 1000, 2000, 4000, 4000, 4000];
    for (const [i, ceiling] of ceilings.entries()) {
      assert.equal(backoffMs(i + 1, () => 0), ceiling / 2, `attempt ${i + 1}, least`);
      assert.equal(backoffMs(i + 1, () => 0.999999), ceiling, `attempt ${i + 1}, most`);
      const any = backoffMs(i + 1);
      assert.ok(any >= ceiling / 2 && any <= ceiling, `attempt ${i + 1}: ${any}`);
    }
  });
});

describe('paced', () => {
  const reset = () => new ConnectResetError('cannot connect to u@h:22: the connection was reset before authentication (ECONNRESET)', 'web1');

  it('retries a reset before authentication, waiting the backoff, and reports the attempts', async () => {
    const waits: number[] = [];
    let calls = 0;
    const pacing = { limiter: new ConnectLimiter(2), retries: 4, random: () => 0, sleep: async (ms: number) => void waits.push(ms) };
    const r = await paced(pacing, 'direct', async () => {
      calls++;
      if (calls < 3) throw reset();
      return 'up';
    });
    assert.deepEqual(r, { value: 'up', attempts: 3 });
    assert.deepEqual(waits, [125, 250]);
  });

  it('gives up after `retries` more attempts, naming how many were made', async () => {
    let calls = 0;
    const pacing = { limiter: new ConnectLimiter(2), retries: 2, sleep: async () => undefined };
    await assert.rejects(
      paced(pacing, 'direct', async () => {
        calls++;
        throw reset();
      }),
      (e: unknown) => e instanceof ConnectResetError && e.host === 'web1' && e.attempts === 3 && /reset before authentication .*\(3 attempts\)$/.test(e.message),
    );
    assert.equal(calls, 3);
  });

  it('retries 0: one attempt only', async () => {
    let calls = 0;
    await assert.rejects(paced({ limiter: new ConnectLimiter(1), retries: 0 }, 'direct', async () => {
      calls++;
      throw reset();
    }), ConnectResetError);
    assert.equal(calls, 1);
  });

  it('never retries another failure (authentication, host key)', async () => {
    let calls = 0;
    await assert.rejects(
      paced({ limiter: new ConnectLimiter(1), retries: 5, sleep: async () => undefined }, 'direct', async () => {
        calls++;
        throw new LanesError('authentication failed for u@h:22', { kind: 'connect', host: 'web1' });
      }),
      /authentication failed/,
    );
    assert.equal(calls, 1);
  });

  it('the backoff wait holds no slot: another start goes meanwhile', async () => {
    const limiter = new ConnectLimiter(1);
    let release!: () => void;
    const sleeping = new Promise<void>((r) => (release = r));
    let first = 0;
    const pacing = { limiter, retries: 1, sleep: () => sleeping };
    const a = paced(pacing, 'direct', async () => {
      if (first++ === 0) throw reset();
      return 'a';
    });
    await tick();
    assert.equal(limiter.active('direct'), 0, 'the failed start gave its slot back while waiting');
    assert.equal((await paced(pacing, 'direct', async () => 'b')).value, 'b');
    release();
    assert.equal((await a).value, 'a');
  });
});
