// `lanes run` on the lab's 3 hosts through the real CLI: identical output shown once with its hosts,
// different outputs per host, a failing host (exit 1, its exit code and output shown), --once,
// --become vs --as vs neither, --cwd, --release (current release, its owner, its environment), and the two ways a command is stopped — --timeout and Ctrl-C —
// each checked on the host: the command and its background child are gone.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonEvents, runCli } from '../support/cli.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { startCli } from './support/spawn.js';

let lab: EnsuredLab;
let names: string[];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-run-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

before(async () => {
  lab = await ensureLab(3);
  names = lab.hosts.slice(0, 3).map((h) => h.name);
});

const run = (args: string[]) => runCli(['run', names.join(':'), '-i', lab.inventoryFile, ...args]);

/** Whether the pid written to `file` on `host` is dead within 10 s (process gone, or a zombie). */
async function deadOnHost(host: string, file: string): Promise<boolean> {
  const out = await onHost(
    lab,
    host,
    `p=$(cat ${file}); for i in $(seq 100); do s=$(sed -n 's/^State:[[:space:]]*\\(.\\).*/\\1/p' /proc/$p/status 2>/dev/null); if [ -z "$s" ] || [ "$s" = Z ]; then echo dead; exit 0; fi; sleep 0.1; done; echo alive`,
  );
  return out.trim() === 'dead';
}

