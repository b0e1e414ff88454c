// Bad input through the real CLI: one clear line naming the file (line:column) or the argument,
// exit 1, no stack trace, and no connection attempted.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { runCli } from '../support/cli.js';
import { cliPath } from '../support/paths.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-cli-errors-'));

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  writeFileSync(p, text);
  return p;
}

function assertUserError(r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp) {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('CLI input errors', () => {
  it('a malformed YAML inventory names file:line:column', async () => {
    const inv = file('broken.yml', 'all:\n  hosts:\n    web1:\n      ansible_host: [1, 2\n');
    assertUserError(await runCli(['ping', '-i', inv]), new RegExp(`^lanes: ${inv.replace(/\./g, '\\.')}:\\d+:\\d+: `));
  });

  it('an unknown key in an inventory group names its position and the allowed keys', async () => {
    const inv = file('unknown-key.yml', 'all:\n  hosts:\n    web1:\n  host_vars:\n    x: 1\n');
    assertUserError(await runCli(['ping', '-i', inv]), new RegExp(`${inv.replace(/\./g, '\\.')}:4:3: .*hosts.*children.*vars`));
  });

  it('an invalid ansible_port names file:line:column, before any connection', async () => {
    const inv = file('bad-port.yml', 'all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n      ansible_port: "22x"\n');
    assertUserError(await runCli(['ping', '-i', inv]), new RegExp(`^lanes: ${inv.replace(/\./g, '\\.')}:5:21: ansible_port must be a port number from 1 to 65535, got "22x"`));
  });

  it('output to a closed pipe ends quietly: no EPIPE stack trace', async () => {
    // Like `lanes schema | head -c 1`: the reader goes away after the first chunk.
    const child = spawn(process.execPath, [cliPath, 'schema'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let got = 0;
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', (d: Buffer) => {
      got = d.length;
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.ok(got > 0, 'the reader got the first chunk');
    assert.equal(stderr, '', 'nothing on stderr');
    assert.equal(code, 0);
  });

  it('a missing inventory file is named', async () => {
    assertUserError(await runCli(['ping', '-i', path.join(tmp, 'nope.yml')]), /nope\.yml/);
  });

  it('no inventory at all says how to give one', async () => {
    assertUserError(await runCli(['ping'], { env: { LANES_INVENTORY: '' } }), /no inventory given .*-i INVENTORY/);
  });

  it('a pattern matching nothing is refused, naming the pattern', async () => {
    const inv = file('ok.yml', 'all:\n  children:\n    web:\n      hosts:\n        web1:\n');
    assertUserError(await runCli(['ping', 'dbservers', '-i', inv]), /"dbservers" matches no host or group/);
  });

  it('an unknown command or option is a usage error', async () => {
    assertUserError(await runCli(['pingg']), /Unknown argument|Did you mean/i);
    assertUserError(await runCli(['ping', '--no-such-option']), /Unknown argument/i);
  });

  it('a bad connection variable names the host', async () => {
    const inv = file('badbecome.yml', 'all:\n  hosts:\n    web1:\n      ansible_become: perhaps\n');
    assertUserError(await runCli(['ping', '-i', inv]), /web1: ansible_become must be/);
  });
});

describe('lanes inventory', () => {
  it('--graph and --list show groups and effective variables', async () => {
    const inv = file(
      'graph.yml',
      'all:\n  vars:\n    tier: base\n  children:\n    app:\n      vars:\n        tier: app\n      hosts:\n        app1:\n        app2:\n    db:\n      hosts:\n        db1:\n',
    );
    const g = await runCli(['inventory', '-i', inv, '--graph']);
    assert.equal(g.code, 0, g.stderr);
    assert.equal(g.stdout, '@all:\n  |--@app:\n  |  |--app1\n  |  |--app2\n  |--@db:\n  |  |--db1\n  |--@ungrouped:\n');
    const l = await runCli(['inventory', '-i', inv, '--list']);
    assert.equal(l.code, 0, l.stderr);
    const list = JSON.parse(l.stdout) as { _meta: { hostvars: Record<string, { tier: string }> }; app: { hosts: string[] } };
    assert.deepEqual(list.app.hosts, ['app1', 'app2']);
    assert.equal(list._meta.hostvars.app1!.tier, 'app');
    assert.equal(list._meta.hostvars.db1!.tier, 'base');
  });
});
