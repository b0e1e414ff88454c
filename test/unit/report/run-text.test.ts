// `lanes run` output: identical results grouped once with their hosts, exit codes shown, stderr apart,
// hosts without a result with their reason, control characters escaped, the summary line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupOutputs, renderRunOutput } from '../../../agent/report/run-text.js';

describe('run output', () => {
  it('groups identical stdout+stderr+exit code, and keeps different ones apart', () => {
    const hosts = [
      { host: 'web1', code: 0, stdout: 'same\n', stderr: '' },
      { host: 'web2', code: 0, stdout: 'same\n', stderr: '' },
      { host: 'web3', code: 0, stdout: 'same\n', stderr: 'warn\n' },
      { host: 'web4', code: 2, stdout: 'same\n', stderr: '' },
    ];
    assert.deepEqual(
      groupOutputs(hosts).map((g) => g.hosts),
      [['web1', 'web2'], ['web3'], ['web4']],
    );
    const text = renderRunOutput([...hosts, { host: 'db1', error: 'db1: cannot connect: connection refused' }]);
    assert.equal(
      text,
      [
        'web1, web2: exit 0',
        '  same',
        'web3: exit 0',
        '  same',
        '  stderr:',
        '    warn',
        'web4: exit 2',
        '  same',
        'db1: failed: cannot connect: connection refused',
        '3 ok, 2 failed (web4, db1)',
        '',
      ].join('\n'),
    );
  });

  it('shows a signal death and escapes control characters', () => {
    const text = renderRunOutput([{ host: 'a', code: null, signal: 'SIGKILL', stdout: 'x\x1b[2Ky\n', stderr: '' }]);
    assert.match(text, /^a: killed by SIGKILL\n {2}x\\x1b\[2Ky\n0 ok, 1 failed \(a\)\n$/);
  });
});
