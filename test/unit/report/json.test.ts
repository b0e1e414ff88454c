import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonRenderer } from '../../../agent/report/json.js';
import { capture, emitAll, MASKED_REASON, masker, REST, recordingBus, SECRET, START } from './fixtures.js';

describe('JsonRenderer', () => {
  it('writes each event as one JSON line, in order, with timestamps, masked', async () => {
    const out = capture();
    const m = masker();
    const r = new JsonRenderer({ stream: out.stream, masker: m });
    const { bus, seen } = recordingBus();
    r.attach(bus);
    emitAll(bus, [...START, ...REST]);
    await r.done();

    const text = out.text();
    assert.ok(text.endsWith('\n'));
    const parsed = text
      .slice(0, -1)
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; at: number });
    assert.equal(parsed.length, START.length + REST.length);
    assert.deepEqual(
      parsed.map((e) => e.type),
      [...START, ...REST].map((e) => e.type),
    );
    for (const e of parsed) assert.equal(typeof e.at, 'number');
    // Exactly the events as emitted, except for masking.
    assert.deepEqual(parsed, m.maskValue(seen));

    const last = parsed.at(-1) as unknown as { summary: { failures: { message: string }[] } };
    assert.equal(last.summary.failures[0]?.message, MASKED_REASON);
    assert.ok(!text.includes(SECRET) && !text.includes(JSON.stringify(SECRET).slice(1, -1)));
  });
});
