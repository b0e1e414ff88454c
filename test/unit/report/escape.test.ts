// Terminal safety: what files and hosts supply cannot drive the reviewer's terminal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeControls } from '../../../agent/report/escape.js';
import { oneLine } from '../../../agent/report/format.js';
import { renderPlan } from '../../../agent/report/plan-text.js';

const HIDE = 'innocent\x1b[1A\x1b[2Kroot ALL=(ALL) NOPASSWD: ALL\x07';

describe('control characters in text output', () => {
  it('shows every control character but newline and tab as \\xNN', () => {
    assert.equal(escapeControls('a\x1b[31mb\x00c\x7f\x9bd\te\nf'), 'a\\x1b[31mb\\x00c\\x7f\\x9bd\te\nf');
    assert.equal(escapeControls('plain ünïcödé ✓'), 'plain ünïcödé ✓');
  });

  it('a diff, a field and a failure in the plan text carry no raw escape', () => {
    const text = renderPlan({
      title: 'plan:',
      hosts: [
        {
          host: 'web1',
          changes: [
            {
              resource: 'file[/etc/sudoers.d/x]',
              action: 'update',
              summary: 'update /etc/sudoers.d/x',
              diff: `--- a\n+++ b\n@@ -1 +1 @@\n-old\n+${HIDE}\n`,
              fields: [{ name: 'comment', before: 'a', after: HIDE }],
              operations: [],
            },
          ],
        },
      ],
      failed: [{ host: 'web2', message: `failed: ${HIDE}` }],
    });
    // eslint-disable-next-line no-control-regex -- this test looks for raw control characters
    assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f]/, 'no raw control character');
    assert.match(text, /\+innocent\\x1b\[1A\\x1b\[2Kroot ALL=\(ALL\) NOPASSWD: ALL\\x07/);
    assert.match(text, /comment: a → innocent\\x1b/);
    assert.match(text, /FAILED web2: failed: innocent\\x1b/);
  });

  it('one-line reasons (host failures in every text renderer) are escaped', () => {
    assert.equal(oneLine(`line 1\n${HIDE}`), 'line 1 | innocent\\x1b[1A\\x1b[2Kroot ALL=(ALL) NOPASSWD: ALL\\x07');
  });
});
