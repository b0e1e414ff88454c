import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PlainRenderer } from '../../../agent/report/plain.js';
import { capture, emitAll, MASKED_REASON, masker, REST, recordingBus, SECRET, START } from './fixtures.js';

describe('PlainRenderer', () => {
  it('prints results and summary to out, progress to the other stream, masked', async () => {
    const out = capture();
    const progress = capture();
    const r = new PlainRenderer({ out: out.stream, progress: progress.stream, masker: masker(), env: {} });
    const { bus } = recordingBus();
    r.attach(bus);
    emitAll(bus, [...START, ...REST]);
    await r.done();

    assert.equal(
      out.text(),
      [
        '[lab1] ok 35ms',
        '[lab2] ok 120ms uname: Linux',
        `[lab3] FAILED: ${MASKED_REASON}`,
        'ping: 2 ok, 1 failed (12.3s)',
        `  lab3: ${MASKED_REASON}`,
        '',
      ].join('\n'),
    );
    assert.equal(
      progress.text(),
      [
        'ping: starting on 3 hosts',
        '[lab1] connect ok 35ms',
        '[lab2] connect ok 40ms',
        '[lab2] | Linux',
        '[lab2] uname ok 80ms',
        '[lab3] connect ok 50ms',
        `[lab3] sudo FAILED 12ms: ${MASKED_REASON}`,
        '[lab1] warn: host key added to known_hosts',
        '',
      ].join('\n'),
    );
    assert.ok(!out.text().includes(SECRET) && !progress.text().includes(SECRET));
  });

  it('stops printing after done()', async () => {
    const out = capture();
    const r = new PlainRenderer({ out: out.stream, progress: capture().stream, env: {} });
    const { bus } = recordingBus();
    r.attach(bus);
    await r.done();
    emitAll(bus, REST);
    assert.equal(out.text(), '');
  });

  it('colours a terminal, and not when NO_COLOR is set; FORCE_COLOR colours a pipe', async () => {
    const run = async (tty: boolean, env: Record<string, string>) => {
      const out = capture(tty);
      const r = new PlainRenderer({ out: out.stream, progress: capture(tty).stream, env });
      const { bus } = recordingBus();
      r.attach(bus);
      emitAll(bus, [...START, ...REST]);
      await r.done();
      return out.text();
    };
    const esc = '\u001b[';
    assert.ok((await run(true, {})).includes(`${esc}31mFAILED`));
    assert.ok(!(await run(true, { NO_COLOR: '1' })).includes(esc));
    assert.ok(!(await run(false, {})).includes(esc));
    assert.ok((await run(false, { FORCE_COLOR: '1' })).includes(esc));
    assert.ok(!(await run(true, { FORCE_COLOR: '0' })).includes(esc));
  });
});
