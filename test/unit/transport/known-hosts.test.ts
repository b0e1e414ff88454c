import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import {
  appendKnownHost,
  checkHostKey,
  entriesFor,
  fingerprintSha256,
  hostKeyError,
  hostKeyFromBlob,
  hostMatches,
  knownHostsName,
  knownKeyTypesFor,
  loadKnownHosts,
  parseKnownHosts,
  type HostKey,
  type KnownHostsEntry,
} from '../../../agent/transport/known-hosts.js';

const hasKeygen = spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' }).error === undefined;
const skip = !hasKeygen && 'ssh-keygen not installed';

interface GeneratedKey {
  key: HostKey;
  /** `type base64` as in a .pub file. */
  pub: string;
  /** The fingerprint ssh-keygen -l prints. */
  fingerprint: string;
  pubFile: string;
}

let tmp: string;
const keys: Record<string, GeneratedKey> = {};

function keygen(name: string, args: string[]): GeneratedKey {
  const file = join(tmp, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', `${name}@test`, '-f', file], { stdio: 'ignore' });
  const pubFile = `${file}.pub`;
  const [type, b64] = readFileSync(pubFile, 'utf8').trim().split(/\s+/) as [string, string];
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).split(' ')[1] ?? '';
  const key = hostKeyFromBlob(Buffer.from(b64, 'base64'));
  assert.equal(key.type, type);
  return { key, pub: `${type} ${b64}`, fingerprint, pubFile };
}

/** Line numbers that `ssh-keygen -F name -f file` reports as matching. */
function keygenFind(file: string, name: string): number[] {
  const r = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
  return [...r.stdout.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}

function ourFind(file: string, name: string): number[] {
  return parseKnownHosts(readFileSync(file, 'utf8'), file)
    .filter((e) => hostMatches(e.hosts, name))
    .map((e) => e.line);
}

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lanes-kh-'));
  if (!hasKeygen) return;
  keys.ed = keygen('ed', ['-t', 'ed25519']);
  keys.ed2 = keygen('ed2', ['-t', 'ed25519']);
  keys.ec256 = keygen('ec256', ['-t', 'ecdsa', '-b', '256']);
  keys.ec384 = keygen('ec384', ['-t', 'ecdsa', '-b', '384']);
  keys.rsa = keygen('rsa', ['-t', 'rsa', '-b', '2048']);
});

after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function k(name: string): GeneratedKey {
  const g = keys[name];
  assert.ok(g, `key ${name} generated`);
  return g;
}

