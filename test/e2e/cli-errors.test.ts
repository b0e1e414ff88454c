// Bad input through the real CLI: one clear line naming the file (line:column) or the argument,
// exit 1, no stack trace, and no connection attempted.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
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

  // Ansible skips an unknown key in a group with a warning, and so does lanes (issue 10).
  it('an unknown key in an inventory group is skipped with Ansible\'s warning, once', async () => {
    const inv = file('unknown-key.yml', 'all:\n  hosts:\n    web1:\n  host_vars:\n    x: 1\n');
    const r = await runCli(['inventory', '-i', inv, '--list']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '[WARNING]: Skipping unexpected key (host_vars) in group (all), only "vars", "children" and "hosts" are valid\n');
    assert.match(r.stdout, /"web1"/);
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

  describe('hostile input is refused with one located line, never a crash', () => {
    const bomb = (): string => {
      const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]`);
      return `all:\n  vars:\n${lines.map((l) => `    ${l}`).join('\n')}\n  hosts:\n    web1:\n`;
    };
    const deep = (n: number) => `all:\n  vars:\n    x: ${'{a: '.repeat(n)}1${'}'.repeat(n)}\n  hosts:\n    web1:\n`;
    const cases: [string, () => string, RegExp][] = [
      ['a YAML alias bomb of a few hundred bytes', () => file('bomb.yml', bomb()), /bomb\.yml:3:5: YAML aliases here expand into a value too large to read/],
      ['a host range of a hundred million hosts', () => file('range.yml', 'all:\n  hosts:\n    web[0:99999999]:\n'), /range\.yml:3:5: invalid host range .*100,000,000 hosts; lanes expands at most 100,000/],
      ['nested ranges multiplying past the cap', () => file('nested.yml', 'all:\n  hosts:\n    w[0:999]-[0:999]:\n'), /nested\.yml:3:5: invalid host range .*more than 100,000 hosts/],
      ['a mapping nested 3000 levels deep', () => file('deep.yml', deep(3000)), /deep\.yml:3:\d+: YAML nested more than 64 levels deep/],
      ['a mapping nested 100 levels deep', () => file('deep100.yml', deep(100)), /deep100\.yml:3:\d+: YAML nested more than 64 levels deep/],
      [
        'a group_vars directory linked to itself',
        () => {
          const dir = path.join(tmp, 'loop');
          mkdirSync(path.join(dir, 'group_vars'), { recursive: true });
          symlinkSync('.', path.join(dir, 'group_vars', 'all'));
          writeFileSync(path.join(dir, 'hosts.yml'), 'all:\n  hosts:\n    web1:\n');
          return path.join(dir, 'hosts.yml');
        },
        /group_vars\/all.*is a symbolic link loop/,
      ],
      [
        'a group_vars file linked to itself',
        () => {
          const dir = path.join(tmp, 'loop2');
          mkdirSync(path.join(dir, 'group_vars'), { recursive: true });
          symlinkSync('all.yml', path.join(dir, 'group_vars', 'all.yml'));
          writeFileSync(path.join(dir, 'hosts.yml'), 'all:\n  hosts:\n    web1:\n');
          return path.join(dir, 'hosts.yml');
        },
        /group_vars\/all\.yml: cannot read .*all\.yml: a symbolic link loop/,
      ],
    ];
    for (const [what, make, expected] of cases) {
      it(what, async () => assertUserError(await runCli(['inventory', '-i', make(), '--list']), expected));
    }

    it('a playbook with a key twice (the first list would be silently lost) names both places', async () => {
      const inv = file('one.yml', 'all:\n  hosts:\n    web1: { ansible_host: 127.0.0.1 }\n');
      const book = file('dup.yml', '- hosts: all\n  files:\n    - { path: /etc/a, content: a }\n  files:\n    - { path: /etc/b, content: b }\n');
      assertUserError(await runCli(['plan', book, '-i', inv]), /dup\.yml:4:3: key "files" appears twice in this mapping; the first is at line 2, column 3/);
    });

    it('a legitimate anchor used by 500 hosts is fine', async () => {
      const hosts = Array.from({ length: 500 }, (_, i) => `    web${i}: { <<: *d }\n`).join('');
      const inv = file('anchors.yml', `all:\n  vars:\n    base: &d { ansible_user: deploy }\n  hosts:\n${hosts}`);
      const r = await runCli(['inventory', '-i', inv, '--list']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((r.stdout.match(/"ansible_user": "deploy"/g) ?? []).length, 1000);
    });
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
    // As ansible-inventory 2.14 prints it: declaration order, ungrouped first.
    assert.equal(g.stdout, '@all:\n  |--@ungrouped:\n  |--@app:\n  |  |--app1\n  |  |--app2\n  |--@db:\n  |  |--db1\n');
    const l = await runCli(['inventory', '-i', inv, '--list']);
    assert.equal(l.code, 0, l.stderr);
    const list = JSON.parse(l.stdout) as { _meta: { hostvars: Record<string, { tier: string }> }; app: { hosts: string[] } };
    assert.deepEqual(list.app.hosts, ['app1', 'app2']);
    assert.equal(list._meta.hostvars.app1!.tier, 'app');
    assert.equal(list._meta.hostvars.db1!.tier, 'base');
  });
});
