// An artifact URL: the checks before any connection, and the unpack script's download part run by a
// real sh (the way release.ts runs it: the script on stdin) with a stub curl or wget first on PATH,
// which records its arguments and the URL it was given on stdin and serves bytes chosen by the test.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { secrets } from '../../../agent/report/mask.js';
import { STDIN_SCRIPT_COMMAND } from '../../../agent/remote/sh.js';
import { EXIT_CHECKSUM_MISMATCH, parseUnpackOutput, readArtifact, resolveArtifact, unpackScript, type Artifact } from '../../../agent/rollout/artifact.js';
import {
  DEFAULT_ARTIFACT_MAX_BYTES,
  EXIT_FETCH_FAILED,
  EXIT_NO_DOWNLOADER,
  EXIT_TOO_LARGE,
  curlConfigLine,
  parseArtifactUrl,
  parseFetched,
  shownUrl,
} from '../../../agent/rollout/artifact-fetch.js';
import { frameShell } from '../../../agent/remote/frame.js';
import { bareReleaseSpec } from '../../support/release-spec.js';
import type { ReleaseSpec } from '../../../agent/rollout/types.js';
import { compilePlaybook } from '../../../agent/playbook/compile.js';
import { resourceTypes } from '../../../agent/resources/index.js';
import { renderReleasePlan } from '../../../agent/rollout/dry-run.js';
import { parse, testInventory } from '../playbook/helpers.js';
import { fixturesDir } from '../../support/paths.js';

const APP = path.join(fixturesDir, 'rollout', 'app');
const isRoot = process.getuid?.() === 0;
const SHA = 'ab'.repeat(32);

let tmp: string;
let art: Artifact;
/** A directory with a link to every program of the system except curl and wget. */
let plainBin: string;

before(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'lanes-artifact-fetch-'));
  art = await readArtifact(APP);
  plainBin = path.join(tmp, 'plain-bin');
  mkdirSync(plainBin);
  for (const dir of ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (name === 'curl' || name === 'wget' || existsSync(path.join(plainBin, name))) continue;
      symlinkSync(path.join(dir, name), path.join(plainBin, name));
    }
  }
});
after(() => rmSync(tmp, { recursive: true, force: true }));

function spec(root: string): ReleaseSpec {
  return bareReleaseSpec(root, { shared: ['storage'], owner: isRoot ? 'nobody' : '', group: isRoot ? 'nogroup' : '' });
}

/**
 * A stub downloader named `tool` in a fresh directory: logs its arguments to LOG.args and its stdin
 * (the URL) to LOG.stdin, prints STUB_STDERR to stderr, exits STUB_EXIT if set, else sends STUB_BODY.
 */
function stub(tool: 'curl' | 'wget'): { bin: string; log: string } {
  const bin = mkdtempSync(path.join(tmp, `${tool}-`));
  const log = path.join(bin, 'log');
  writeFileSync(
    path.join(bin, tool),
    `#!/bin/sh
printf '%s\\n' "$*" >>${JSON.stringify(`${log}.args`)}
cat >${JSON.stringify(`${log}.stdin`)}
[ -n "\${STUB_STDERR:-}" ] && printf '%s\\n' "$STUB_STDERR" >&2
[ -n "\${STUB_EXIT:-}" ] && exit "$STUB_EXIT"
cat "$STUB_BODY"
`,
  );
  chmodSync(path.join(bin, tool), 0o755);
  return { bin, log };
}

