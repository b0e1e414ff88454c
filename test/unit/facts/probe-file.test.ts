// The file probe's read, run by a real sh on this machine's files: content only through a descriptor
// that is the regular file lstat sees at the path. A stand-in `stat` (ahead on PATH) plays the
// swap (another object behind the descriptor, a directory at the path) and an old stat without `-`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileProbes } from '../../../agent/facts/probe-file.js';
import type { FileState } from '../../../agent/resources/types.js';

const realStat = spawnSync('/bin/sh', ['-c', 'command -v stat'], { encoding: 'utf8' }).stdout.trim();

/** Read `path` with the file fact; `statFilter` (sh, reads real stat's output on stdin) stands between. */
function read(path: string, statFilter?: string): FileState[] {
  const fact = fileProbes.fact([{ kind: 'file', path }]);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (statFilter) {
    const dir = mkdtempSync(join(tmpdir(), 'lanes-stat-'));
    writeFileSync(join(dir, 'stat'), `#!/bin/sh\nlast=; for a in "$@"; do last=$a; done\n${statFilter}\n`);
    chmodSync(join(dir, 'stat'), 0o755);
    env.PATH = `${dir}:${env.PATH}`;
  }
  const r = spawnSync('/bin/sh', ['-uc', fact.command], { encoding: 'utf8', env });
  return Object.values(fact.parse(r.stdout)).flat();
}

describe('file probe: one descriptor, one stat for path and descriptor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lanes-files-'));
  const file = join(dir, 'app.conf');
  writeFileSync(file, 'listen = 9000\n');
  symlinkSync(file, join(dir, 'link'));

  it('reads a regular file, a directory and a link as before', () => {
    const [f] = read(file);
    assert.equal(f?.type, 'file');
    assert.equal(f?.content, 'listen = 9000\n');
    assert.equal(f?.size, 14);
    assert.equal(read(dir)[0]?.type, 'directory');
    assert.deepEqual(
      read(join(dir, 'link')).map((x) => [x.type, x.target, x.content]),
      [['symlink', file, undefined]],
    );
    assert.deepEqual(read(join(dir, 'missing')), []);
  });

  it('reads nothing when the descriptor holds another object than the path', () => {
    // Line 2 (operand `-`: the descriptor) gets another device:inode, as after a swap.
    const [f] = read(file, `if [ "$last" = - ]; then ${realStat} "$@" | sed '2s/ [0-9]*:[0-9]* / 0:1 /'; else exec ${realStat} "$@"; fi`);
    assert.equal(f?.type, 'other');
    assert.equal(f?.content, undefined);
    assert.equal(f?.sha256, undefined);
  });

  it('reads nothing when lstat sees a directory where the descriptor is', () => {
    const [f] = read(file, `if [ "$last" = - ]; then ${realStat} "$@" | sed '1s/ [0-9a-f]*$/ 41ed/'; else exec ${realStat} "$@"; fi`);
    assert.equal(f?.content, undefined);
    assert.notEqual(f?.type, 'file');
  });

  it('falls back to two stats where stat has no `-` operand (old coreutils), still reading the file', () => {
    const [f] = read(file, `if [ "$last" = - ]; then echo "stat: cannot stat '-'" >&2; exit 1; else exec ${realStat} "$@"; fi`);
    assert.equal(f?.type, 'file');
    assert.equal(f?.content, 'listen = 9000\n');
  });
});
