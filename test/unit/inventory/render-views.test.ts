// `lanes inventory` (showInventory) against ansible-inventory 2.14 itself: every case of
// test/fixtures/inventory/render/views.json was run through the real ansible-inventory by
// record-views.py there, and lanes must print the same bytes.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { showInventory, type ShowInventoryOptions } from '../../../agent/inventory/index.js';
import { expectLanesError, fixture } from './helpers.js';

const dir = (rel: string): string => fixture(`render/${rel}`);

interface Case {
  inventory: string;
  args: string[][];
  /** The warnings ansible-inventory printed for this inventory (without "[WARNING]: "). */
  warnings?: string[];
}

/** ansible-inventory's arguments as showInventory options (the few the cases use). */
function optionsFor(inventory: string, args: string[]): ShowInventoryOptions {
  const o: ShowInventoryOptions = { inventory: [dir(inventory)], view: 'list' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--list') o.view = 'list';
    else if (a === '--graph') o.view = 'graph';
    else if (a === '--host') {
      o.view = 'host';
      o.host = args[++i];
    } else if (a === '--vars') o.vars = true;
    else if (a === '-y') o.format = 'yaml';
    else if (a === '--export') o.export = true;
    else if (a !== undefined && !a.startsWith('-')) o.group = a;
    else throw new Error(`test: unknown argument ${a}`);
  }
  return o;
}

const slug = (text: string): string => text.replace(/[^A-Za-z0-9.]+/g, '_').replace(/^_+|_+$/g, '');

describe('showInventory prints what ansible-inventory prints', () => {
  const cases = JSON.parse(readFileSync(dir('views.json'), 'utf8')) as Case[];
  for (const c of cases) {
    for (const args of c.args) {
      it(`${c.inventory}: ${args.join(' ')}`, async () => {
        const expected = readFileSync(dir(`expected/${slug(`${c.inventory}__${args.join(' ')}`)}.txt`), 'utf8');
        const shown = await showInventory(optionsFor(c.inventory, args));
        assert.equal(shown.stdout, expected);
        // ansible-inventory's [WARNING] lines for this inventory (recorded with the outputs).
        assert.deepEqual(shown.warnings, c.warnings ?? []);
      });
    }
  }
});

describe('showInventory options', () => {
  it('--output writes exactly the text (no extra newline) and prints nothing', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-render-'));
    try {
      const file = path.join(tmp, 'out.json');
      const shown = await showInventory({ inventory: [dir('views/repeat.ini')], view: 'list', output: file });
      assert.equal(shown.stdout, '');
      assert.equal(`${readFileSync(file, 'utf8')}\n`, readFileSync(dir('expected/views_repeat.ini_list.txt'), 'utf8'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('--host needs a pattern matching exactly one host', async () => {
    for (const host of ['nosuch', 'all']) {
      await expectLanesError(() => showInventory({ inventory: [dir('views/repeat.ini')], view: 'host', host }), {
        message: new RegExp(`--host needs a single valid host, and "${host}" matches \\d+ hosts`),
        kind: 'pattern',
      });
    }
  });

  it('--toml is refused in one line, --graph ignores it like ansible-inventory', async () => {
    await expectLanesError(() => showInventory({ inventory: [dir('views/repeat.ini')], view: 'list', format: 'toml' }), {
      message: /--toml is not offered/,
      hint: /without the Python toml library/,
    });
    const shown = await showInventory({ inventory: [dir('views/repeat.ini')], view: 'graph', format: 'toml' });
    assert.equal(shown.stdout, readFileSync(dir('expected/views_repeat.ini_graph.txt'), 'utf8'));
  });

  it('shows vault-decrypted values masked in every view, where Ansible shows the ciphertext', async () => {
    const prod = fixture('prod/hosts.yml');
    const views: ShowInventoryOptions[] = [
      { inventory: [prod], view: 'list' },
      { inventory: [prod], view: 'list', format: 'yaml' },
      { inventory: [prod], view: 'host', host: 'db1.example.com' },
      { inventory: [prod], view: 'graph', vars: true },
    ];
    const lines = [/"mysql_root_password": "\*{8}"/, /mysql_root_password: '\*{8}'/, /"mysql_root_password": "\*{8}"/, /\{mysql_root_password = \*{8}\}/];
    for (const [i, o] of views.entries()) {
      const { stdout } = await showInventory(o);
      assert.match(stdout, lines[i] as RegExp, o.view);
      assert.doesNotMatch(stdout, /prod-mysql-root-pw/, o.view);
    }
  });

  it('the limit view lists the selected hosts in inventory order', async () => {
    const shown = await showInventory({ inventory: [dir('views/repeat.ini')], view: 'limit', limit: 'b:!u1' });
    assert.equal(shown.stdout, 'c1\nb1\n');
  });
});
