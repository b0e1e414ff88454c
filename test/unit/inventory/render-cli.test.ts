// `lanes inventory` as a user runs it (the built CLI in a child process): ansible-inventory's
// arguments — one action, GROUP as a positional, --output — and lanes' own --limit.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { fixture } from './helpers.js';

const inv = fixture('render/views/repeat.ini');
const expected = (name: string): string => readFileSync(fixture(`render/expected/${name}.txt`), 'utf8');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-inventory-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('lanes inventory (CLI)', () => {
  it('takes the --graph group as a positional, like ansible-inventory, and as --group', async () => {
    for (const args of [['--graph', 'b'], ['--graph', '--group', 'b']]) {
      const r = await runCli(['inventory', '-i', inv, ...args]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, expected('views_repeat.ini_graph_b'));
      assert.equal(r.stderr, '');
    }
  });

  it('prints --list -y and --host exactly as ansible-inventory', async () => {
    const list = await runCli(['inventory', '-i', inv, '--list', '-y']);
    assert.equal(list.stdout, expected('views_repeat.ini_list_y'));
    const host = await runCli(['inventory', '-i', inv, '--host', 'c*']);
    assert.equal(host.stdout, expected('views_repeat.ini_host_c'));
  });

  it('--output writes the file and prints nothing', async () => {
    const out = path.join(tmp, 'list.json');
    const r = await runCli(['inventory', '-i', inv, '--list', '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(`${readFileSync(out, 'utf8')}\n`, expected('views_repeat.ini_list'));
  });

  it('refuses two actions, no action, --limit with an action, and --toml: one line, exit 1', async () => {
    const cases: [string[], RegExp][] = [
      [['--list', '--graph'], /^lanes: only one of --list, --graph or --host can be used at a time/],
      [['--graph', '--host', 'c1'], /^lanes: only one of --list, --graph or --host/],
      [[], /^lanes: no action: give --list, --graph, --host HOST or --limit PATTERN/],
      [['--list', '--limit', 'b'], /^lanes: --limit goes alone: ansible-inventory takes no --limit/],
      [['--list', '--toml'], /^lanes: --toml is not offered/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(['inventory', '-i', inv, ...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });

  it('--limit alone prints the hosts the pattern selects', async () => {
    const r = await runCli(['inventory', '-i', inv, '--limit', 'a']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'c1\n');
  });
});
