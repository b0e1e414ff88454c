// The INI inventory format: sections, quoting, Python-literal values, the legacy fixture.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadInventory, parseInventoryText } from '../../../agent/inventory/index.js';
import { literalEval, parseIniValue } from '../../../agent/inventory/pylit.js';
import { shlexSplit } from '../../../agent/inventory/shlex.js';
import { fixture } from './helpers.js';
import { PyFloat } from '../../../agent/values/python.js';

describe('INI inventory', () => {
  it('reads sections, children declared before the group, and ungrouped hosts', () => {
    const inv = parseInventoryText(
      [
        '; a comment',
        'lonely',
        '# another comment',
        '[prod:children]',
        'web',
        'db # trailing comment',
        '[web]',
        'web1',
        '[db]',
        'db1',
        '[prod:vars]',
        'tier=prod',
      ].join('\n'),
      'hosts.ini',
    );
    assert.deepEqual(inv.groups.get('prod')?.children, ['web', 'db']);
    assert.deepEqual(inv.groups.get('ungrouped')?.hosts, ['lonely']);
    assert.deepEqual(inv.hosts.get('db1')?.groups, ['all', 'db', 'prod']);
    assert.deepEqual(inv.hosts.get('web1')?.vars, { tier: 'prod' });
  });

  it('moves a host out of ungrouped once it is in a real group', () => {
    const inv = parseInventoryText('web1\n[web]\nweb1\n', 'hosts');
    assert.deepEqual(inv.groups.get('ungrouped')?.hosts, []);
    assert.deepEqual(inv.hosts.get('web1')?.groups, ['all', 'web']);
  });

  it('splits host lines like a shell, with quoted values', () => {
    const inv = parseInventoryText(
      `[web]\nweb1 motd="hello world" path='/srv/a b' esc=a\\ b inner="say \\"hi\\"" empty="" hash="a # b" cut=x#y dropped=1\n`,
      'hosts.ini',
    );
    assert.deepEqual(inv.hosts.get('web1')?.vars, {
      motd: 'hello world',
      path: '/srv/a b',
      esc: 'a b',
      inner: 'say "hi"',
      empty: '',
      hash: 'a # b',
      // # starts a comment even mid-word, as in Python's shlex: the rest of the line is dropped.
      cut: 'x',
    });
  });

  it('reads host-line values as Python literals, like Ansible', () => {
    const inv = parseInventoryText(
      '[web]\nweb1 a=22 b=1.5 c=True d=False e=None f=true g=yes h=[1,2] i="80,443" j=0777 k=0x1F l=-3 m="5"\n',
      'hosts.ini',
    );
    assert.deepEqual(inv.hosts.get('web1')?.vars, {
      a: 22,
      b: 1.5,
      c: true,
      d: false,
      e: null,
      // Python's literal_eval knows only True/False: lowercase stays a string, as in Ansible.
      f: 'true',
      g: 'yes',
      h: [1, 2],
      i: [80, 443],
      // A leading zero is a syntax error in Python 3, so the text is kept.
      j: '0777',
      k: 31,
      l: -3,
      // shlex has removed the quotes before literal_eval sees the value.
      m: 5,
    });
  });

  it('reads [group:vars] values without shell splitting, quotes marking strings', () => {
    const inv = parseInventoryText(
      [
        '[web]',
        'web1',
        '[web:vars]',
        'port=8080',
        'flag=True',
        'quoted="8080"',
        "single='it is'",
        'spaced = a b c ',
        'commented=5 # five',
        'eq=a=b',
        'empty=',
      ].join('\n'),
      'hosts.ini',
    );
    assert.deepEqual(inv.groups.get('web')?.vars, {
      port: 8080,
      flag: true,
      quoted: '8080',
      single: 'it is',
      spaced: 'a b c',
      commented: 5,
      eq: 'a=b',
      empty: '',
    });
  });

  it('loads the legacy fixture with the values Ansible gives it', async () => {
    const inv = await loadInventory([fixture('legacy/hosts.ini')]);
    const web4 = inv.hosts.get('web4.legacy.example.com');
    assert.deepEqual(web4?.groups, ['all', 'db_clients', 'php', 'web']);
    assert.equal(web4?.vars['motd'], 'Welcome to web4');
    assert.equal(web4?.vars['max_clients'], 150);
    assert.equal(web4?.vars['debug'], true);
    assert.equal(web4?.vars['http_port'], 8080);
    assert.equal(web4?.vars['maintenance'], false);
    assert.equal(web4?.vars['server_tokens'], 'off');
    // The classic INI trap, kept for compatibility: php_version=7.4 is a float.
    assert.equal(web4?.vars['php_version'], 7.4);
    assert.equal(web4?.vars['php_memory_limit'], '256M');
    assert.deepEqual(web4?.vars['ntp_servers'], ['0.pool.ntp.org', '1.pool.ntp.org']);
    const db1 = inv.hosts.get('db1.legacy.example.com');
    assert.equal(db1?.vars['ansible_port'], 2202);
    assert.equal(db1?.vars['mysql_role'], 'primary');
    const db2 = inv.hosts.get('db2.legacy.example.com');
    assert.deepEqual(db2?.vars['backup_hours'], [1, 5]);
    assert.equal(db2?.vars['verbose'], 'true');
    assert.deepEqual(inv.groups.get('ungrouped')?.hosts, ['bastion.legacy.example.com']);
    assert.equal(inv.hosts.get('bastion.legacy.example.com')?.vars['ansible_port'], 2222);
  });
});

