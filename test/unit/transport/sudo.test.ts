// The sudo state machine: decides from sudo's stderr when to send the password and when the command started.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { readSudoStderr, sudoFailureText, wrapSudo } from '../../../agent/transport/sudo.js';

describe('wrapSudo', () => {
  it('uses -n without a password and -S with our prompt marker with one', () => {
    const w1 = wrapSudo('id -u', { user: 'root' });
    assert.match(w1.command, /^sudo -H -n -u root -- \/bin\/sh -c /);
    const w2 = wrapSudo('id -u', { user: 'www-data', password: 'pw' });
    assert.ok(w2.command.startsWith(`sudo -H -S -p '${w2.prompt}' -u www-data -- /bin/sh -c `));
    assert.ok(!w2.command.includes('pw '), 'the password is never on the command line');
  });

  it('the wrapped command prints the sentinel, then runs the original command verbatim', () => {
    const original = `printf '%s\\n' "it's $HOME"; echo err >&2`;
    const w = wrapSudo(original, { user: 'root' });
    // Run the inner part (everything after `--`) with a real sh, as sudo would.
    const inner = w.command.slice(w.command.indexOf(' -- ') + 4);
    const out = execFileSync('sh', ['-c', `${inner} 2>&1`], { encoding: 'utf8', env: { HOME: '/h' } });
    assert.equal(out, `${w.sentinel}\nit's /h\nerr\n`);
  });
});

describe('readSudoStderr', () => {
  const w = wrapSudo('true', { user: 'root', password: 'secret' });
  it('waits while sudo says nothing', () => {
    assert.deepEqual(readSudoStderr('', w, 0), { phase: 'waiting' });
  });
  it('asks for the password once on the first prompt', () => {
    assert.deepEqual(readSudoStderr(w.prompt, w, 0), { phase: 'send-password' });
    assert.deepEqual(readSudoStderr(w.prompt, w, 1), { phase: 'waiting' });
  });
  it('reports a wrong password on a second prompt', () => {
    assert.deepEqual(readSudoStderr(`${w.prompt}\nSorry, try again.\n${w.prompt}`, w, 1), { phase: 'wrong-password' });
  });
  it('starts after the sentinel and keeps the command stderr that followed it', () => {
    const s = readSudoStderr(`We trust you have received the usual lecture\n${w.prompt}\n${w.sentinel}\nwarning: x\n`, w, 1);
    assert.deepEqual(s, { phase: 'started', stderrAfter: 'warning: x\n' });
  });
  it('sudo failure text drops our prompt markers', () => {
    assert.equal(sudoFailureText(`${w.prompt}sudo: a password is required\n`, w), 'sudo: a password is required');
  });
});
