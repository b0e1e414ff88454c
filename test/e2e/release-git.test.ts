// `lanes release --artifact git:REF` end to end on a lab host, through the real CLI: the release is
// the committed tree of a temporary git repository holding the sample app (not its dirty work tree),
// packed in-process; the commit is in the --json events; a bad ref or a directory outside any
// repository fails in one line before any connection, leaving the host as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { jsonEvents, runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { copySampleApp } from './support/sample-app.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-release-git-'));
/** A git repository: the sample app at its root, the playbooks in ops/ (so the default repo is this one). */
const repo = path.join(tmp, 'app');
const site = path.join(repo, 'ops', 'site.yml');
let lab: EnsuredLab;
let host: string;
let address: string;
let commit: string;

function git(...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=lanes e2e', '-c', 'user.email=e2e@lanes.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd: repo, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function served(): Promise<string> {
  const res = await fetch(`http://${address}/`);
  return ((await res.json()) as { release: string }).release;
}

const currentOf = async () => (await onHost(lab, host, 'readlink /var/www/app/current')).trim();

before(async () => {
  lab = await ensureLab(1);
  host = lab.hosts[0]!.name;
  address = lab.hosts[0]!.address;
  copySampleApp(repo, { version: 'committed' });
  mkdirSync(path.join(repo, 'ops'));
  cpSync(path.join(repoRoot, 'playbooks', 'site.yml'), site);
  cpSync(path.join(repoRoot, 'playbooks', 'templates'), path.join(repo, 'ops', 'templates'), { recursive: true });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'sample app');
  git('tag', 'v1');
  commit = git('rev-parse', 'HEAD');
  // The work tree now differs from the commit; a BROKEN file would fail the health gate if it were shipped.
  writeFileSync(path.join(repo, 'VERSION'), 'dirty\n');
  writeFileSync(path.join(repo, 'BROKEN'), 'yes\n');
  const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', host, '--yes']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

describe('lanes release --artifact git:REF', { concurrency: false }, () => {
  it('ships the committed tree of the playbook\'s repository and reports the commit', async () => {
    const id = (await readArtifact('git:HEAD', { repo })).id;
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', host, '--artifact', 'git:HEAD', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const events = jsonEvents(r.stdout);
    const said = events.find((e) => e.type === 'message' && e.code === 'artifact') as { data: { id: string; source: { kind: string; commit: string; ref: string } } } | undefined;
    assert.ok(said, `an artifact event: ${r.stdout}`);
    assert.equal(said.data.id, id);
    assert.deepEqual({ kind: said.data.source.kind, ref: said.data.source.ref, commit: said.data.source.commit }, { kind: 'git', ref: 'HEAD', commit });
    const end = events.find((e) => e.type === 'run-end') as { ok: boolean } | undefined;
    assert.equal(end?.ok, true);

    assert.equal(await currentOf(), `releases/${id}`);
    assert.equal(await served(), id, 'the host serves the git release');
    assert.equal((await onHost(lab, host, 'cat /var/www/app/current/VERSION')).trim(), 'committed');
    assert.equal((await onHost(lab, host, 'test -e /var/www/app/current/BROKEN && echo yes || echo no')).trim(), 'no', 'nothing from the work tree');
  });

  it('the same commit by a tag, with --repo, is the same release (already live); the text report names the commit', async () => {
    const id = (await readArtifact('git:HEAD', { repo })).id;
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', host, '--artifact', 'git:v1', '--repo', path.join(repo, 'ops')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /already live/);
    assert.match(r.stdout, new RegExp(`release ${id} \\(git commit ${commit}\\)`));
    assert.equal(await currentOf(), `releases/${id}`);
  });

  it('an unknown ref or a directory outside any repository: one line, exit 1, no connection, host untouched', async () => {
    const before = await currentOf();
    const outside = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-nogit-'));
    for (const [args, re] of [
      [['--artifact', 'git:no-such-tag'], /release artifact git:no-such-tag: no commit no-such-tag in the git repository/],
      [['--artifact', 'git:HEAD', '--repo', outside], /release artifact git:HEAD: .* is not in a git repository/],
    ] as const) {
      const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', host, ...args, '--json']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').filter((l) => /release artifact/.test(l)).length, 1, r.stderr);
      assert.doesNotMatch(r.stdout, /run-start/, 'no run started: nothing connected');
    }
    assert.equal(await currentOf(), before);
    assert.equal((await onHost(lab, host, 'ls /var/www/app/releases | grep -c tmp- || true')).trim(), '0');
  });
});
