/**
 * The live renderer is tested with listr2's real default renderer drawing on a fake terminal (a
 * Writable with isTTY/columns/rows), in `lazy` mode so frames are redrawn on events rather than on
 * a spinner timer. The final state is what listr prints after its last erase sequence.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { figures } from 'listr2';
import { LiveRenderer } from '../../../agent/report/live.js';
import { capture, emitAll, lines, MASKED_REASON, masker, REST, recordingBus, SECRET, START, waitFor } from './fixtures.js';

/** Text after listr's last "erase lines" (which ends with cursor-to-column-1, ESC [ G). */
function finalState(text: string): string[] {
  return lines(text.slice(text.lastIndexOf('\u001b[G') + 3));
}

describe('LiveRenderer', () => {
  it('shows each host with its current step, then the final list and the summary', async () => {
    const term = capture(true);
    const err = capture(true);
    const r = new LiveRenderer({ stream: term.stream, errStream: err.stream, masker: masker(), env: { NO_COLOR: '1' }, lazy: true });
    const { bus } = recordingBus();
    r.attach(bus);
    emitAll(bus, START);
    await waitFor(() => stripVTControlCharacters(term.text()).includes('lab3: waiting'));
    emitAll(bus, REST.slice(0, REST.findIndex((e) => e.type === 'step-end' && e.host === 'lab3' && e.step === 'sudo')));
    // While running, titles follow step-start.
    const running = stripVTControlCharacters(term.text());
    assert.ok(running.includes('lab1: connect'));
    assert.ok(running.includes('lab2: uname'));
    assert.ok(running.includes('lab3: sudo'));
    emitAll(bus, REST.slice(REST.findIndex((e) => e.type === 'step-end' && e.host === 'lab3' && e.step === 'sudo')));
    await r.done(); // resolves although lab3 failed

    assert.deepEqual(finalState(term.text()), [
      `${figures.tick} lab1: ok 35ms`,
      `${figures.tick} lab2: ok 120ms uname: Linux`,
      `${figures.cross} lab3: ${MASKED_REASON}`,
      'lab1: warn: host key added to known_hosts',
      'ping: 2 ok, 1 failed (12.3s)',
      `  lab3: ${MASKED_REASON}`,
    ]);
    assert.ok(!term.text().includes(SECRET));
    // listr handed the streams back.
    err.stream.write('after\n');
    assert.deepEqual(err.chunks, ['after\n']);
  });

  it('copes with every event arriving before listr has drawn anything', async () => {
    const term = capture(true);
    const r = new LiveRenderer({ stream: term.stream, errStream: capture(true).stream, masker: masker(), env: {}, lazy: true });
    const { bus } = recordingBus();
    r.attach(bus);
    emitAll(bus, [...START, ...REST]);
    await r.done();
    const state = finalState(term.text());
    assert.equal(state[2], `${figures.cross} lab3: ${MASKED_REASON}`);
    assert.equal(state.at(-2), 'ping: 2 ok, 1 failed (12.3s)');
  });

  it('closes hosts as interrupted and prints no summary when run-end never comes', async () => {
    const term = capture(true);
    const r = new LiveRenderer({ stream: term.stream, errStream: capture(true).stream, env: {}, lazy: true });
    const { bus } = recordingBus();
    r.attach(bus);
    emitAll(bus, [...START, { type: 'host-start', host: 'lab1' }, { type: 'host-end', host: 'lab1', ok: true, ms: 5 }]);
    await r.done();
    assert.deepEqual(finalState(term.text()), [
      `${figures.tick} lab1: ok 5ms`,
      `${figures.cross} lab2: interrupted`,
      `${figures.cross} lab3: interrupted`,
    ]);
  });

  it('prints a message that comes after the summary (a notification warning) instead of dropping it', async () => {
    const term = capture(true);
    const r = new LiveRenderer({ stream: term.stream, errStream: capture(true).stream, masker: masker(), env: { NO_COLOR: '1' }, lazy: true });
    const { bus } = recordingBus();
    r.attach(bus);
    emitAll(bus, [...START, ...REST]);
    await waitFor(() => stripVTControlCharacters(term.text()).includes('ping: 2 ok, 1 failed'));
    bus.emit({ type: 'message', level: 'warn', code: 'notify', text: 'notify: the finished notification to http://127.0.0.1:1 failed: connection refused' });
    await r.done();
    assert.equal(finalState(term.text()).at(-1), 'warn: notify: the finished notification to http://127.0.0.1:1 failed: connection refused');
  });
});
