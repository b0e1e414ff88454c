// Python's str()/repr(), arithmetic, round(), json.loads and yaml.dump over lanes' Python values.
// Each expected value was printed by CPython 3.11 / PyYAML 6 on this machine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYaml } from '../../../agent/inventory/yaml-source.js';
import { pyArith, pyCompare } from '../../../agent/values/arith.js';
import { pyRound, toPyFloat, toPyInt } from '../../../agent/values/convert.js';
import { JsonLoadsError, pyJsonLoads } from '../../../agent/values/json-loads.js';
import { PyDate, PyFloat, pyJsonDumps, pyRepr, pyStr } from '../../../agent/values/python.js';
import { pyYamlDump } from '../../../agent/values/yaml-dump.js';

const str = (v: unknown): string => pyStr(v);

describe('str() and repr()', () => {
  it('prints as Python prints', () => {
    assert.equal(pyRepr("it's"), `"it's"`);
    assert.equal(pyRepr('a"b'), `'a"b'`);
    assert.equal(pyRepr('x\ny'), `'x\\ny'`);
    assert.equal(pyRepr('é'), `'é'`);
    assert.equal(str({ a: [new PyFloat(1), null, true, 'x'] }), `{'a': [1.0, None, True, 'x']}`);
    assert.equal(str(new PyDate('2001-12-14', '21:59:43.100000', '-05:00')), '2001-12-14 21:59:43.100000-05:00');
    assert.equal(
      pyRepr(new PyDate('2001-12-14', '21:59:43.100000', '-05:00')),
      'datetime.datetime(2001, 12, 14, 21, 59, 43, 100000, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=68400)))',
    );
    assert.equal(pyRepr(new PyDate('2001-12-15', '02:59:00', '+00:00')), 'datetime.datetime(2001, 12, 15, 2, 59, tzinfo=datetime.timezone.utc)');
    assert.equal(str(12345678901234567890n), '12345678901234567890');
  });
});

describe('arithmetic', () => {
  const cases: [string, unknown, unknown, string][] = [
    ['//', 7, -2, '-4'],
    ['//', -7, 2, '-4'],
    ['%', 7, -2, '-1'],
    ['%', -7, 2, '1'],
    ['//', 7.5, 2, '3.0'],
    ['%', -7.5, 2, '0.5'],
    ['**', 2, -1, '0.5'],
    ['/', 10, 4, '2.5'],
    ['/', 10, 5, '2.0'],
    ['+', new PyFloat(8), 1, '9.0'],
    ['*', 12345678901234567890n, 10, '123456789012345678900'],
    ['+', 9007199254740991, 2, '9007199254740993'],
    ['*', 'ab', 3, 'ababab'],
    ['+', [1], [new PyFloat(2)], '[1, 2.0]'],
  ];
  for (const [op, a, b, want] of cases) {
    it(`${str(a)} ${op} ${str(b)} is ${want}`, () => assert.equal(str(pyArith(op as '+', a, b)), want));
  }
  it('refuses a division by zero, compares numbers of any kind by value', () => {
    assert.throws(() => pyArith('/', 1, 0), /division by zero/);
    assert.equal(pyCompare(new PyFloat(8), '==', new PyFloat(8)), true);
    assert.equal(pyCompare(new PyFloat(8), '==', 8), true);
    assert.equal(pyCompare(12345678901234567890n, '>', new PyFloat(1e19)), true);
  });
});

describe('float(), int(), round()', () => {
  it('rounds ties to even, keeps ints ints', () => {
    const r = (v: unknown, n: number): string => str(pyRound(v, n));
    assert.deepEqual(
      [r(2.675, 2), r(0.125, 2), r(-2.5, 0), r(1.5, 0), r(2.5, 0), r(1234, -2), r(1250, -2), r(1350, -2), r(-0.5, 0), r(3, 0)],
      ['2.67', '0.12', '-2.0', '2.0', '2.0', '1200', '1200', '1400', '-0.0', '3'],
    );
  });
  it('converts text and numbers', () => {
    assert.equal(str(toPyFloat('8')), '8.0');
    assert.equal(str(toPyFloat(' 1_000.5 ')), '1000.5');
    assert.equal(str(toPyFloat('-inf')), '-inf');
    assert.equal(toPyFloat('x'), undefined);
    assert.equal(toPyInt('12345678901234567890'), 12345678901234567890n);
    assert.equal(toPyInt(new PyFloat(8.9)), 8);
    assert.equal(toPyInt('8.5'), undefined);
  });
});

