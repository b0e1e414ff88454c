// In-process packing (no tar spawned on the controller): byte-identical packs of the same tree,
// normalised modes, symlinks kept, special files refused; and `git:REF` artifacts from a real git
// repository made in a temporary directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { readArtifact, type Artifact } from '../../../agent/rollout/artifact.js';
import { describeArtifact } from '../../../agent/rollout/artifact-info.js';
import { gitRefOf } from '../../../agent/rollout/git-source.js';
import { comparePaths, normaliseMode, readTar } from '../../../agent/rollout/pack.js';
import { systemTarListing } from '../../support/tar-listing.js';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lanes-pack-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Seen {
  type: string;
  mode: number;
  linkname?: string;
  data?: string;
}

/** Every entry of an artifact, read back from its bytes. */
async function contents(a: Artifact): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  await readTar(gunzipSync(a.bytes), async (h, data) => {
    out.set(h.name, { type: h.type, mode: h.mode, linkname: h.linkname, data: data?.toString('utf8') });
  });
  return out;
}

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=lanes test', '-c', 'user.email=test@lanes.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A small application tree. */
function tree(dir: string): string {
  mkdirSync(path.join(dir, 'public'), { recursive: true });
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  writeFileSync(path.join(dir, 'public', 'index.php'), '<?php echo "v1";\n');
  writeFileSync(path.join(dir, 'bin', 'console'), '#!/bin/sh\necho hi\n');
  chmodSync(path.join(dir, 'bin', 'console'), 0o755);
  writeFileSync(path.join(dir, 'README'), 'app\n');
  symlinkSync('public/index.php', path.join(dir, 'index.php'));
  return dir;
}

describe('in-process packing', () => {
  it('packs the same tree into the same bytes, twice and from another checkout with other mtimes', async () => {
    const a = tree(path.join(tmp, 'same-a'));
    const one = await readArtifact(a);
    const two = await readArtifact(a);
    assert.deepEqual(one.bytes, two.bytes);

    const b = path.join(tmp, 'same-b');
    cpSync(a, b, { recursive: true, verbatimSymlinks: true });
    for (const f of ['README', 'public/index.php', 'public', 'bin']) utimesSync(path.join(b, f), new Date('2011-11-11'), new Date('2011-11-11'));
    const three = await readArtifact(b);
    assert.deepEqual(three.bytes, one.bytes);
    assert.equal(three.id, one.id);
    assert.equal(one.files, 4);
    assert.deepEqual([...one.entries].sort(), ['README', 'bin', 'bin/console', 'index.php', 'public', 'public/index.php']);
  });

  it('writes entries sorted, mtime 0, owner 0:0 without names (checked with the system tar)', async () => {
    const a = await readArtifact(tree(path.join(tmp, 'meta')));
    const lines = systemTarListing(a.bytes);
    for (const l of lines) {
      assert.match(l, /^\S+ 0\/0 /, l);
      assert.match(l, / 1970-01-01 00:00:00 /, l);
    }
    assert.deepEqual(
      lines.map((l) => l.replace(/ -> .*$/, '').split(' ').pop()),
      ['README', 'bin/', 'bin/console', 'index.php', 'public/', 'public/index.php'],
    );
  });

  it('normalises modes: no group/other write, no setuid, setgid or sticky bit; private stays private', async () => {
    const dir = tree(path.join(tmp, 'modes'));
    writeFileSync(path.join(dir, 'wide'), 'x');
    chmodSync(path.join(dir, 'wide'), 0o777);
    writeFileSync(path.join(dir, 'suid'), 'x');
    chmodSync(path.join(dir, 'suid'), 0o6755);
    writeFileSync(path.join(dir, 'private'), 'x');
    chmodSync(path.join(dir, 'private'), 0o600);
    mkdirSync(path.join(dir, 'tmpdir'));
    chmodSync(path.join(dir, 'tmpdir'), 0o1777);
    const seen = await contents(await readArtifact(dir));
    assert.equal(seen.get('wide')!.mode, 0o755);
    assert.equal(seen.get('suid')!.mode, 0o755);
    assert.equal(seen.get('private')!.mode, 0o600);
    assert.equal(seen.get('tmpdir/')!.mode, 0o755);
    assert.equal(seen.get('bin/console')!.mode, 0o755);
    assert.equal(seen.get('README')!.mode, 0o644);
    assert.equal(normaliseMode(0o104777), 0o755);
  });

  it('keeps a symlink as a symlink, with its target as written', async () => {
    const seen = await contents(await readArtifact(tree(path.join(tmp, 'link'))));
    assert.equal(seen.get('index.php')!.type, 'symlink');
    assert.equal(seen.get('index.php')!.linkname, 'public/index.php');
  });

  it('refuses a FIFO, naming the artifact and the path', async () => {
    const dir = tree(path.join(tmp, 'fifo'));
    const made = spawnSync('mkfifo', [path.join(dir, 'public', 'pipe')]);
    assert.equal(made.status, 0);
    await assert.rejects(readArtifact(dir), (e: unknown) => {
      assert.ok(e instanceof LanesError, String(e));
      assert.ok(e.message.includes(dir), e.message);
      assert.match(e.message, /public\/pipe is a FIFO, socket or device/);
      return true;
    });
  });

  it('packs long names (over ustar limits) and reads them back', async () => {
    const dir = tree(path.join(tmp, 'long'));
    const deep = path.join(dir, 'a'.repeat(90), 'b'.repeat(90));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, `${'c'.repeat(120)}.php`), 'long');
    const a = await readArtifact(dir);
    assert.ok(a.entries.has(`${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(120)}.php`));
    assert.deepEqual((await readArtifact(dir)).bytes, a.bytes);
  });

  it('orders by path component, so a directory comes right before what it holds', () => {
    assert.deepEqual(['a-b', 'a/c', 'a', 'b'].sort(comparePaths), ['a', 'a/c', 'a-b', 'b']);
  });
});

