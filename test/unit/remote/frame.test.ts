/** The framed output protocol, through a real sh: what a script says is what the parser reads. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { b64, frameShell, FrameStream, newNonce, parseFrames, unb64, unframed, type Frame } from '../../../agent/remote/frame.js';

function sh(script: string): string {
  return execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
}

describe('framed output protocol', () => {
  it('round-trips kinds, words and base64 text through a real sh', () => {
    const nonce = newNonce();
    const nasty = "it's \"quoted\"\n$(id) `x` @@ line\n\ttab";
    const out = sh(`${frameShell(nonce)}\necho plain output\nlanes_say step validate 3\nlanes_say fail stage 0 "$(lanes_b64 ${"'" + nasty.replace(/'/g, "'\\''") + "'"})"\nlanes_say empty "$(lanes_b64 '')"`);
    const frames = parseFrames(out, nonce);
    assert.deepEqual(frames.map((f) => f.kind), ['step', 'fail', 'empty']);
    assert.deepEqual(frames[0]!.fields, ['validate', '3']);
    assert.equal(unb64(frames[1]!.fields[2]), nasty);
    assert.equal(unb64(frames[2]!.fields[0]), '');
    assert.equal(unframed(out, nonce).trim(), 'plain output');
  });

  it("ignores another run's frames and look-alike lines", () => {
    const nonce = newNonce();
    const text = [`@@${newNonce()} done`, '@@ done', `@@${nonce}done`, `@@${nonce} done`, `x @@${nonce} done`].join('\n');
    assert.deepEqual(parseFrames(text, nonce), [{ kind: 'done', fields: [] }]);
  });

  it('encodes like lanes_b64', () => {
    const nonce = newNonce();
    for (const t of ['', 'a', 'ünï cödé\nline 2']) {
      const out = sh(`${frameShell(nonce)}\nlanes_say t "$(lanes_b64 '${t}')"`);
      assert.equal(parseFrames(out, nonce)[0]!.fields[0], b64(t));
    }
  });

  it('streams frames split across chunks', () => {
    const nonce = newNonce();
    const seen: Frame[] = [];
    const s = new FrameStream(nonce, (f) => seen.push(f));
    const text = `noise\n@@${nonce} step commit\n@@${nonce} done\n`;
    for (const ch of text) s.push(ch);
    assert.deepEqual(seen, [{ kind: 'step', fields: ['commit'] }, { kind: 'done', fields: [] }]);
  });

  it('refuses a nonce that is not hex', () => {
    assert.throws(() => frameShell("x'; rm -rf /"), /invalid frame nonce/);
  });
});
