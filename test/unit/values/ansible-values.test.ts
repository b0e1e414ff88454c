// Values checked against real ansible-core: test/fixtures/ansible-values/record.sh ran
// ansible-inventory --list and ansible-playbook (ansible-core 2.14) over the inputs in that directory
// and wrote recorded.json. Here lanes reads the same inputs (YAML, INI and JSON inventories, playbook
// vars from play-vars.yml, -e @file, -e JSON, -e key=value) and must print, for every recorded row:
//   inventory: the value as ansible-inventory --list prints it (json.dumps),
//   to_json:   what `{{ v | to_json }}` renders,
//   text:      what `T{{ v }}` renders (Jinja2's str() of the value under Ansible).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseInventoryText } from '../../../agent/inventory/load.js';
import { showInventory } from '../../../agent/inventory/show.js';
import { parseExtraVarsArg } from '../../../agent/playbook/vars.js';
import { parsePlaybook } from '../../../agent/playbook/load.js';
import { Scope, TemplateEngine } from '../../../agent/playbook/template.js';
import { pyJsonDumps } from '../../../agent/values/python.js';

const dir = fileURLToPath(new URL('../../../../test/fixtures/ansible-values/', import.meta.url));
const read = (name: string): string => readFileSync(dir + name, 'utf8');

interface Row {
  inventory?: string;
  to_json?: string;
  text?: string;
}
const recorded = JSON.parse(read('recorded.json')) as { ansible: string; rows: Record<string, Row> };
const rows = Object.entries(recorded.rows);

type Vars = Record<string, unknown>;

function hostVars(file: string, host: string): Vars {
  const inv = parseInventoryText(read(file), dir + file);
  const h = inv.hosts.get(host);
  assert.ok(h, `${file} has host ${host}`);
  return h.vars;
}

async function loadAll(): Promise<Map<string, Vars>> {
  // The same play vars as record.sh's play, under `vars:` of a lanes play.
  const varsText = read('play-vars.yml')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => `    ${l}`)
    .join('\n');
  const play = parsePlaybook(`- hosts: all\n  vars:\n${varsText}\n`, dir + 'play.yml').plays[0];
  assert.ok(play);
  const [jsonArg, kvArg] = read('extra-args.txt').split('\n');
  const extra: Vars = {
    ...(await parseExtraVarsArg('@extra.yml', dir)),
    ...(await parseExtraVarsArg(jsonArg as string, dir)),
    ...(await parseExtraVarsArg(kvArg as string, dir)),
  };
  const common = { ...play.vars, ...extra };
  return new Map([
    ['y', { ...hostVars('inventory.yml', 'yhost'), ...common }],
    ['i', { ...hostVars('inventory.ini', 'ihost'), ...common }],
    ['j', { ...hostVars('inventory.json', 'jhost'), ...common }],
  ]);
}

/** The host a row's variable lives on: y/i/j rows on their inventory's host, play and -e rows on yhost. */
const hostOf = (name: string): string => ('yij'.includes(name[0] as string) ? (name[0] as string) : 'y');

describe(`values as ${recorded.ansible} prints them`, () => {
  it('has at least 100 recorded rows, each with what Ansible printed', () => {
    assert.ok(rows.length >= 100, `only ${rows.length} rows`);
    for (const [name, row] of rows) assert.ok(row.text !== undefined, `${name} has a recorded text`);
  });

  it('reads every value to the JSON ansible-inventory prints, renders its to_json and its text', async () => {
    const byHost = await loadAll();
    const engine = new TemplateEngine([dir]);
    const scopes = new Map([...byHost].map(([k, v]) => [k, new Scope(engine, v)]));
    const failures: string[] = [];
    let checked = 0;
    for (const [name, row] of rows) {
      const vars = byHost.get(hostOf(name)) as Vars;
      const scope = scopes.get(hostOf(name)) as Scope;
      if (!Object.hasOwn(vars, name)) {
        failures.push(`${name}: not read by lanes`);
        continue;
      }
      const check = (what: string, got: () => unknown, want: string): void => {
        checked += 1;
        let value: unknown;
        try {
          value = got();
        } catch (e) {
          value = `error: ${(e as Error).message}`;
        }
        if (value !== want) failures.push(`${name} ${what}: lanes ${JSON.stringify(value)}, ansible ${JSON.stringify(want)}`);
      };
      if (row.inventory !== undefined) check('inventory', () => pyJsonDumps(vars[name], { sortKeys: true, ensureAscii: false }), row.inventory);
      if (row.to_json !== undefined) check('to_json', () => scope.render(`{{ ${name} | to_json }}`), row.to_json);
      if (row.text !== undefined) check('text', () => scope.render(`T{{ ${name} }}`), `T${row.text}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(checked >= 300, `only ${checked} checks`);
  });

  it('lanes inventory --list writes floats, big integers and NaN as ansible-inventory does', async () => {
    const { stdout } = await showInventory({ inventory: [dir + 'inventory.json'], view: 'list' });
    assert.match(stdout, /"j_float_whole": 8\.0,\n/);
    assert.match(stdout, /"j_int_big": 12345678901234567890,\n/);
    assert.match(stdout, /"j_float_nan": NaN,\n/);
    assert.match(stdout, /"j_float_exp": 1000\.0,\n/);
  });
});