describe('Python literal values', () => {
  it('parses numbers, containers and strings', () => {
    assert.deepEqual(literalEval('1_000'), { ok: true, value: 1000 });
    assert.deepEqual(literalEval('1e3'), { ok: true, value: new PyFloat(1000) });
    assert.deepEqual(literalEval('.5'), { ok: true, value: 0.5 });
    assert.deepEqual(literalEval('0o17'), { ok: true, value: 15 });
    assert.deepEqual(literalEval('0b101'), { ok: true, value: 5 });
    assert.deepEqual(literalEval("{'a': [1, (2, 3)], 'b': {'c': None}}"), {
      ok: true,
      value: { a: [1, [2, 3]], b: { c: null } },
    });
    assert.deepEqual(literalEval('(1)'), { ok: true, value: 1 });
    assert.deepEqual(literalEval('(1,)'), { ok: true, value: [1] });
    assert.deepEqual(literalEval("'a' \"b\""), { ok: true, value: 'ab' });
    assert.deepEqual(literalEval("'tab\\there'"), { ok: true, value: 'tab\there' });
    assert.deepEqual(literalEval("r'\\d+'"), { ok: true, value: '\\d+' });
    assert.deepEqual(literalEval("u'\\u00e9'"), { ok: true, value: 'é' });
  });

  it('keeps what literal_eval rejects as text', () => {
    for (const text of ['true', 'yes', 'a b', '0777', '1abc', '1.2.3', '--1', "f'x'", '[1, 2', '', '1+2', 'inf', 'x.y']) {
      assert.equal(parseIniValue(text), text, text);
    }
  });

  it('keeps integers JavaScript cannot hold exactly as exact integers (bigint), as Python does', () => {
    assert.equal(parseIniValue('123456789012345678901234'), 123456789012345678901234n);
    assert.equal(parseIniValue('-9007199254740993'), -9007199254740993n);
    assert.equal(parseIniValue('9007199254740991'), 9007199254740991);
  });
});

describe('shlex splitting', () => {
  it('records where each token starts', () => {
    assert.deepEqual(shlexSplit('web1  a="x y" b=2'), [
      { value: 'web1', start: 0 },
      { value: 'a=x y', start: 6 },
      { value: 'b=2', start: 14 },
    ]);
  });

  it('keeps a backslash inside double quotes unless it escapes " or \\', () => {
    assert.deepEqual(
      shlexSplit('a="x\\y" b="x\\\\y" c=\'x\\y\'').map((t) => t.value),
      ['a=x\\y', 'b=x\\y', 'c=x\\y'],
    );
  });
});
