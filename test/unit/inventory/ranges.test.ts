// Host ranges and host:port, expanded exactly as Ansible expands them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patterns } from '../../../agent/inventory/address.js';
import { expandHostPattern, expandHostnameRange, parseInventoryText } from '../../../agent/inventory/index.js';
import { expectLanesError } from './helpers.js';

describe('host ranges', () => {
  it('expands zero-padded numeric ranges', () => {
    assert.deepEqual(expandHostnameRange('web[01:03].example.com'), [
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
    ]);
  });

  it('expands unpadded and stepped ranges', () => {
    assert.deepEqual(expandHostnameRange('app[8:11]'), ['app8', 'app9', 'app10', 'app11']);
    assert.deepEqual(expandHostnameRange('node[1:10:2]'), ['node1', 'node3', 'node5', 'node7', 'node9']);
    assert.deepEqual(expandHostnameRange('node[01:10:3]'), ['node01', 'node04', 'node07', 'node10']);
  });

  it('expands letter ranges, with a step too', () => {
    assert.deepEqual(expandHostnameRange('db-[a:c]'), ['db-a', 'db-b', 'db-c']);
    assert.deepEqual(expandHostnameRange('db-[a:e:2]'), ['db-a', 'db-c', 'db-e']);
  });

  it('expands several ranges left to right, and an omitted begin as 0', () => {
    assert.deepEqual(expandHostnameRange('r[1:2]-[a:b]'), ['r1-a', 'r1-b', 'r2-a', 'r2-b']);
    assert.deepEqual(expandHostnameRange('h[:2]'), ['h0', 'h1', 'h2']);
  });

  it('separates a port from a range', () => {
    assert.deepEqual(expandHostPattern('web[1:2]:2222'), { hosts: ['web1', 'web2'], port: 2222 });
    assert.deepEqual(expandHostPattern('10.0.0.[1:2]'), { hosts: ['10.0.0.1', '10.0.0.2'] });
    assert.deepEqual(expandHostPattern('[::1]:22'), { hosts: ['::1'], port: 22 });
  });

  it('rejects ranges that cannot be expanded', async () => {
    await expectLanesError(() => expandHostnameRange('web[01:100]'), { message: /equal-length/ });
    await expectLanesError(() => expandHostnameRange('web[3:1]'), { message: /begin <= end/ });
    await expectLanesError(() => expandHostnameRange('web[1:]'), { message: /end value/ });
    await expectLanesError(() => expandHostnameRange('web[1:5:0]'), { message: /step/ });
    await expectLanesError(() => expandHostnameRange('web[a:5]'), { message: /numbers or both single letters/ });
  });

  it('expands ranges in both inventory formats', () => {
    const yaml = parseInventoryText('web:\n  hosts:\n    web[1:3]:\n      x: 1\n', 'x.yml');
    const ini = parseInventoryText('[web]\nweb[1:3] x=1\n', 'x.ini');
    for (const inv of [yaml, ini]) {
      assert.deepEqual(inv.groups.get('web')?.hosts, ['web1', 'web2', 'web3']);
      assert.equal(inv.hosts.get('web3')?.vars['x'], 1);
    }
  });
});

describe('the ASCII host name shortcut', () => {
  it('takes only names the full (Unicode) host name pattern takes, and the usual names', () => {
    // Every string of up to 4 characters over an alphabet with the awkward ones (_ - .), and longer random ones.
    const alphabet = ['a', 'Z', '0', '9', '_', '-', '.'];
    const strings: string[] = [];
    const grow = (s: string) => {
      if (s.length) strings.push(s);
      if (s.length < 4) for (const c of alphabet) grow(s + c);
    };
    grow('');
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let i = 0; i < 5000; i++) strings.push(Array.from({ length: 5 + rnd(20) }, () => alphabet[rnd(alphabet.length)]).join(''));
    let taken = 0;
    for (const s of strings) {
      if (!patterns.asciiHostname.test(s)) continue;
      taken++;
      assert.ok(patterns.hostname.test(s), `${JSON.stringify(s)} is taken by the shortcut but not by hostname`);
    }
    assert.ok(taken > 100, `the shortcut took ${taken}`);
    for (const s of ['web1', 'lab10', 'db-01.example.com', 'a', 'x_y.internal']) assert.ok(patterns.asciiHostname.test(s), s);
    for (const s of ['_', 'web-', 'web_', '-web', 'a..b', '.a', 'a.', 'wéb', 'web[1:3]']) assert.ok(!patterns.asciiHostname.test(s), s);
  });
});