describe('git:REF artifacts', () => {
  let repo: string;
  let commit: string;
  before(() => {
    repo = tree(path.join(tmp, 'repo'));
    git(repo, 'init', '-q');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'v1');
    commit = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'tag', 'v1');
  });

  it('git:HEAD is the committed tree, not the work tree, and records the commit', async () => {
    writeFileSync(path.join(repo, 'public', 'index.php'), '<?php echo "dirty";\n');
    writeFileSync(path.join(repo, 'untracked.txt'), 'not committed');
    const a = await readArtifact('git:HEAD', { repo: path.join(repo, 'public') });
    assert.deepEqual(a.source, { kind: 'git', ref: 'HEAD', commit, repo });
    assert.equal(a.label, 'git:HEAD');
    const seen = await contents(a);
    assert.equal(seen.get('public/index.php')!.data, '<?php echo "v1";\n');
    assert.equal(seen.has('untracked.txt'), false);
    assert.equal(seen.get('index.php')!.type, 'symlink');
    assert.equal(seen.get('bin/console')!.mode, 0o755);
    assert.equal(seen.get('README')!.mode, 0o644, 'git archive writes 0664; normalised');
    assert.match(describeArtifact(a), new RegExp(`^release ${a.id} from git:HEAD \\(commit ${commit}\\)$`));
    git(repo, 'checkout', '-q', '--', '.');
    rmSync(path.join(repo, 'untracked.txt'));
  });

  it('the same commit by another name gives the same bytes; the same tree as a directory gives the same id', async () => {
    const head = await readArtifact('git:HEAD', { repo });
    const tag = await readArtifact('git:v1', { repo });
    const byId = await readArtifact(`git:${commit}`, { repo });
    assert.deepEqual(tag.bytes, head.bytes);
    assert.equal(byId.id, head.id);
    const copy = path.join(tmp, 'repo-copy');
    cpSync(repo, copy, { recursive: true, verbatimSymlinks: true, filter: (src) => path.basename(src) !== '.git' });
    assert.equal((await readArtifact(copy)).id, head.id);
  });

  it('refuses an unknown ref, a directory outside any repository and an option-like ref, in one line', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'lanes-nogit-'));
    try {
      for (const [given, repoDir, re] of [
        ['git:no-such-branch', repo, /no commit no-such-branch in the git repository/],
        ['git:HEAD', outside, /is not in a git repository/],
        ['git:--output=/tmp/x', repo, /is not a git ref/],
        ['git:HEAD', path.join(tmp, 'missing'), /does not exist/],
      ] as const) {
        await assert.rejects(readArtifact(given, { repo: repoDir }), (e: unknown) => {
          assert.ok(e instanceof LanesError, String(e));
          assert.ok(e.message.includes(given), e.message);
          assert.match(e.message, re);
          assert.doesNotMatch(e.message, /\n/);
          return true;
        });
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('tells a git artifact from a path', () => {
    assert.equal(gitRefOf('git:main'), 'main');
    assert.equal(gitRefOf('./git:x'), undefined);
    assert.equal(gitRefOf('/srv/app'), undefined);
  });
});
