// shq is the one function through which values reach a remote shell: check it against a real sh.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { shCommand, shq } from '../../../agent/transport/quote.js';

const ADVERSARIAL = [
  '',
  ' ',
  'plain',
  "it's",
  "''",
  '"double"',
  '$HOME',
  '${PATH}',
  '$(id)',
  '`id`',
  'a;b',
  'a && b || c',
  'a|b',
  'a > /tmp/x',
  '*',
  '~',
  '-n',
  '--',
  'new\nline',
  'tab\tsep',
  'back\\slash',
  '\\',
  "'; rm -rf / #",
  '!event',
  '#comment',
  'ünïcödé ✓',
  '\u0007bell\u001b[31m',
  'a\r\nb',
  '%s %d',
  '{a,b}',
  '[abc]',
  '=value',
];

describe('shq', () => {
  for (const value of ADVERSARIAL) {
    it(`round-trips ${JSON.stringify(value)} through sh as one argument`, () => {
      // printf %s prints the argument byte for byte; one argument only, so word splitting is caught too.
      const out = execFileSync('sh', ['-c', `printf '%s' ${shq(value)}; printf '|%s' "$#"`, 'sh'], { encoding: 'utf8' });
      assert.equal(out, `${value}|0`);
      const count = execFileSync('sh', ['-c', `set -- ${shq(value)}; printf '%s' "$#"`], { encoding: 'utf8' });
      assert.equal(count, '1');
    });
  }

  it('leaves plain words bare and quotes everything else', () => {
    assert.equal(shq('php8.2-fpm.service'), 'php8.2-fpm.service');
    assert.equal(shq('/etc/php/8.2/fpm/pool.d/web.conf'), '/etc/php/8.2/fpm/pool.d/web.conf');
    assert.equal(shq("it's"), `'it'\\''s'`);
    assert.equal(shq(''), `''`);
    assert.equal(shq(42), '42');
  });

  it('refuses NUL, which argv cannot carry', () => {
    assert.throws(() => shq('a\0b'), /NUL/);
  });

  it('shCommand quotes each argument', () => {
    const cmd = shCommand(['printf', '%s|', 'a b', "c'd", '$x']);
    assert.equal(execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }), "a b|c'd|$x|");
  });
});