describe('json.loads and JSON-first loading', () => {
  it('reads numbers as Python does', () => {
    assert.equal(pyJsonDumps(pyJsonLoads('[1e3, 8.0, 12345678901234567890, -0, -0.0, NaN]')), '[1000.0, 8.0, 12345678901234567890, 0, -0.0, NaN]');
    // Python's JSONDecodeError texts, as json.loads printed them.
    const message = (text: string): string => {
      try {
        pyJsonLoads(text);
        return 'no error';
      } catch (e) {
        return e instanceof JsonLoadsError ? e.pythonMessage : String(e);
      }
    };
    assert.equal(message('{"a": 1,}'), 'Expecting property name enclosed in double quotes: line 1 column 9 (char 8)');
    assert.equal(message(''), 'Expecting value: line 1 column 1 (char 0)');
    assert.equal(message('[1,\n 2 x]'), "Expecting ',' delimiter: line 2 column 4 (char 7)");
  });
  it('reads a JSON file with JSON number rules, and YAML with YAML 1.1 rules, keeping positions', () => {
    const json = parseYaml('{\n  "v": 1e3,\n  "w": "x"\n}', 'vars.json');
    assert.equal(pyJsonDumps(json.value(json.doc.contents)), '{"v": 1000.0, "w": "x"}');
    const yaml = parseYaml('v: 1e3\nw: 1.0e+3\n', 'vars.yml');
    assert.equal(pyJsonDumps(yaml.value(yaml.doc.contents)), '{"v": "1e3", "w": 1000.0}');
    const map = json.doc.contents as unknown as { items: { value: unknown }[] };
    assert.deepEqual(json.loc(map.items[0]?.value as never), { file: 'vars.json', line: 2, column: 8 });
  });
});

describe('yaml.dump', () => {
  it('writes flow and block styles as PyYAML', () => {
    assert.equal(pyYamlDump([{ a: 1, b: [1, { c: 2 }] }, [1, 2], 'x'], { flow: 'never', indent: 4 }), '-   a: 1\n    b:\n    - 1\n    -   c: 2\n-   - 1\n    - 2\n- x\n');
    assert.equal(
      pyYamlDump({ k: [{ a: 1, b: 2 }], z: { y: [1, 'a b', 'yes', '', '1.0', 'a: b'] } }, { flow: 'auto' }),
      "k:\n- {a: 1, b: 2}\nz:\n  y: [1, a b, 'yes', '', '1.0', 'a: b']\n",
    );
    // libyaml (Ansible's dumper) ends a root scalar without "..." (pure-Python PyYAML would add it).
    assert.equal(pyYamlDump(new PyFloat(1e16), { flow: 'auto' }), '1.0e+16\n');
  });

  it('matches what ansible-core 2.14.18 to_yaml / to_nice_yaml printed', () => {
    assert.equal(pyYamlDump('x: y', { flow: 'auto' }), "'x: y'\n");
    assert.equal(pyYamlDump(['a b', 'c,d', { k: 'x' }], { flow: 'auto' }), '- a b\n- c,d\n- {k: x}\n');
    const v = { k: ['c,d', 'x', '', 'a'.repeat(50), 'b'.repeat(40)], m: 'l1\nl2' };
    assert.equal(pyYamlDump(v, { flow: 'auto' }), `k: ['c,d', x, '', ${'a'.repeat(50)}, ${'b'.repeat(40)}]\nm: 'l1\n\n  l2'\n`);
    assert.equal(pyYamlDump({ k: ['c,d'], m: 'l1\nl2' }, { flow: 'never', indent: 4 }), "k:\n- c,d\nm: 'l1\n\n    l2'\n");
  });
});

describe('templates over Python values', () => {
  it('compares, tests and converts 8.0 as Jinja2 does', async () => {
    const { Scope, TemplateEngine } = await import('../../../agent/playbook/template.js');
    const scope = new Scope(new TemplateEngine([]), { v: new PyFloat(8), l: [{ n: new PyFloat(8) }, { n: 7 }], big: 12345678901234567890n });
    assert.equal(scope.render('{{ [v, 7, 8] | select("equalto", 8) | list | length }}'), 2);
    assert.equal(scope.render('{{ v == 8.0 }} {{ v is number }} {{ v is float }} {{ 8 is integer }}'), 'True True True True');
    assert.equal(scope.render('{{ v | int }} {{ "8" | float }} {{ 2.5 | round }} {{ [1.5, v] | sum }} {{ big + 1 }}'), '8 8.0 2.0 9.5 12345678901234567891');
    assert.equal(scope.render('{{ -v }} {{ v ** 2 }} {{ v // 3 }} {{ v % 3 }} {{ None }}|{{ [None] }}'), '-8.0 64.0 2.0 2.0 |[None]');
    assert.equal(String(scope.render('{{ v }}')), '8.0');
    assert.equal(scope.render(`{{ '{"a": 1e3, "b": 12345678901234567890}' | from_json | to_json }}`), '{"a": 1000.0, "b": 12345678901234567890}');
  });
});

describe('INI values (ast.literal_eval)', () => {
  it('keeps float keys, float values and exact big ints, as ansible-inventory prints them', async () => {
    const { parseIniValue } = await import('../../../agent/inventory/pylit.js');
    // Sorted as ansible-inventory sorts keys (a JavaScript object lists integer-like keys first).
    assert.equal(pyJsonDumps(parseIniValue("{1.0: 'a', 2: 3.0, None: 1}"), { sortKeys: true }), '{"1.0": "a", "2": 3.0, "null": 1}');
    assert.equal(pyJsonDumps(parseIniValue('-0.0, 1e400, 0x_ff, -12345678901234567890')), '[-0.0, Infinity, 255, -12345678901234567890]');
  });
});
