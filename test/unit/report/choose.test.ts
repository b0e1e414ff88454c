import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseRenderer, rendererKind } from '../../../agent/report/choose.js';
import { colorEnabled } from '../../../agent/report/color.js';
import { JsonRenderer } from '../../../agent/report/json.js';
import { LiveRenderer } from '../../../agent/report/live.js';
import { PlainRenderer } from '../../../agent/report/plain.js';
import { capture } from './fixtures.js';

describe('chooseRenderer', () => {
  const tty = capture(true).stream;
  const pipe = capture(false).stream;

  it('uses the live list on a terminal outside CI', async () => {
    assert.ok((await chooseRenderer({ stream: tty, env: {} })) instanceof LiveRenderer);
  });

  it('uses plain lines when not a terminal, in CI, or on a dumb terminal', async () => {
    assert.ok((await chooseRenderer({ stream: pipe, env: {} })) instanceof PlainRenderer);
    assert.ok((await chooseRenderer({ stream: tty, env: { CI: 'true' } })) instanceof PlainRenderer);
    assert.ok((await chooseRenderer({ stream: tty, env: { CI: '1' } })) instanceof PlainRenderer);
    assert.equal(rendererKind({ stream: tty, env: { TERM: 'dumb' } }), 'plain');
    const noWidth = capture(true).stream;
    noWidth.columns = 0;
    assert.equal(rendererKind({ stream: noWidth, env: {} }), 'plain');
  });

  it('does not count CI=false as CI', () => {
    assert.equal(rendererKind({ stream: tty, env: { CI: 'false' } }), 'live');
  });

  it('uses JSON whenever asked, terminal or not', async () => {
    assert.ok((await chooseRenderer({ json: true, stream: tty, env: {} })) instanceof JsonRenderer);
    assert.ok((await chooseRenderer({ json: true, stream: pipe, env: { CI: 'true' } })) instanceof JsonRenderer);
  });
});

describe('colorEnabled', () => {
  it('follows FORCE_COLOR, then NO_COLOR, then TERM=dumb, then the terminal', () => {
    const tty = capture(true).stream;
    const pipe = capture(false).stream;
    assert.equal(colorEnabled(tty, {}), true);
    assert.equal(colorEnabled(pipe, {}), false);
    assert.equal(colorEnabled(tty, { NO_COLOR: '1' }), false);
    assert.equal(colorEnabled(tty, { NO_COLOR: '' }), true);
    assert.equal(colorEnabled(tty, { TERM: 'dumb' }), false);
    assert.equal(colorEnabled(pipe, { FORCE_COLOR: '1' }), true);
    assert.equal(colorEnabled(tty, { FORCE_COLOR: '0', NO_COLOR: '' }), false);
    assert.equal(colorEnabled(pipe, { FORCE_COLOR: '', NO_COLOR: '1' }), true);
  });
});
