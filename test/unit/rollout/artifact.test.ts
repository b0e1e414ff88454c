// The release artifact: deterministic packing, and the unpack/prune/current scripts run by a real sh
// against a temporary application root (we run as root in CI and the lab; chown is skipped otherwise).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { FramedScript } from '../../../agent/remote/sh.js';
import {
  chmodSync,
  cpSync,
  linkSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import {
  currentReleaseScript,
  EXIT_CHECKSUM_MISMATCH,
  EXIT_RELEASE_CONFLICT,
  EXIT_UNSAFE_ENTRY,
  parseCurrentRelease,
  parsePruneOutput,
  parseUnpackOutput,
  pruneScript,
  readArtifact,
  releaseId,
  sharedEntry,
  unpackScript,
  type Artifact,
} from '../../../agent/rollout/artifact.js';
import type { ReleaseSpec } from '../../../agent/rollout/types.js';
import { fixturesDir } from '../../support/paths.js';
import { systemTarListing } from '../../support/tar-listing.js';
import { bareReleaseSpec } from '../../support/release-spec.js';

const APP = path.join(fixturesDir, 'rollout', 'app');
const isRoot = process.getuid?.() === 0;

/** The shell the scripts run in (LANES_TEST_SH=bash to check them under bash, /bin/sh on RHEL). */
const SHELL = process.env.LANES_TEST_SH ?? 'sh';

let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lanes-artifact-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh copy of the fixture app (tests modify it). */
function appCopy(name: string): string {
  const dir = path.join(tmp, name);
  cpSync(APP, dir, { recursive: true });
  return dir;
}

function spec(root: string, over: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return bareReleaseSpec(root, { shared: ['storage', '.env'], owner: isRoot ? 'nobody' : '', group: isRoot ? 'nogroup' : '', ...over });
}

function sh(script: FramedScript, input?: Buffer | string) {
  const r = spawnSync(SHELL, ['-c', script.text], { input: input ?? '', encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, nonce: script.nonce };
}

describe('readArtifact', () => {
  it('packs the same content into the same bytes, whatever the mtimes', async () => {
    const dir = appCopy('det');
    const a = await readArtifact(dir);
    const b = await readArtifact(dir);
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(a.bytes, b.bytes);
    assert.match(a.id, /^r[0-9a-f]{12}$/);
    assert.equal(a.id, `r${a.sha256.slice(0, 12)}`);
    assert.equal(a.files, 3);
    assert.deepEqual(a.source, { kind: 'directory', path: dir });

    utimesSync(path.join(dir, 'public', 'index.php'), new Date('2001-02-03'), new Date('2001-02-03'));
    utimesSync(path.join(dir, 'src'), new Date(), new Date());
    assert.equal((await readArtifact(dir)).sha256, a.sha256, 'mtimes do not count');

    // A copy elsewhere (other inode numbers, other ctime, other readdir order) packs the same.
    const copy = appCopy('det-copy');
    assert.equal((await readArtifact(copy)).sha256, a.sha256);
  });

  it('changes the id when one byte changes, or a file is added', async () => {
    const dir = appCopy('byte');
    const a = await readArtifact(dir);
    const f = path.join(dir, 'src', 'Hello.php');
    writeFileSync(f, readFileSync(f, 'utf8').replace('hello', 'hellp'));
    const b = await readArtifact(dir);
    assert.notEqual(b.sha256, a.sha256);
    writeFileSync(path.join(dir, 'new.txt'), '');
    const c = await readArtifact(dir);
    assert.notEqual(c.sha256, b.sha256);
    assert.equal(c.files, 4);
  });

  it('packs names sorted, owned by 0:0, with mtime 0 and no group/other write bit', async () => {
    const dir = appCopy('meta');
    writeFileSync(path.join(dir, 'b.txt'), 'b');
    chmodSync(path.join(dir, 'b.txt'), 0o666);
    writeFileSync(path.join(dir, 'a.txt'), 'a');
    const a = await readArtifact(dir);
    const lines = systemTarListing(a.bytes);
    for (const l of lines) {
      assert.match(l, /^\S+ 0\/0 /, l);
      assert.match(l, / 1970-01-01 00:00:00 /, l);
      assert.doesNotMatch(l.slice(0, 10), /^.....w|^........w/, `${l}: no g/o write`);
    }
    const names = lines.map((l) => l.split(' ').pop());
    assert.deepEqual(names.slice(0, 2), ['a.txt', 'b.txt']);
  });

  it('uses a .tar.gz as it is', async () => {
    const a = await readArtifact(appCopy('tgz-src'));
    const file = path.join(tmp, 'app.tar.gz');
    writeFileSync(file, a.bytes);
    const b = await readArtifact(file);
    assert.equal(b.sha256, a.sha256);
    assert.equal(b.files, a.files);
    const tgz = path.join(tmp, 'app.tgz');
    const made = spawnSync('tar', ['-czf', tgz, '-C', APP, '.']);
    assert.equal(made.status, 0);
    const c = await readArtifact(tgz);
    assert.equal(c.files, 3);
    assert.equal(c.id, releaseId(c.sha256));
  });

  it('refuses a missing path, an empty directory, a plain file and a bogus .tar.gz, naming the path', async () => {
    const missing = path.join(tmp, 'nope');
    const empty = path.join(tmp, 'empty');
    mkdirSync(empty);
    const plain = path.join(tmp, 'plain.txt');
    writeFileSync(plain, 'x');
    const bogus = path.join(tmp, 'bogus.tar.gz');
    writeFileSync(bogus, 'not gzip');
    const halfGz = path.join(tmp, 'half.tgz');
    writeFileSync(halfGz, (await readArtifact(appCopy('half'))).bytes.subarray(0, 40));
    for (const [p, re] of [
      [missing, /does not exist/],
      [empty, /empty directory/],
      [plain, /neither a directory nor a \.tar\.gz/],
      [bogus, /not a gzip file/],
      [halfGz, /not a valid \.tar\.gz/],
    ] as const) {
      await assert.rejects(readArtifact(p), (e: unknown) => {
        assert.ok(e instanceof LanesError, String(e));
        assert.ok(e.message.includes(p), e.message);
        assert.match(e.message, re);
        return true;
      });
    }
  });
});

describe('sharedEntry', () => {
  it('normalizes and refuses escapes', () => {
    assert.equal(sharedEntry('storage/'), 'storage');
    assert.equal(sharedEntry('./.env'), '.env');
    assert.equal(sharedEntry('public//uploads'), 'public/uploads');
    for (const bad of ['', '/etc', '..', '../x', 'a/../../b', '.', '.lanes-release']) {
      assert.throws(() => sharedEntry(bad), LanesError, bad);
    }
  });
  it('refuses overlapping shared entries', () => {
    assert.throws(() => unpackScript(spec('/srv/app', { shared: ['storage', 'storage/logs'] }), { id: 'r1', sha256: 'a'.repeat(64) }), /overlap/);
  });
});

describe('unpackScript (real sh)', () => {
  let art: Artifact;
  before(async () => {
    art = await readArtifact(APP);
  });

  it('unpacks, seeds shared/ from the first release, links, marks; then answers exists', () => {
    const root = path.join(tmp, "it's an $(app) root");
    const s = spec(root);
    const r = sh(unpackScript(s, art, { chown: isRoot }), art.bytes);
    assert.equal(r.code, 0, r.stderr);
    const out = parseUnpackOutput(r.stdout, r.nonce);
    assert.equal(out.status, 'unpacked');
    assert.deepEqual(out.seeded, ['storage']);
    assert.deepEqual(out.missingShared, ['.env']);

    const rel = path.join(root, 'releases', art.id);
    assert.match(readFileSync(path.join(rel, 'public', 'index.php'), 'utf8'), /require/);
    assert.equal(readlinkSync(path.join(rel, 'storage')), path.join(root, 'shared', 'storage'));
    assert.equal(readlinkSync(path.join(rel, '.env')), path.join(root, 'shared', '.env'));
    assert.equal(readFileSync(path.join(rel, 'storage', 'logs', 'README'), 'utf8'), 'seeded by the first release\n');
    const marker = readFileSync(path.join(rel, '.lanes-release'), 'utf8');
    assert.match(marker, new RegExp(`^id=${art.id}\nsha256=${art.sha256}\ndate=\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{3})?Z\n$`));
    assert.equal(statSync(rel).mode & 0o777, 0o755);
    assert.ok(!existsSync(path.join(root, 'current')), 'current is never touched');
    assert.deepEqual(
      readdirSync(path.join(root, 'releases')).filter((n) => n.includes('.tmp-')),
      [],
      'no temporary left behind',
    );
    if (isRoot) {
      const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
      assert.equal(statSync(path.join(rel, 'public', 'index.php')).uid, nobody);
      assert.equal(lstatSync(path.join(rel, 'storage')).uid, nobody, 'the link itself');
      assert.equal(statSync(path.join(root, 'shared', 'storage', 'logs', 'README')).uid, nobody, 'seeded shared content');
    }

    // Shared content written by the app survives the next (different) release, which does not re-seed.
    writeFileSync(path.join(root, 'shared', 'storage', 'logs', 'app.log'), 'log\n');
    writeFileSync(path.join(root, 'shared', '.env'), 'APP_KEY=x\n');
    const again = sh(unpackScript(s, art, { chown: isRoot }), art.bytes);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(parseUnpackOutput(again.stdout, again.nonce), { status: 'exists', seeded: [], missingShared: [] });
  });

  it('links a second release to the existing shared/ without seeding it again', async () => {
    const root = path.join(tmp, 'second');
    const s = spec(root);
    assert.equal(sh(unpackScript(s, art, { chown: isRoot }), art.bytes).code, 0);
    writeFileSync(path.join(root, 'shared', 'storage', 'logs', 'app.log'), 'kept\n');
    const dir = appCopy('v2');
    writeFileSync(path.join(dir, 'storage', 'logs', 'README'), 'from v2: must not replace shared\n');
    const v2 = await readArtifact(dir);
    const r = sh(unpackScript(s, v2, { chown: isRoot }), v2.bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseUnpackOutput(r.stdout, r.nonce).seeded, []);
    const rel2 = path.join(root, 'releases', v2.id);
    assert.equal(readFileSync(path.join(rel2, 'storage', 'logs', 'app.log'), 'utf8'), 'kept\n');
    assert.equal(readFileSync(path.join(rel2, 'storage', 'logs', 'README'), 'utf8'), 'seeded by the first release\n');
  });

  it('refuses a corrupted upload with exit 3 and leaves nothing behind', () => {
    const root = path.join(tmp, 'corrupt');
    const bad = Buffer.from(art.bytes);
    bad[bad.length - 10] = bad[bad.length - 10]! ^ 0xff;
    const r = sh(unpackScript(spec(root), art, { chown: isRoot }), bad);
    assert.equal(r.code, EXIT_CHECKSUM_MISMATCH);
    assert.match(r.stderr, /checksum mismatch: the upload has sha256 [0-9a-f]{64}, expected/);
    assert.deepEqual(readdirSync(path.join(root, 'releases')), []);
  });

  it('refuses a releases/<id> that is not a complete lanes release', () => {
    const root = path.join(tmp, 'foreign');
    mkdirSync(path.join(root, 'releases', art.id), { recursive: true });
    const r = sh(unpackScript(spec(root), art, { chown: isRoot }), art.bytes);
    assert.equal(r.code, EXIT_RELEASE_CONFLICT);
    assert.match(r.stderr, /not a complete lanes release/);
  });

  it('refuses to share below a symlink shipped in the release', async () => {
    const dir = appCopy('evil');
    symlinkSync('public', path.join(dir, 'link'));
    const a = await readArtifact(dir);
    const r = sh(unpackScript(spec(path.join(tmp, 'evil-root'), { shared: ['link/x'] }), a, { chown: isRoot }), a.bytes);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /link is a symlink in the release/);
  });

  /** A .tar.gz made by plain tar (modes, links and all kept as they are), and its unpack. */
  async function crafted(name: string, make: (dir: string) => void) {
    const dir = path.join(tmp, `${name}-src`);
    mkdirSync(path.join(dir, 'public'), { recursive: true });
    writeFileSync(path.join(dir, 'public', 'index.php'), '<?php echo 1;\n');
    make(dir);
    const file = path.join(tmp, `${name}.tar.gz`);
    const t = spawnSync('tar', ['-czf', file, '-C', dir, '.'], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    const a = await readArtifact(file);
    const root = path.join(tmp, `${name}-root`);
    const r = sh(unpackScript(spec(root, { shared: [] }), a, { chown: isRoot }), a.bytes);
    return { ...r, root, rel: path.join(root, 'releases', a.id), releases: () => readdirSync(path.join(root, 'releases')) };
  }

  for (const [what, target, entry] of [
    ['an absolute symlink', '/etc/passwd', 'public/pw'],
    ['a symlink climbing out with ..', '../../../../../../etc', 'public/pw'],
    ['a chain of symlinks that ends outside', 'hop', 'public/pw'],
  ] as const) {
    it(`refuses ${what}, naming the artifact and the entry, and leaves nothing behind`, async () => {
      const r = await crafted(`link-${what.length}`, (dir) => {
        symlinkSync(target, path.join(dir, entry));
        if (target === 'hop') symlinkSync('../../..', path.join(dir, 'public', 'hop'));
      });
      assert.equal(r.code, EXIT_UNSAFE_ENTRY, r.stderr);
      assert.match(r.stderr, new RegExp(`^release artifact link-${what.length}\\.tar\\.gz: entry (\\./)?${entry.replace('/', '\\/')} is a symbolic link to .*, outside the release; refused\\n$`));
      assert.deepEqual(r.releases(), [], 'the unpacked release is removed');
    });
  }

  it('keeps symlinks that stay inside the release', async () => {
    const r = await crafted('inside', (dir) => {
      symlinkSync('index.php', path.join(dir, 'public', 'home.php'));
      symlinkSync('../public', path.join(dir, 'public', 'self'));
      symlinkSync('.', path.join(dir, 'here'));
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readlinkSync(path.join(r.rel, 'public', 'home.php')), 'index.php');
  });

  it('refuses a hard link and a FIFO in the tarball', async () => {
    const h = await crafted('hard', (dir) => linkSync(path.join(dir, 'public', 'index.php'), path.join(dir, 'public', 'again.php')));
    assert.equal(h.code, EXIT_UNSAFE_ENTRY, h.stderr);
    assert.match(h.stderr, /^release artifact hard\.tar\.gz: entry .*(again|index)\.php is a hard link .*; refused\n$/);
    assert.deepEqual(h.releases(), []);
    const f = await crafted('fifo', (dir) => assert.equal(spawnSync('mkfifo', [path.join(dir, 'public', 'pipe')]).status, 0));
    assert.equal(f.code, EXIT_UNSAFE_ENTRY, f.stderr);
    assert.match(f.stderr, /entry (\.\/)?public\/pipe is a device, FIFO or socket/);
    assert.deepEqual(f.releases(), []);
  });

  it('normalises modes: no group/other write, no setuid, setgid or sticky bit; private files stay private', async () => {
    const r = await crafted('modes', (dir) => {
      writeFileSync(path.join(dir, 'public', 'open.php'), 'x');
      chmodSync(path.join(dir, 'public', 'open.php'), 0o777);
      writeFileSync(path.join(dir, 'suid'), 'x');
      chmodSync(path.join(dir, 'suid'), 0o6755);
      writeFileSync(path.join(dir, '.env.example'), 'x');
      chmodSync(path.join(dir, '.env.example'), 0o600);
      chmodSync(path.join(dir, 'public'), 0o3777);
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(path.join(r.rel, 'public', 'open.php')).mode & 0o7777, 0o755);
    assert.equal(statSync(path.join(r.rel, 'suid')).mode & 0o7777, 0o755);
    assert.equal(statSync(path.join(r.rel, '.env.example')).mode & 0o7777, 0o600);
    assert.equal(statSync(path.join(r.rel, 'public')).mode & 0o7777, 0o755);
    assert.equal(statSync(r.rel).mode & 0o7777, 0o755);
  });

  it('quotes every value: a hostile path creates nothing elsewhere', () => {
    const root = path.join(tmp, 'q', `x'; touch ${tmp}/pwned; echo '`);
    const r = sh(unpackScript(spec(root), art, { chown: isRoot }), art.bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(path.join(tmp, 'pwned')));
    assert.ok(existsSync(path.join(root, 'releases', art.id, '.lanes-release')));
  });

  it('refuses a relative path and an invalid id or digest', () => {
    assert.throws(() => unpackScript(spec('srv/app'), art), /absolute path/);
    assert.throws(() => unpackScript(spec('/srv/app'), { id: '../x', sha256: art.sha256 }), /not a valid directory name/);
    assert.throws(() => unpackScript(spec('/srv/app'), { id: art.id, sha256: 'abc' }), /sha256/);
  });
});

describe('pruneScript and currentReleaseScript (real sh)', () => {
  /** Make a fake complete release with a given marker date. */
  function fake(root: string, id: string, date: string): void {
    const d = path.join(root, 'releases', id);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, '.lanes-release'), `id=${id}\nsha256=${'0'.repeat(64)}\ndate=${date}\n`);
  }

  it('keeps the newest `keep`, plus the protected ones and the live one, and removes stale temporaries', () => {
    const root = path.join(tmp, 'prune');
    const ids = ['r01', 'r02', 'r03', 'r04', 'r05', 'r06'];
    ids.forEach((id, i) => fake(root, id, `2026-01-0${i + 1}T10:00:00.000Z`));
    mkdirSync(path.join(root, 'releases', 'not-a-release')); // no marker: not ours, left alone
    mkdirSync(path.join(root, 'releases', 'r09.tmp-AbC123'));
    mkdirSync(path.join(root, 'releases', 'r10.tmp-fresh1'));
    const old = new Date(Date.now() - 3 * 3600_000);
    utimesSync(path.join(root, 'releases', 'r09.tmp-AbC123'), old, old);
    symlinkSync('releases/r02', path.join(root, 'current'));

    const r = sh(pruneScript({ path: root, keep: 3 }, ['r01']));
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parsePruneOutput(r.stdout, r.nonce).sort(), ['r03']);
    assert.ok(r.stdout.includes(`@@${r.nonce} removed-stale r09.tmp-AbC123`), r.stdout);
    assert.deepEqual(readdirSync(path.join(root, 'releases')).sort(), ['not-a-release', 'r01', 'r02', 'r04', 'r05', 'r06', 'r10.tmp-fresh1']);

    const again = sh(pruneScript({ path: root, keep: 3 }, ['r01']));
    assert.deepEqual(parsePruneOutput(again.stdout, again.nonce), [], 'nothing more to prune');
  });

  it('is a no-op without releases/', () => {
    const r = sh(pruneScript({ path: path.join(tmp, 'none'), keep: 2 }, []));
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '');
  });

  it('refuses keep < 1', () => {
    assert.throws(() => pruneScript({ path: '/srv/app', keep: 0 }, []), /keep/);
  });

  it('reads current and the releases, oldest first', () => {
    const root = path.join(tmp, 'cur');
    fake(root, 'rbbb', '2026-02-01T00:00:00Z');
    fake(root, 'raaa', '2026-01-01T00:00:00.000Z');
    mkdirSync(path.join(root, 'releases', 'rccc.tmp-x'));
    symlinkSync(path.join(root, 'releases', 'rbbb'), path.join(root, 'current'));
    const r = sh(currentReleaseScript({ path: root }));
    assert.equal(r.code, 0, r.stderr);
    const cur = parseCurrentRelease(r.stdout, r.nonce);
    assert.equal(cur.current, 'rbbb');
    assert.equal(cur.currentTarget, path.join(root, 'releases', 'rbbb'));
    assert.deepEqual(cur.releases, [
      { id: 'raaa', date: '2026-01-01T00:00:00.000Z' },
      { id: 'rbbb', date: '2026-02-01T00:00:00Z' },
    ]);
    const voidRun = sh(currentReleaseScript({ path: path.join(tmp, 'void') }));
    assert.deepEqual(parseCurrentRelease(voidRun.stdout, voidRun.nonce), { releases: [] });
  });
});
