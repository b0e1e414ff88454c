// SIGTERM to `lanes release` after the first host switched, under HTTP load on 3 lab hosts: before
// its health gate the host is rolled back; once past it, the host finishes on the new release; the
// later batches stay untouched. Same checks as release-cancel.test.ts (support/cancel.ts).
import { before, describe, it } from 'node:test';
import { cancelAt, cancelFixture, type CancelFixture } from './support/cancel.js';

let f: CancelFixture;

before(async () => {
  f = await cancelFixture('cancel-switch');
});

describe('lanes release cancelled by a signal after a switch', { concurrency: false }, () => {
  it('SIGTERM right after the switch (during the reload): the host is rolled back before its health gate', async () => {
    await cancelAt(f, 'SIGTERM', (e) => e.type === 'step-start' && e.step === 'reload php-fpm' && e.host === f.names[0], {
      [f.names[0]!]: `rolled back to ${f.id1}`,
      [f.names[1]!]: `untouched (on ${f.id1})`,
      [f.names[2]!]: `untouched (on ${f.id1})`,
    });
  });

  it('SIGTERM once the host passed its health gate: it finishes on the new release, the later batches stay untouched', async () => {
    await cancelAt(f, 'SIGTERM', (e) => e.type === 'step-start' && e.step === 'start workers' && e.host === f.names[0], {
      [f.names[0]!]: `on ${f.id2}`,
      [f.names[1]!]: `untouched (on ${f.id1})`,
      [f.names[2]!]: `untouched (on ${f.id1})`,
    });
  });
});
