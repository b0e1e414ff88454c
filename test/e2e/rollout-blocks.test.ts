// The release building blocks against one real lab host, through lanes' own SSH transport with sudo:
// artifact upload + unpack (files, owner, shared links, marker), idempotent re-release, a corrupted
// upload refused by its checksum, current/prune, and the lock lease (held, expired take-over, release).
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FramedScript } from '../../agent/remote/sh.js';
import {
  currentReleaseScript,
  EXIT_CHECKSUM_MISMATCH,
  parseCurrentRelease,
  parsePruneOutput,
  parseUnpackOutput,
  pruneScript,
  readArtifact,
  unpackScript,
  type Artifact,
} from '../../agent/rollout/artifact.js';
import {
  acquireScript,
  breakScript,
  lockHeldError,
  newLease,
  parseLockChange,
  parseLockOutput,
  type LockScriptOutput,
  releaseScript,
  serializeLease,
  type Lease,
} from '../../agent/rollout/lock.js';
import type { ReleaseSpec } from '../../agent/rollout/types.js';
import { SshConnection } from '../../agent/transport/connection.js';
import { resolveTarget } from '../../agent/transport/target.js';
import { fixturesDir } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { bareReleaseSpec } from '../support/release-spec.js';

const ROOT = '/var/www/lanes-e2e-blocks';
/** A lease file of this test's own (hosts' real one is LEASE_FILE, /var/lib/lanes/lease). */
const LOCK = `${ROOT}/.lanes-e2e.lease`;
const HOUR = 3600_000;

let lab: EnsuredLab;
let host: string;
let conn: SshConnection;
/** Run a lease script as root; its output and nonce, as the parsers take them. */
async function lockRun(script: FramedScript): Promise<[LockScriptOutput, string]> {
  return [await conn.run(script.text, { become: true }), script.nonce];
}
let tmp: string;
let v1: Artifact;

const spec: ReleaseSpec = bareReleaseSpec(ROOT, { keep: 1, shared: ['storage', '.env'], owner: 'www-data', group: 'www-data', health: { timeoutMs: 5000 }, lockTtlMs: HOUR });

/** A copy of the fixture app with a unique marker file, so each run makes fresh ids. */
async function artifact(name: string, extra: string): Promise<Artifact> {
  const dir = path.join(tmp, name);
  cpSync(path.join(fixturesDir, 'rollout', 'app'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'VERSION'), `${extra}\n`);
  return readArtifact(dir);
}

async function unpack(a: Pick<Artifact, 'id' | 'sha256'>, bytes: Buffer) {
  const script = unpackScript(spec, a);
  return { ...(await conn.exec(script.text, { stdin: bytes, become: true, timeoutMs: 60_000 })), nonce: script.nonce };
}

async function root(script: string): Promise<string> {
  return onHost(lab, host, script);
}

function lease(holder: string, over: Partial<Lease> = {}, now = Date.now()): Lease {
  return { ...newLease({ operation: 'release', ttlMs: HOUR, holder, from: 'e2e-runner', pid: 4242, now }), ...over };
}