describe('keys and fingerprints', { skip }, () => {
  it('reads the key type from the blob', () => {
    assert.equal(k('ed').key.type, 'ssh-ed25519');
    assert.equal(k('ec256').key.type, 'ecdsa-sha2-nistp256');
    assert.equal(k('ec384').key.type, 'ecdsa-sha2-nistp384');
    assert.equal(k('rsa').key.type, 'ssh-rsa');
    assert.throws(() => hostKeyFromBlob(Buffer.from([0, 0, 0, 9, 1])), LanesError);
    assert.throws(() => hostKeyFromBlob(Buffer.alloc(0)), LanesError);
    const ed = k('ed').key.blob;
    assert.throws(() => hostKeyFromBlob(ed.subarray(0, ed.length - 1)), LanesError, 'truncated key');
    assert.throws(() => hostKeyFromBlob(Buffer.concat([ed, Buffer.from([0])])), LanesError, 'trailing bytes');
  });

  it('prints SHA256 fingerprints exactly as ssh-keygen -l', () => {
    for (const name of ['ed', 'ec256', 'ec384', 'rsa']) {
      assert.equal(fingerprintSha256(k(name).key.blob), k(name).fingerprint, name);
      assert.match(k(name).fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    }
  });
});

describe('knownHostsName', () => {
  it('uses OpenSSH forms', () => {
    assert.equal(knownHostsName('lab1.example', 22), 'lab1.example');
    assert.equal(knownHostsName('Lab1.Example', 22), 'lab1.example');
    assert.equal(knownHostsName('127.0.0.1', 2222), '[127.0.0.1]:2222');
    assert.equal(knownHostsName('::1', 22), '::1');
    assert.equal(knownHostsName('::1', 2200), '[::1]:2200');
  });
});

describe('parseKnownHosts', { skip }, () => {
  it('keeps line numbers, markers and skips what OpenSSH skips', () => {
    const ed = k('ed').pub;
    const [edType, edB64] = ed.split(' ') as [string, string];
    const text = [
      '# comment', // 1
      '', // 2
      `host1,host2 ${ed} comment words`, // 3
      `   \t[host3]:2222\t${ed}`, // 4
      `@revoked * ${ed}`, // 5
      `@cert-authority *.example.com ${k('ec256').pub}`, // 6
      `@bogus host ${ed}`, // 7: unknown marker
      `host4 ${edType}`, // 8: no key
      `host5 ssh-rsa ${edB64}`, // 9: type does not match the blob
      `host6 ${edType} !!!notbase64`, // 10
      'host7 1024 35 1234567890', // 11: SSH-1 RSA
      `host8 ${ed}\r`, // 12: CRLF
      `host9 ${edType} ${edB64.slice(0, 20)}`, // 13: truncated blob
    ].join('\n');
    const entries = parseKnownHosts(text, '/kh');
    assert.deepEqual(
      entries.map((e) => [e.line, e.marker ?? '', e.hosts, e.type]),
      [
        [3, '', 'host1,host2', 'ssh-ed25519'],
        [4, '', '[host3]:2222', 'ssh-ed25519'],
        [5, '@revoked', '*', 'ssh-ed25519'],
        [6, '@cert-authority', '*.example.com', 'ecdsa-sha2-nistp256'],
        [12, '', 'host8', 'ssh-ed25519'],
      ],
    );
    assert.ok(entries.every((e) => e.file === '/kh'));
    assert.ok(entries[0]?.blob.equals(k('ed').key.blob));
  });
});

describe('hostMatches', { skip }, () => {
  const patterns = [
    'plain.example.com',
    'alias1,alias2,ALIAS3.example.com',
    '*.wild.example,!bad.wild.example',
    'web??.example.net',
    '[10.0.0.5]:2222',
    '[*.ported.example]:2200,!*.ported.example',
    '10.1.*.*,!10.1.2.*',
    '!neg-only.example',
    '*',
  ];
  const names = [
    'plain.example.com',
    'plain.example.co',
    'xplain.example.com',
    'alias1',
    'alias2',
    'alias3.example.com',
    'ALIAS1',
    'a.wild.example',
    'x.y.wild.example',
    'bad.wild.example',
    'wild.example',
    'web01.example.net',
    'web1.example.net',
    '[10.0.0.5]:2222',
    '10.0.0.5',
    '[10.0.0.5]:22',
    '[a.ported.example]:2200',
    'a.ported.example',
    '10.1.9.9',
    '10.1.2.3',
    'neg-only.example',
    'anything',
  ];

  it('agrees with ssh-keygen -F on plain and wildcard entries', () => {
    const file = join(tmp, 'kh_patterns');
    writeFileSync(file, '# patterns\n' + patterns.map((p) => `${p} ${k('ed').pub}`).join('\n') + '\n');
    for (const name of names) {
      assert.deepEqual(ourFind(file, name), keygenFind(file, name), name);
    }
    // Spot checks of what the comparison covered.
    assert.equal(hostMatches('*.wild.example,!bad.wild.example', 'bad.wild.example'), false);
    assert.equal(hostMatches('*.wild.example,!bad.wild.example', 'good.wild.example'), true);
    assert.equal(hostMatches('!neg-only.example', 'other'), false, 'negation alone never matches');
    assert.equal(hostMatches('[10.0.0.5]:2222', '10.0.0.5'), false);
  });

  it('agrees with ssh-keygen -F on entries hashed by ssh-keygen -H', () => {
    const file = join(tmp, 'kh_hash');
    const plainNames = ['plain.example.com', 'alias1', 'alias2', '[10.0.0.5]:2222', '10.0.0.5', '[lab]:2200', 'ipv6::1'];
    writeFileSync(file, plainNames.map((n) => `${n} ${k('ed').pub}`).join('\n') + '\n');
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const hashed = parseKnownHosts(readFileSync(file, 'utf8'), file);
    assert.equal(hashed.length, plainNames.length);
    assert.ok(hashed.every((e) => e.hosts.startsWith('|1|')), 'ssh-keygen hashed every line');
    // Each hashed line matches its own name and no other.
    hashed.forEach((e, i) => {
      plainNames.forEach((n, j) => assert.equal(hostMatches(e.hosts, n), i === j, `${e.hosts} vs ${n}`));
    });
    for (const name of [...plainNames, 'Plain.Example.com', 'alias3', '[10.0.0.5]:2223', 'lab']) {
      assert.deepEqual(ourFind(file, name), keygenFind(file, name), name);
    }
  });

  it('treats malformed hashes as no match', () => {
    assert.equal(hostMatches('|1|bm90MjBieXRlcw==|AAAA', 'x'), false);
    assert.equal(hostMatches('|2|abc|def', 'x'), false);
    assert.equal(hostMatches('|1|', 'x'), false);
  });
});

describe('checkHostKey', { skip }, () => {
  const entriesFor = (lines: string[]): KnownHostsEntry[] => parseKnownHosts(lines.join('\n'), '/home/u/.ssh/known_hosts');

  it('knows a listed key, on the right port only', () => {
    const entries = entriesFor([`lab1,10.0.0.1 ${k('ed').pub}`, `[lab1]:2222 ${k('rsa').pub}`]);
    const v = checkHostKey(entries, 'lab1', 22, k('ed').key);
    assert.equal(v.status, 'known');
    assert.equal(v.status === 'known' && v.entry.line, 1);
    assert.equal(checkHostKey(entries, 'LAB1', 22, k('ed').key).status, 'known');
    assert.equal(checkHostKey(entries, 'lab1', 2222, k('rsa').key).status, 'known');
    // The port-22 entry says nothing about port 2200.
    assert.deepEqual(checkHostKey(entries, 'lab1', 2200, k('ed').key), { status: 'unknown' });
    assert.deepEqual(checkHostKey(entries, 'lab2', 22, k('ed').key), { status: 'unknown' });
  });

  it('matches hashed entries', () => {
    const file = join(tmp, 'kh_check_hashed');
    writeFileSync(file, `[lab1]:2222 ${k('ec256').pub}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
    assert.equal(checkHostKey(entries, 'lab1', 2222, k('ec256').key).status, 'known');
    assert.equal(checkHostKey(entries, 'lab1', 22, k('ec256').key).status, 'unknown');
  });

  it('reports a different key of the same type as changed', () => {
    const entries = entriesFor([`# x`, `lab1 ${k('rsa').pub}`, `lab1 ${k('ed').pub}`]);
    const v = checkHostKey(entries, 'lab1', 22, k('ed2').key);
    assert.equal(v.status, 'changed');
    assert.deepEqual(v.status === 'changed' && v.entries.map((e) => e.line), [3]);
  });

  it('reports a key type not in known_hosts as changed, not unknown', () => {
    const entries = entriesFor([`lab1 ${k('rsa').pub}`, `lab1 ${k('ec256').pub}`]);
    const v = checkHostKey(entries, 'lab1', 22, k('ed').key);
    assert.equal(v.status, 'changed');
    assert.deepEqual(v.status === 'changed' && v.entries.map((e) => e.type), ['ssh-rsa', 'ecdsa-sha2-nistp256']);
    // ecdsa keys of another curve are another type.
    assert.equal(checkHostKey(entries, 'lab1', 22, k('ec384').key).status, 'changed');
  });

  it('refuses revoked keys even when also listed as known', () => {
    const entries = entriesFor([`lab1 ${k('ed').pub}`, `@revoked * ${k('ed').pub}`, `@revoked other ${k('rsa').pub}`]);
    const v = checkHostKey(entries, 'lab1', 22, k('ed').key);
    assert.equal(v.status, 'revoked');
    assert.equal(v.status === 'revoked' && v.entry.line, 2);
    // A revocation for another host does not apply.
    assert.equal(checkHostKey(entriesFor([`lab1 ${k('rsa').pub}`, `@revoked other ${k('rsa').pub}`]), 'lab1', 22, k('rsa').key).status, 'known');
  });

  it('ignores @cert-authority lines for plain host keys', () => {
    const entries = entriesFor([`@cert-authority lab1 ${k('ed').pub}`]);
    assert.deepEqual(checkHostKey(entries, 'lab1', 22, k('ed').key), { status: 'unknown' });
    assert.deepEqual(knownKeyTypesFor(entries, 'lab1', 22), []);
  });

  it('applies wildcards and negation', () => {
    const entries = entriesFor([`*.lab,!evil.lab ${k('ed').pub}`]);
    assert.equal(checkHostKey(entries, 'web.lab', 22, k('ed').key).status, 'known');
    assert.equal(checkHostKey(entries, 'evil.lab', 22, k('ed').key).status, 'unknown');
  });
});

describe('knownKeyTypesFor', { skip }, () => {
  it('lists the algorithms for known types in OpenSSH preference order', () => {
    const entries = parseKnownHosts(
      [`lab1 ${k('rsa').pub}`, `lab1 ${k('ec384').pub}`, `lab1,lab2 ${k('ed').pub}`, `@revoked lab1 ${k('ec256').pub}`, `[lab1]:2222 ${k('ec256').pub}`].join('\n'),
      '/kh',
    );
    assert.deepEqual(knownKeyTypesFor(entries, 'lab1', 22), [
      'ssh-ed25519',
      'ecdsa-sha2-nistp384',
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    assert.deepEqual(knownKeyTypesFor(entries, 'lab1', 2222), ['ecdsa-sha2-nistp256']);
    assert.deepEqual(knownKeyTypesFor(entries, 'lab3', 22), []);
  });
});

describe('entriesFor (the index behind checkHostKey)', { skip }, () => {
  it('gives exactly the entries a scan with hostMatches gives, in file order', () => {
    const hashedFile = join(tmp, 'index_hashed');
    writeFileSync(hashedFile, `lab3 ${k('ed').pub}\nlab1 ${k('ec256').pub}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', hashedFile], { stdio: 'ignore' });
    const hashedLines = readFileSync(hashedFile, 'utf8').trim().split('\n');
    assert.ok(hashedLines.length === 2 && hashedLines.every((l) => l.startsWith('|1|')));
    const lines = [
      ...hashedLines,
      `lab1,Lab2 ${k('ed').pub}`,
      `*.example.com,!bad.example.com ${k('rsa').pub}`,
      `[127.0.0.1]:2222 ${k('ec256').pub}`,
      `@revoked lab1 ${k('rsa').pub}`,
      `lab?,lab10 ${k('ec256').pub}`,
      `LAB2 ${k('rsa').pub}`,
      `a,,b ${k('ed').pub}`,
    ];
    const entries = parseKnownHosts(lines.join('\n'), 'f');
    const names = ['lab1', 'lab2', 'lab10', 'lab3', 'www.example.com', 'bad.example.com', '[127.0.0.1]:2222', '127.0.0.1', 'a', 'b', '', 'nothing'];
    for (const name of names) {
      assert.deepEqual(
        entriesFor(entries, name).map((e) => e.line),
        entries.filter((e) => hostMatches(e.hosts, name)).map((e) => e.line),
        name,
      );
    }
  });
});

describe('loadKnownHosts and appendKnownHost', { skip }, () => {
  it('loads several files, skipping missing ones', async () => {
    const a = join(tmp, 'load_a');
    const b = join(tmp, 'load_b');
    writeFileSync(a, `lab1 ${k('ed').pub}\n`);
    writeFileSync(b, `# b\nlab2 ${k('rsa').pub}\n`);
    const entries = await loadKnownHosts([a, join(tmp, 'missing'), join(tmp, 'no-dir', 'x'), b]);
    assert.deepEqual(
      entries.map((e) => `${e.file}:${e.line}`),
      [`${a}:1`, `${b}:2`],
    );
  });

  it('reads a file once while it is unchanged, and again after an append', async () => {
    const file = join(tmp, 'cached');
    writeFileSync(file, `lab1 ${k('ed').pub}\n`);
    const first = await loadKnownHosts([file]);
    const missing = join(tmp, 'cached-missing');
    assert.equal(await loadKnownHosts([file]), first, 'the same parsed list while the file is unchanged');
    assert.equal(await loadKnownHosts([file, missing]), await loadKnownHosts([file, missing]), 'a missing file does not make the list new');
    await appendKnownHost(file, 'lab2', 22, k('rsa').key);
    const second = await loadKnownHosts([file]);
    assert.notEqual(second, first);
    assert.equal(checkHostKey(second, 'lab2', 22, k('rsa').key).status, 'known');
    assert.equal(checkHostKey(second, 'lab1', 22, k('ed').key).status, 'known');
  });

  it('loads started together share one read; a load started after an append sees it, even one raced by a load under way', async () => {
    const file = join(tmp, 'together');
    writeFileSync(file, `lab1 ${k('ed').pub}\n`);
    const [x, y, z] = await Promise.all([loadKnownHosts([file]), loadKnownHosts([file]), loadKnownHosts([file])]);
    assert.equal(x, y);
    assert.equal(y, z);
    // A load under way while the append runs is not handed to loads that start after the append.
    const during = loadKnownHosts([file]);
    await appendKnownHost(file, 'lab3', 22, k('rsa').key);
    const after = await loadKnownHosts([file]);
    await during;
    assert.equal(checkHostKey(after, 'lab3', 22, k('rsa').key).status, 'known');
    assert.equal(checkHostKey(after, 'lab1', 22, k('ed').key).status, 'known');
  });

  it('creates the directory (0700) and file (0600) and writes lines OpenSSH reads', async () => {
    const dir = join(tmp, 'new-ssh-dir');
    const file = join(dir, 'known_hosts');
    await appendKnownHost(file, 'Lab1', 22, k('ed').key);
    await appendKnownHost(file, '127.0.0.1', 2222, k('rsa').key);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8'), `lab1 ${k('ed').pub}\n[127.0.0.1]:2222 ${k('rsa').pub}\n`);
    assert.deepEqual(keygenFind(file, 'lab1'), [1]);
    assert.deepEqual(keygenFind(file, '[127.0.0.1]:2222'), [2]);
    const entries = await loadKnownHosts([file]);
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, k('rsa').key).status, 'known');
  });

  it('adds a missing final newline before appending', async () => {
    const file = join(tmp, 'no_newline');
    writeFileSync(file, `lab1 ${k('ed').pub}`);
    await appendKnownHost(file, 'lab2', 22, k('ed').key);
    assert.equal(readFileSync(file, 'utf8'), `lab1 ${k('ed').pub}\nlab2 ${k('ed').pub}\n`);
  });

  it('serializes concurrent appends and does not duplicate a key', async () => {
    const file = join(tmp, 'concurrent', 'known_hosts');
    const hosts = Array.from({ length: 40 }, (_, i) => `host${i}.lab`);
    const all = ['ed', 'ec256', 'rsa'] as const;
    await Promise.all([
      ...hosts.map((h, i) => appendKnownHost(file, h, i % 2 === 0 ? 22 : 2200, k(all[i % 3] as string).key)),
      // Parallel connections to the same host all accepting its new key: one line.
      ...Array.from({ length: 10 }, () => appendKnownHost(file, 'same.lab', 22, k('ed').key)),
    ]);
    const text = readFileSync(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, hosts.length + 1);
    assert.ok(text.endsWith('\n'));
    const entries = parseKnownHosts(text, file);
    assert.equal(entries.length, lines.length, 'every line is a well-formed entry');
    hosts.forEach((h, i) => {
      const key = k(all[i % 3] as string).key;
      assert.equal(checkHostKey(entries, h, i % 2 === 0 ? 22 : 2200, key).status, 'known', h);
    });
    assert.equal(lines.filter((l) => l.startsWith('same.lab ')).length, 1);
  });

  it('reports an unwritable known_hosts file as a hostkey error', async () => {
    const blocker = join(tmp, 'a-file');
    writeFileSync(blocker, '');
    await assert.rejects(appendKnownHost(join(blocker, 'known_hosts'), 'lab1', 22, k('ed').key), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.kind, 'hostkey');
      return true;
    });
  });
});

describe('hostKeyError', { skip }, () => {
  const KH = '/home/u/.ssh/known_hosts';

  it('explains an unknown key', () => {
    const key = k('ed').key;
    const err = hostKeyError({ status: 'unknown' }, '127.0.1.1', 22, key, [KH], 'lab1');
    assert.equal(err.kind, 'hostkey');
    assert.equal(err.host, 'lab1');
    assert.equal(
      err.message + ` (${err.hint})`,
      `host key for lab1 (127.0.1.1:22) is not known: ssh-ed25519 ${k('ed').fingerprint} (add it to ${KH} with ssh-keyscan after checking the fingerprint, or run with --accept-new-host-keys)`,
    );
    assert.match(hostKeyError({ status: 'unknown' }, '::1', 2222, key, []).message, /^host key for \[::1\]:2222 is not known/);
  });

  it('explains a changed key with the file:line and how to remove it', () => {
    const entries = parseKnownHosts(`# x\n[127.0.1.1]:2222 ${k('ed').pub}\n`, KH);
    const verdict = checkHostKey(entries, '127.0.1.1', 2222, k('ed2').key);
    const err = hostKeyError(verdict, '127.0.1.1', 2222, k('ed2').key, [KH], 'lab1');
    assert.equal(
      err.format(),
      `lab1: HOST KEY CHANGED for lab1 (127.0.1.1:2222): presented ssh-ed25519 ${k('ed2').fingerprint}, known_hosts ${KH}:2 has ssh-ed25519 ${k('ed').fingerprint}: possible man-in-the-middle; refusing to connect (if the host was rebuilt, remove the old key with ssh-keygen -R '[127.0.1.1]:2222' -f ${KH})`,
    );
    assert.doesNotMatch(err.format(), /accept-new/);
  });

  it('explains a key type that known_hosts does not have', () => {
    const entries = parseKnownHosts(`lab1 ${k('rsa').pub}\n`, KH);
    const err = hostKeyError(checkHostKey(entries, 'lab1', 22, k('ed').key), 'lab1', 22, k('ed').key, [KH]);
    assert.match(err.message, /^HOST KEY CHANGED for lab1:22: presented ssh-ed25519 SHA256:\S+, a key type not in known_hosts \(.*:1 .*only ssh-rsa\)/);
    assert.doesNotMatch(err.format(), /accept-new/);
  });

  it('explains a revoked key naming the file:line', () => {
    const entries = parseKnownHosts(`lab1 ${k('ed').pub}\n@revoked * ${k('ed').pub}\n`, KH);
    const err = hostKeyError(checkHostKey(entries, 'lab1', 22, k('ed').key), 'lab1', 22, k('ed').key, [KH]);
    assert.match(err.message, new RegExp(`REVOKED HOST KEY for lab1:22: presented ssh-ed25519 \\S+, which known_hosts ${KH}:2 marks @revoked`));
    assert.doesNotMatch(err.format(), /accept-new/);
  });
});