/** Run the fetching unpack script as release.ts does: STDIN_SCRIPT_COMMAND, the script on stdin. */
function fetchRun(root: string, url: string, o: { path: string; env?: Record<string, string>; maxBytes?: number; sha256?: string; seconds?: number }) {
  const fetch = parseArtifactUrl(url, o.sha256 ?? art.sha256, o.maxBytes);
  const script = unpackScript(spec(root), { id: art.id, sha256: fetch.sha256, label: fetch.shown }, { chown: isRoot, fetch, fetchSeconds: o.seconds ?? 30 });
  const r = spawnSync('sh', ['-c', STDIN_SCRIPT_COMMAND], { input: script.text, encoding: 'utf8', env: { ...process.env, PATH: o.path, ...o.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, nonce: script.nonce, fetch };
}

const leftovers = (root: string) => (existsSync(path.join(root, 'releases')) ? readdirSync(path.join(root, 'releases')) : []);

describe('parseArtifactUrl: refused before any connection, in one line that never shows the credentials', () => {
  const refusal = (f: () => unknown): LanesError => {
    try {
      f();
    } catch (err) {
      assert.ok(err instanceof LanesError, String(err));
      return err;
    }
    assert.fail('not refused');
  };

  it('a URL without a sha256, or with a malformed one', () => {
    const url = 'https://deploy:hunter22@artifacts.example.com/app.tar.gz?X-Amz-Signature=s3cr3tsig';
    const none = refusal(() => parseArtifactUrl(url, undefined));
    assert.match(none.message, /^release artifact https:\/\/artifacts\.example\.com\/app\.tar\.gz is a URL: --artifact-sha256 is required/);
    assert.match(none.hint ?? '', /--artifact-sha256 <64 hex digits>/);
    for (const bad of ['abc', 'g'.repeat(64), `${SHA}0`, ' '.repeat(64)]) {
      assert.match(refusal(() => parseArtifactUrl(url, bad)).message, /is not a sha256 digest \(64 hex digits\)/, bad);
    }
    for (const e of [none, refusal(() => parseArtifactUrl(url, 'abc'))]) {
      assert.doesNotMatch(`${e.message} ${e.hint ?? ''}`, /hunter22|s3cr3tsig|deploy/);
      assert.doesNotMatch(e.message, /\n/);
    }
  });

  it('schemes other than http and https, an unparsable URL, whitespace in it, a cap below 1', () => {
    assert.match(refusal(() => parseArtifactUrl('file:///srv/app.tar.gz', SHA)).message, /only http:\/\/ and https:\/\/ URLs are fetched, not file:\/\//);
    assert.match(refusal(() => parseArtifactUrl('ftp://u:pw1234@host/app.tar.gz', SHA)).message, /^release artifact ftp:\/\/host\/app\.tar\.gz: only http/);
    assert.match(refusal(() => parseArtifactUrl('http://[::1/x', SHA)).message, /the URL given to --artifact is not a valid URL/);
    assert.match(refusal(() => parseArtifactUrl('https://host/a b.tar.gz', SHA)).message, /whitespace or control characters/);
    assert.match(refusal(() => parseArtifactUrl('https://host/a.tar.gz', SHA, 0)).message, /--artifact-max-bytes must be a positive whole number/);
  });

  it('accepts http with a sha256 (lowercased), shows the URL without userinfo, query or fragment, and masks its parts', () => {
    const a = parseArtifactUrl('http://ci:tok3n99@127.0.0.1:8080/a/app.tar.gz?token=qwerty123&x=1#frag0', SHA.toUpperCase());
    assert.deepEqual({ shown: a.shown, sha256: a.sha256, maxBytes: a.maxBytes }, { shown: 'http://127.0.0.1:8080/a/app.tar.gz', sha256: SHA, maxBytes: DEFAULT_ARTIFACT_MAX_BYTES });
    assert.equal(shownUrl('https://h/p?q=1'), 'https://h/p');
    const masked = secrets.mask(`curl: (22) ${a.url} said qwerty123, tok3n99, token=qwerty123&x=1`);
    assert.doesNotMatch(masked, /qwerty123|tok3n99|frag0/);
    // A URL without credentials is not a secret: its messages show it.
    const plain = parseArtifactUrl('https://plain.example/releases/app.tar.gz', SHA);
    assert.equal(secrets.mask(`fetch ${plain.shown}`), 'fetch https://plain.example/releases/app.tar.gz');
  });
});

describe('resolveArtifact', () => {
  it('a URL names the release by its sha256 without reading anything', async () => {
    const a = await resolveArtifact('https://h.example/app.tar.gz?sig=abcdef', { sha256: SHA });
    assert.equal(a.id, `r${SHA.slice(0, 12)}`);
    assert.deepEqual(a.source, { kind: 'url', url: 'https://h.example/app.tar.gz' });
    assert.ok('fetch' in a && a.fetch.url.endsWith('sig=abcdef'));
  });

  it('refuses --artifact-sha256 with a local artifact; reads a local one as before', async () => {
    await assert.rejects(resolveArtifact(APP, { sha256: SHA }), /--artifact-sha256 and --artifact-max-bytes go with an artifact URL/);
    const local = await resolveArtifact(APP);
    assert.equal(local.id, art.id);
  });
});

describe('the fetching unpack script (real sh, stub downloader)', () => {
  it('curl: gets the URL on stdin only (hostile characters intact, nothing run), unpacks, reports the sum', () => {
    const { bin, log } = stub('curl');
    const body = path.join(tmp, 'app.tar.gz');
    writeFileSync(body, art.bytes);
    const root = path.join(tmp, 'curl-ok');
    const url = `https://h.example/a.tar.gz?sig=SECRET42&q="$(mkdir\${IFS}${tmp}/PWNED)"\\';\`x\``;
    const r = fetchRun(root, url, { path: `${bin}:${process.env.PATH}`, env: { STUB_BODY: body } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseFetched(r.stdout, r.nonce), { sha256: art.sha256, bytes: art.bytes.length });
    assert.equal(parseUnpackOutput(r.stdout, r.nonce).status, 'unpacked');
    assert.ok(existsSync(path.join(root, 'releases', art.id, 'public', 'index.php')));
    assert.ok(!existsSync(path.join(tmp, 'PWNED')), 'nothing in the URL ran');
    assert.equal(readFileSync(`${log}.stdin`, 'utf8'), `${curlConfigLine(url)}\n`);
    const args = readFileSync(`${log}.args`, 'utf8');
    assert.doesNotMatch(args, /SECRET42|h\.example/, 'the URL is in no argument');
    assert.match(args, /-q -K - .*--max-filesize \d+ /);
    assert.deepEqual(leftovers(root).filter((n) => n.includes('.tmp-')), []);
  });

  it('curl config escaping: the line curl reads gives back the URL exactly', () => {
    const url = 'https://h/x?a="b"\\c';
    const line = curlConfigLine(url);
    assert.equal(line, 'url = "https://h/x?a=\\"b\\"\\\\c"');
    assert.equal(JSON.parse(line.slice('url = '.length)), url, 'curl unescapes \\" and \\\\ as JSON does');
  });

  it('wget when curl is missing: the URL on its stdin (-i -), unpacks', () => {
    const { bin, log } = stub('wget');
    const body = path.join(tmp, 'app-w.tar.gz');
    writeFileSync(body, art.bytes);
    const root = path.join(tmp, 'wget-ok');
    const url = 'http://u:pw98765@h.example/app.tar.gz?t=SECRET43';
    const r = fetchRun(root, url, { path: `${bin}:${plainBin}`, env: { STUB_BODY: body } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseUnpackOutput(r.stdout, r.nonce).status, 'unpacked');
    assert.equal(readFileSync(`${log}.stdin`, 'utf8'), `${url}\n`);
    assert.doesNotMatch(readFileSync(`${log}.args`, 'utf8'), /SECRET43|pw98765/);
    assert.match(readFileSync(`${log}.args`, 'utf8'), /-i -$/m);
  });

  it('neither curl nor wget: refused with a sentence, nothing left', () => {
    const root = path.join(tmp, 'none');
    const r = fetchRun(root, 'https://h.example/app.tar.gz', { path: plainBin });
    assert.equal(r.code, EXIT_NO_DOWNLOADER);
    assert.match(r.stderr, /cannot fetch https:\/\/h\.example\/app\.tar\.gz: neither curl nor wget is installed on the host/);
    assert.deepEqual(leftovers(root), []);
  });

  it('a server sending endless data stops at the cap: refused, nothing stored', () => {
    const { bin } = stub('curl');
    const root = path.join(tmp, 'endless');
    const r = fetchRun(root, 'https://h.example/app.tar.gz', { path: `${bin}:${process.env.PATH}`, env: { STUB_BODY: '/dev/zero' }, maxBytes: 100_000 });
    assert.equal(r.code, EXIT_TOO_LARGE, r.stderr);
    assert.match(r.stderr, /downloading https:\/\/h\.example\/app\.tar\.gz: the server sends more than --artifact-max-bytes 100000 bytes; refused/);
    assert.equal(parseFetched(r.stdout, r.nonce), undefined, 'no sum reported');
    assert.deepEqual(leftovers(root), []);
  });

  it('another artifact than the sha256 says: exit 3 naming both sums, the actual one in the frame, nothing left', () => {
    const { bin } = stub('curl');
    const body = path.join(tmp, 'other.tar.gz');
    writeFileSync(body, Buffer.concat([art.bytes, Buffer.from('x')]));
    const root = path.join(tmp, 'mismatch');
    const r = fetchRun(root, 'https://h.example/app.tar.gz?sig=zz9', { path: `${bin}:${process.env.PATH}`, env: { STUB_BODY: body } });
    assert.equal(r.code, EXIT_CHECKSUM_MISMATCH);
    const got = parseFetched(r.stdout, r.nonce);
    assert.ok(got && got.sha256 !== art.sha256 && got.bytes === art.bytes.length + 1);
    assert.match(r.stderr, new RegExp(`checksum mismatch: https://h\\.example/app\\.tar\\.gz has sha256 ${got.sha256}, expected ${art.sha256}`));
    assert.deepEqual(leftovers(root), []);
  });

  it('a failing download (HTTP error, time limit): exit 7 with the downloader\'s words and nothing left', () => {
    const { bin } = stub('curl');
    const root = path.join(tmp, 'http-error');
    const r = fetchRun(root, 'https://h.example/app.tar.gz', { path: `${bin}:${process.env.PATH}`, env: { STUB_EXIT: '22', STUB_STDERR: 'curl: (22) The requested URL returned error: 403' } });
    assert.equal(r.code, EXIT_FETCH_FAILED);
    assert.match(r.stderr, /returned error: 403\ndownloading https:\/\/h\.example\/app\.tar\.gz failed: curl exit 22/);
    const t = fetchRun(root, 'https://h.example/app.tar.gz', { path: `${bin}:${process.env.PATH}`, env: { STUB_EXIT: '28' }, seconds: 17 });
    assert.equal(t.code, EXIT_FETCH_FAILED);
    assert.match(t.stderr, /downloading https:\/\/h\.example\/app\.tar\.gz did not finish within 17 s/);
    assert.deepEqual(leftovers(root), []);
  });

  it('a release already on the host is not downloaded again', () => {
    const { bin, log } = stub('curl');
    const body = path.join(tmp, 'again.tar.gz');
    writeFileSync(body, art.bytes);
    const root = path.join(tmp, 'twice');
    const env = { STUB_BODY: body };
    assert.equal(fetchRun(root, 'https://h.example/app.tar.gz', { path: `${bin}:${process.env.PATH}`, env }).code, 0);
    const again = fetchRun(root, 'https://h.example/app.tar.gz', { path: `${bin}:${process.env.PATH}`, env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(parseUnpackOutput(again.stdout, again.nonce).status, 'exists');
    assert.equal(readFileSync(`${log}.args`, 'utf8').trim().split('\n').length, 1, 'one download in two runs');
  });
});

describe('the fetching unpack script with the real curl against a real HTTP server', () => {
  /** The script run asynchronously (the server answers from this process meanwhile). */
  function fetchAsync(root: string, url: string, o: { maxBytes?: number; seconds?: number }) {
    const fetch = parseArtifactUrl(url, art.sha256, o.maxBytes);
    const script = unpackScript(spec(root), { id: art.id, sha256: fetch.sha256, label: fetch.shown }, { chown: isRoot, fetch, fetchSeconds: o.seconds ?? 30 });
    return new Promise<{ code: number | null; stdout: string; stderr: string; nonce: string }>((resolve) => {
      const child = spawn('sh', ['-c', STDIN_SCRIPT_COMMAND], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr, nonce: script.nonce }));
      child.stdin.end(script.text);
    });
  }
  const hasCurl = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).status === 0;

  it('endless data without a length, a 403, a server that never answers (the URL in no process\'s arguments meanwhile), and the real artifact', async () => {
    assert.ok(hasCurl, 'curl is installed on this machine (the controller side of the lab)');
    const chunk = Buffer.alloc(64 * 1024, 7);
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/endless')) {
        res.writeHead(200);
        const pump = () => {
          while (res.write(chunk));
        };
        res.on('drain', pump);
        res.on('close', () => res.off('drain', pump));
        pump();
      } else if (req.url?.startsWith('/forbidden')) res.writeHead(403).end('no\n');
      else if (req.url?.startsWith('/hang')) res.writeHead(200);
      else res.writeHead(200, { 'content-length': art.bytes.length }).end(art.bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const endless = path.join(tmp, 'real-endless');
      const e = await fetchAsync(endless, `${base}/endless?k=SECRET77`, { maxBytes: 1_000_000 });
      assert.equal(e.code, EXIT_TOO_LARGE, e.stderr);
      assert.match(e.stderr, /the server sends more than --artifact-max-bytes 1000000 bytes; refused/);
      assert.deepEqual(leftovers(endless), []);

      const f = await fetchAsync(path.join(tmp, 'real-403'), `${base}/forbidden?k=SECRET77`, {});
      assert.equal(f.code, EXIT_FETCH_FAILED);
      assert.match(f.stderr, /403[\s\S]*failed: curl exit 22/);

      // While curl waits, no process on the machine shows the URL's credentials in its arguments.
      const hanging = fetchAsync(path.join(tmp, 'real-hang'), `${base.replace('//', '//ci:PassWd99@')}/hang?token=TOPSECRET42`, { seconds: 3 });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
      assert.match(ps, /curl -q -K - /, 'curl is running');
      assert.ok(!ps.includes('TOPSECRET42') && !ps.includes('PassWd99') && !ps.includes('/hang'), ps);
      const h = await hanging;
      assert.equal(h.code, EXIT_FETCH_FAILED);
      assert.match(h.stderr, /did not finish within 3 s/);

      const ok = path.join(tmp, 'real-ok');
      const r = await fetchAsync(ok, `${base}/app.tar.gz?k=SECRET77`, {});
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseFetched(r.stdout, r.nonce), { sha256: art.sha256, bytes: art.bytes.length });
      assert.ok(existsSync(path.join(ok, 'releases', art.id, 'public', 'index.php')));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('--dry-run with an artifact URL', () => {
  it('says the hosts fetch the URL without its credentials, with the sha256, instead of the upload', async () => {
    const play = '- hosts: app\n  release:\n    path: /var/www/app\n    shared: [storage]\n';
    const hosts = (await compilePlaybook(parse(play), await testInventory(), {}, resourceTypes)).hosts;
    const a = await resolveArtifact('https://ci:pw55555@store.example/app.tar.gz?X-Amz-Signature=sig77777', { sha256: SHA });
    const text = renderReleasePlan(hosts, ['lab1', 'lab2'], { artifact: a });
    assert.match(text, new RegExp(`^release r${SHA.slice(0, 12)} to 2 hosts`));
    assert.match(text, new RegExp(`hosts fetch https://store\\.example/app\\.tar\\.gz \\(sha256 ${SHA}\\), checksum verified, unpack to releases/r${SHA.slice(0, 12)}, shared links: storage`));
    assert.doesNotMatch(text, /upload and unpack|pw55555|sig77777|X-Amz/);
  });
});

describe('parseFetched', () => {
  it('reads the frame of this nonce only, and only a well-formed one', () => {
    const nonce = 'abcdef012345';
    assert.match(frameShell(nonce), /LANES_NONCE/);
    assert.deepEqual(parseFetched(`noise\n@@${nonce} fetched ${SHA} 1234\n`, nonce), { sha256: SHA, bytes: 1234 });
    assert.equal(parseFetched(`@@000000000000 fetched ${SHA} 1234\n`, nonce), undefined);
    assert.equal(parseFetched(`@@${nonce} fetched nothex 1234\n`, nonce), undefined);
    assert.equal(parseFetched(`@@${nonce} fetched ${SHA} -1\n`, nonce), undefined);
    assert.equal(parseFetched('', nonce), undefined);
  });
});