before(async () => {
  lab = await ensureLab(3);
  host = lab.hosts[0]!.name;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-blocks-'));
  conn = await SshConnection.open(
    resolveTarget(host, {
      ansible_host: lab.hosts[0]!.address,
      ansible_user: 'lanes',
      ansible_ssh_private_key_file: lab.keyFile,
      ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile}`,
    }),
  );
  await root(`rm -rf ${ROOT}`);
  const run = `${process.pid}-${Date.now()}`;
  v1 = await artifact('v1', `v1 ${run}`);
});

after(async () => {
  try {
    if (lab) await root(`rm -rf ${ROOT}`);
  } finally {
    conn?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
});

describe('artifact upload and unpack on a lab host', () => {
  it('unpacks a real artifact as www-data, seeding shared/ and linking it, without touching current', async () => {
    const r = await unpack(v1, v1.bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parseUnpackOutput(r.stdout, r.nonce), { status: 'unpacked', seeded: ['storage'], missingShared: ['.env'] });

    const rel = `${ROOT}/releases/${v1.id}`;
    const seen = await root(
      [
        `cat ${rel}/public/index.php | head -n 1`,
        `stat -c '%U:%G %a' ${rel}/src/Hello.php ${rel}`,
        `readlink ${rel}/storage ${rel}/.env`,
        `cat ${rel}/storage/logs/README`,
        `stat -c '%U' ${ROOT}/shared/storage/logs/README`,
        `cat ${rel}/.lanes-release`,
        `test -e ${ROOT}/current && echo has-current || echo no-current`,
        `ls -A ${ROOT}/releases`,
      ].join('; '),
    );
    const lines = seen.trim().split('\n');
    assert.equal(lines[0], '<?php');
    assert.equal(lines[1], 'www-data:www-data 644');
    assert.equal(lines[2], 'www-data:www-data 755');
    assert.equal(lines[3], `${ROOT}/shared/storage`);
    assert.equal(lines[4], `${ROOT}/shared/.env`);
    assert.equal(lines[5], 'seeded by the first release');
    assert.equal(lines[6], 'www-data');
    assert.equal(lines[7], `id=${v1.id}`);
    assert.equal(lines[8], `sha256=${v1.sha256}`);
    assert.match(lines[9]!, /^date=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(lines[10], 'no-current');
    assert.equal(lines[11], v1.id, 'no temporary left behind');
  });

  it('answers exists for the same artifact and changes nothing', async () => {
    const before = await root(`find ${ROOT} -printf '%p %T@\\n' | sort`);
    const r = await unpack(v1, v1.bytes);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseUnpackOutput(r.stdout, r.nonce).status, 'exists');
    assert.equal(await root(`find ${ROOT} -printf '%p %T@\\n' | sort`), before);
  });

  it('refuses a corrupted upload by its checksum, leaving no release and no temporary', async () => {
    const v2 = await artifact('v2-corrupt', 'corrupt');
    const bad = Buffer.from(v2.bytes);
    bad[100] = bad[100]! ^ 0x01;
    const r = await unpack(v2, bad);
    assert.equal(r.code, EXIT_CHECKSUM_MISMATCH);
    assert.match(r.stderr, new RegExp(`checksum mismatch: the upload has sha256 [0-9a-f]{64}, expected ${v2.sha256}`));
    assert.equal((await root(`ls -A ${ROOT}/releases`)).trim(), v1.id);
  });

  it('reads current and the releases, and prunes beyond keep without touching the live one', async () => {
    await root(`ln -sfn ${ROOT}/releases/${v1.id} ${ROOT}/current`);
    const v2 = await artifact('v2', 'v2');
    const v3 = await artifact('v3', 'v3');
    for (const a of [v2, v3]) {
      const r = await unpack(a, a.bytes);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseUnpackOutput(r.stdout, r.nonce).seeded, [], 'shared/ is seeded only once');
    }
    const read = currentReleaseScript(spec);
    const cur = parseCurrentRelease((await conn.run(read.text, { become: true })).stdout, read.nonce);
    assert.equal(cur.current, v1.id);
    assert.deepEqual(
      cur.releases.map((x) => x.id),
      [v1.id, v2.id, v3.id],
    );
    // keep 1: v3 is the newest, v1 is live; v2 goes.
    const prune = pruneScript(spec, []);
    const pruned = await conn.run(prune.text, { become: true });
    assert.deepEqual(parsePruneOutput(pruned.stdout, prune.nonce), [v2.id]);
    assert.deepEqual((await root(`ls -A ${ROOT}/releases`)).trim().split('\n').sort(), [v1.id, v3.id].sort());
    assert.equal((await root(`cat ${ROOT}/current/VERSION`)).trim().split(' ')[0], 'v1');
  });
});

describe('release lock lease on a lab host', () => {
  it('acquires, refuses another holder with a clear error, and round-trips an awkward holder name', async () => {
    const alice = lease(`alice "o'brien" smith`);
    const a = parseLockOutput(...(await lockRun(acquireScript(LOCK, alice))));
    assert.equal(a.status, 'acquired');
    assert.equal((await root(`cat ${LOCK}`)).trim(), serializeLease(alice));

    const b = parseLockOutput(...(await lockRun(acquireScript(LOCK, lease('bob', { pid: 1 })))));
    assert.equal(b.status, 'held');
    assert.deepEqual(b.holder, alice);
    const err = lockHeldError(host, b.holder!);
    assert.match(err.format(), new RegExp(`^${host}: host locked by alice "o'brien" smith@e2e-runner \\(pid 4242, operation release\\) since .*--break-lock if that run is gone\\)$`));

    const notOurs = parseLockChange(...(await lockRun(releaseScript(LOCK, lease('bob')))));
    assert.equal(notOurs.status, 'not-ours');
    assert.equal(parseLockChange(...(await lockRun(releaseScript(LOCK, alice)))).status, 'released');
    assert.equal((await root(`test -e ${LOCK} && echo yes || echo no`)).trim(), 'no');
  });

  it('takes over an expired lock (a cancelled CI job) and reports it; break removes any lock', async () => {
    const cancelled = lease('github:acme/shop/run/991', {}, Date.now() - 3 * HOUR);
    await lockRun(acquireScript(LOCK, cancelled));
    const bob = lease('bob');
    const out = parseLockOutput(...(await lockRun(acquireScript(LOCK, bob))));
    assert.equal(out.status, 'acquired-expired');
    assert.deepEqual(out.holder, cancelled);
    assert.equal((await root(`cat ${LOCK}`)).trim(), serializeLease(bob));

    const broken = parseLockChange(...(await lockRun(breakScript(LOCK))));
    assert.equal(broken.status, 'broken');
    assert.deepEqual(broken.lease, bob);
    assert.equal((await root(`test -e ${LOCK} && echo yes || echo no`)).trim(), 'no');
  });
});