describe('lanes run', { concurrency: false }, () => {
  it('identical output on 3 hosts is shown once with the list of hosts; exit 0', async () => {
    const r = await run(['--', 'echo', 'same', 'everywhere']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `${names.join(', ')}: exit 0\n  same everywhere\n3 ok, 0 failed\n`);
  });

  it('different outputs are shown per host', async () => {
    const r = await run(['--', 'uname -n']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const n of names) assert.match(r.stdout, new RegExp(`^${n}: exit 0\\n  ${n}$`, 'm'));
  });

  it('a failing host: exit 1, its exit code and its output shown, the others grouped', async () => {
    const bad = names[2]!;
    const r = await run(['--', `if [ "$(uname -n)" = ${bad} ]; then echo boom >&2; exit 7; fi; echo fine`]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${names[0]}, ${names[1]}: exit 0\\n  fine\\n`, 'm'));
    assert.match(r.stdout, new RegExp(`^${bad}: exit 7\\n  stderr:\\n    boom\\n`, 'm'));
    assert.match(r.stdout, new RegExp(`2 ok, 1 failed \\(${bad}\\)`));
    // The per-host failure line on stderr names the host and the exit code too.
    assert.match(r.stderr, new RegExp(`${bad}.*exit 7`));
  });

  it('--once runs on the first matching host only; --json carries its result', async () => {
    const r = await run(['--once', '--json', '--', 'uname -n']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const ends = jsonEvents(r.stdout).filter((e) => e.type === 'host-end') as unknown as { host: string; data: { code: number; stdout: string } }[];
    assert.deepEqual(
      ends.map((e) => [e.host, e.data.code, e.data.stdout]),
      [[names[0], 0, `${names[0]}\n`]],
    );
  });

  it('without become it runs as the login user, --become as root, --as USER as that user; --cwd', async () => {
    // The lab inventory escalates by default: a copy that says nothing about it.
    const plain = path.join(tmp, 'plain.yml');
    writeFileSync(plain, readFileSync(lab.inventoryFile, 'utf8').replace('    ansible_become: true\n', ''));
    assert.doesNotMatch(readFileSync(plain, 'utf8'), /ansible_become/);
    const as = (extra: string[]) => runCli(['run', names[0]!, '-i', plain, ...extra, '--', 'id -un; pwd']);
    const login = await as([]);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /^ {2}lanes$/m);
    const root = await as(['--become']);
    assert.match(root.stdout, /^ {2}root$/m);
    const www = await as(['--as', 'www-data', '--cwd', '/tmp']);
    assert.equal(www.code, 0, www.stderr);
    assert.match(www.stdout, /^ {2}www-data\n {2}\/tmp$/m);
    // --as wins over the inventory's own become settings (the lab's inventory escalates to root).
    const over = await runCli(['run', names[0]!, '-i', lab.inventoryFile, '--as', 'www-data', '--', 'id -un']);
    assert.match(over.stdout, /^ {2}www-data$/m);
  });

  it('--release runs in the current release as its owner, with the release environment', async () => {
    const pb = path.join(tmp, 'release.yml');
    writeFileSync(pb, '- hosts: app\n  release:\n    path: /srv/lanes-run-app\n    owner: www-data\n    group: www-data\n');
    const [live, none] = [names[0]!, names[1]!];
    await onHost(lab, live, 'rm -rf /srv/lanes-run-app && mkdir -p /srv/lanes-run-app/releases/r1abc && ln -s releases/r1abc /srv/lanes-run-app/current');
    await onHost(lab, none, 'rm -rf /srv/lanes-run-app');
    try {
      const r = await runCli(['run', `${live}:${none}`, '-i', lab.inventoryFile, '--release', pb, '--cwd', 'current', '--', 'id -un; pwd; echo "$LANES_RELEASE_ID $LANES_RELEASE_DIR $LANES_HOST"']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^${live}: exit 0\\n  www-data\\n  /srv/lanes-run-app/current\\n  r1abc /srv/lanes-run-app/releases/r1abc ${live}\\n`, 'm'));
      assert.match(r.stdout, new RegExp(`^${none}: exit 1\\n  stderr:\\n    lanes: /srv/lanes-run-app/current does not exist: no release is live on this host`, 'm'));
    } finally {
      await Promise.all([live, none].map((n) => onHost(lab, n, 'rm -rf /srv/lanes-run-app')));
    }
  });

  it('--timeout kills the remote command and its children: exit 1, the host named', async () => {
    const host = names[1]!;
    const r = await runCli([
      'run',
      host,
      '-i',
      lab.inventoryFile,
      '--timeout',
      '3',
      '--',
      'echo $$ > /tmp/lanes-run-t.pid; sleep 300 & echo $! > /tmp/lanes-run-t.child; wait',
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${host}: failed: timed out after 3s`, 'm'));
    assert.ok(await deadOnHost(host, '/tmp/lanes-run-t.pid'), 'the command shell was killed');
    assert.ok(await deadOnHost(host, '/tmp/lanes-run-t.child'), 'its background sleep was killed');
  });

  it('Ctrl-C kills the remote commands (their process groups) and exits 130', async () => {
    await Promise.all(names.map((n) => onHost(lab, n, 'rm -f /tmp/lanes-run-c.pid /tmp/lanes-run-c.child')));
    const cli = startCli([
      'run',
      names.join(':'),
      '-i',
      lab.inventoryFile,
      '--json',
      '--',
      'sleep 300 & echo $! > /tmp/lanes-run-c.child; echo $$ > /tmp/lanes-run-c.pid; wait',
    ]);
    for (const n of names) await cli.waitFor((e) => e.type === 'step-start' && e.host === n && e.step === 'exec');
    // Every host has started the command (its pid files are written).
    for (const n of names) {
      await onHost(lab, n, 'for i in $(seq 100); do [ -s /tmp/lanes-run-c.pid ] && [ -s /tmp/lanes-run-c.child ] && exit 0; sleep 0.1; done; exit 1');
    }
    cli.kill('SIGINT');
    const done = await cli.done;
    assert.equal(done.code, 130, done.stdout + done.stderr);
    for (const n of names) {
      assert.ok(await deadOnHost(n, '/tmp/lanes-run-c.pid'), `${n}: the command was killed`);
      assert.ok(await deadOnHost(n, '/tmp/lanes-run-c.child'), `${n}: its background sleep was killed`);
    }
  });
});
