import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseMirror, detectMirror, parseDeb822Sources, parseOneLineSources } from '../../../agent/lab/mirror.js';

describe('mirror from apt sources', () => {
  it('takes the bookworm URIs of a deb822 file, not the security archive or a comment', () => {
    const text = [
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: bookworm-security',
      'Components: main',
    ].join('\n');
    const sources = parseDeb822Sources(text);
    assert.equal(sources.length, 2);
    assert.deepEqual(sources[0]!.suites, ['bookworm', 'bookworm-updates']);
    assert.equal(chooseMirror(sources), 'http://deb.debian.org/debian');
  });

  it('skips disabled and source-only stanzas, reads continuation lines, strips a trailing slash', () => {
    const text = [
      'Types: deb',
      'URIs: http://disabled.example/debian',
      'Suites: bookworm',
      'Enabled: no',
      '',
      'Types: deb-src',
      'URIs: http://src.example/debian',
      'Suites: bookworm',
      '',
      'Types: deb',
      'URIs:',
      ' http://mirror.example/debian/',
      'Suites: bookworm',
    ].join('\n');
    assert.equal(chooseMirror(parseDeb822Sources(text)), 'http://mirror.example/debian');
  });

  it('reads one-line sources.list with options and comments', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.example.org/debian bookworm main contrib # main mirror',
      'deb http://security.debian.org/debian-security bookworm-security main',
    ].join('\n');
    const sources = parseOneLineSources(text);
    assert.equal(sources.length, 2);
    assert.deepEqual(sources[0]!.components, ['main', 'contrib']);
    assert.equal(chooseMirror(sources), 'http://ftp.example.org/debian');
  });

  it('on a machine of another release, takes a Debian archive; never Ubuntu or security', () => {
    const trixie = parseOneLineSources('deb http://deb.debian.org/debian trixie main\n');
    assert.equal(chooseMirror(trixie), 'http://deb.debian.org/debian');
    const ubuntu = parseOneLineSources('deb http://archive.ubuntu.com/ubuntu noble main\ndeb http://security.ubuntu.com/ubuntu noble-security main\n');
    assert.equal(chooseMirror(ubuntu), undefined);
  });

  it('lets $LANES_LAB_MIRROR override everything', async () => {
    assert.equal(await detectMirror('bookworm', { LANES_LAB_MIRROR: 'http://local.example/debian/' }), 'http://local.example/debian');
  });
});
