// The bundled CLI's string-width (build/text-width.ts): text of one-column characters is measured by
// its length, and that shortcut must agree with string-width itself; everything else goes to it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import stringWidth from 'string-width';
import { asciiFirst, ONE_COLUMN, type Width } from '../../../build/text-width.js';

describe('text width for the bundled CLI', () => {
  it('every character of the one-column set is one column in string-width, and the set leaves out invisible ones', () => {
    let checked = 0;
    for (let cp = 0; cp <= 0xffff; cp++) {
      const ch = String.fromCharCode(cp);
      if (!ONE_COLUMN.test(ch)) continue;
      assert.equal(stringWidth(ch), 1, `U+${cp.toString(16).padStart(4, '0')}`);
      checked++;
    }
    // Printable ASCII (95), Latin-1 without the soft hyphen (95), U+2010–2027 (24), U+2030–205E (47).
    assert.equal(checked, 95 + 95 + 24 + 47);
    for (const ch of ['\t', '\n', '\x1b', '\u00ad', '\u200b', '\u2028', '\u202e', '\u2060', '\ufeff']) assert.ok(!ONE_COLUMN.test(ch), JSON.stringify(ch));
  });

  it('agrees with string-width on ASCII, punctuation, wide, combining, emoji and escaped text, and with its options', () => {
    const width = asciiFirst(() => stringWidth as Width);
    const samples = [
      '', 'lanes plan <playbook>', 'key=value …, or @file', 'naïve café — “quoted” • 90°', '中文字符', 'e\u0301', '👍🏽', '👨‍👩‍👧',
      '\x1b[31mred\x1b[39m', 'tab\there', 'ｆｕｌｌ', '한국어', '\u00ad', 'zero\u200bwidth',
    ];
    for (const s of samples) assert.equal(width(s), stringWidth(s), JSON.stringify(s));
    assert.equal(width('…', { ambiguousIsNarrow: false }), stringWidth('…', { ambiguousIsNarrow: false }));
    assert.equal(width('\x1b[1mb\x1b[22m', { countAnsiEscapeCodes: true }), stringWidth('\x1b[1mb\x1b[22m', { countAnsiEscapeCodes: true }));
  });

  it('loads the full measure only for text outside the set, and once', () => {
    let loads = 0;
    const calls: string[] = [];
    const width = asciiFirst(() => {
      loads++;
      return (s) => (calls.push(s), 2 * s.length);
    });
    assert.equal(width('plain text … – ’'), 16);
    assert.equal(width('--limit'), 7);
    assert.equal(loads, 0);
    assert.equal(width('中文'), 4);
    assert.equal(width('日本'), 4);
    assert.equal(width('ascii', { ambiguousIsNarrow: false }), 10);
    assert.equal(loads, 1);
    assert.deepEqual(calls, ['中文', '日本', 'ascii']);
  });
});
