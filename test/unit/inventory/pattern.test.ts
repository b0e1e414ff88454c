// Host patterns on the production fixture. Expected sets were checked against Ansible 2.14's
// `ansible -i prod/hosts.yml PATTERN --list-hosts`; lanes returns them in inventory order.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadInventory, parseInventoryText, selectHosts, splitHostPattern } from '../../../agent/inventory/index.js';
import type { Inventory } from '../../../agent/inventory/index.js';
import { expectLanesError, fixture } from './helpers.js';

const WEB_EU = ['web01.eu.example.com', 'web02.eu.example.com', 'web03.eu.example.com'];
const WEB_US = ['web-us-a.example.com', 'web-us-b.example.com'];
const WEB = [...WEB_EU, ...WEB_US];
const DB = ['db1.example.com', 'db2.example.com'];
const WORKERS = [1, 3, 5, 7, 9].map((n) => `worker${n}.example.com`);
const ALL = [...WEB, ...DB, ...WORKERS, 'bastion.example.com'];

describe('selectHosts', () => {
  let inv: Inventory;
  before(async () => {
    inv = await loadInventory([fixture('prod/hosts.yml')]);
  });
  const sel = (p: string): string[] => selectHosts(inv, p);

  it('selects everything with all or *', () => {
    assert.deepEqual(sel('all'), ALL);
    assert.deepEqual(sel('*'), ALL);
  });

  it('selects a group with its descendants, a host by name, and ungrouped', () => {
    assert.deepEqual(sel('web'), WEB);
    assert.deepEqual(sel('web_us'), WEB_US);
    assert.deepEqual(sel('db1.example.com'), ['db1.example.com']);
    assert.deepEqual(sel('ungrouped'), ['bastion.example.com']);
    assert.deepEqual(sel('staging_only'), []);
  });

  it('matches globs against group and host names', () => {
    assert.deepEqual(sel('web0*'), WEB_EU);
    assert.deepEqual(sel('*.eu.example.com'), WEB_EU);
    assert.deepEqual(sel('web_*'), WEB);
    assert.deepEqual(sel('web-us-[ab].example.com'), WEB_US);
    assert.deepEqual(sel('web-us-[!a]*'), ['web-us-b.example.com']);
    assert.deepEqual(sel('worker?.example.com'), WORKERS);
  });

  it('matches ~regex from the start of names', () => {
    assert.deepEqual(sel('~^web\\d+'), WEB_EU);
    assert.deepEqual(sel('~web-us'), WEB_US);
    // Anchored at the start like Python's re.match: "us" alone matches nothing.
    assert.deepEqual(sel('~(web|db)1'), ['db1.example.com']);
  });

  it('unions with ":" and ",", results in inventory order whatever the pattern order', () => {
    assert.deepEqual(sel('web_eu:db'), [...WEB_EU, ...DB]);
    assert.deepEqual(sel('db,web_eu'), [...WEB_EU, ...DB]);
    assert.deepEqual(sel('bastion.example.com:db1.example.com'), ['db1.example.com', 'bastion.example.com']);
    assert.deepEqual(sel(' db , web_us '), [...WEB_US, ...DB]);
  });

  it('intersects with &', () => {
    assert.deepEqual(sel('web:&canary'), ['web02.eu.example.com']);
    assert.deepEqual(sel('db:&web'), []);
    // Alone, & and ! start from all.
    assert.deepEqual(sel('&web'), WEB);
    assert.deepEqual(sel('!db'), ALL.filter((h) => !DB.includes(h)));
  });

  it('excludes with !', () => {
    assert.deepEqual(sel('web:!canary'), WEB.filter((h) => h !== 'web02.eu.example.com'));
    assert.deepEqual(sel('web:!web_eu'), WEB_US);
    assert.deepEqual(sel('all:!web:!db'), [...WORKERS, 'bastion.example.com']);
    // A term that excludes nothing known is fine.
    assert.deepEqual(sel('web_us:!nosuch'), WEB_US);
  });

  it('applies unions, then intersections, then exclusions, whatever the written order', () => {
    assert.deepEqual(sel('!canary:web:&web_eu'), ['web01.eu.example.com', 'web03.eu.example.com']);
    assert.deepEqual(sel('&web:canary:web_us'), ['web02.eu.example.com', ...WEB_US]);
    assert.deepEqual(sel('!web_eu,web,&web'), WEB_US);
  });

  it('takes subscripts of the hosts a group matches', () => {
    assert.deepEqual(sel('web[0]'), ['web01.eu.example.com']);
    assert.deepEqual(sel('web[-1]'), ['web-us-b.example.com']);
    assert.deepEqual(sel('web[1:3]'), ['web02.eu.example.com', 'web03.eu.example.com', 'web-us-a.example.com']);
    assert.deepEqual(sel('web[3:]'), WEB_US);
    assert.deepEqual(sel('batch[0]:db[1]'), ['db2.example.com', 'worker1.example.com']);
    assert.deepEqual(sel('w*[0]'), ['web01.eu.example.com']);
    assert.deepEqual(sel('web[0]:!web01.eu.example.com'), []);
  });

  it('reads [12] as a subscript when the rest matches, else as a glob character class', () => {
    const numbered = parseInventoryText('[web]\nweb-1\nweb-2\nweb-3\n', 'hosts');
    assert.deepEqual(selectHosts(numbered, 'web-[12]'), ['web-1', 'web-2']);
    assert.deepEqual(selectHosts(numbered, 'web[1-2]'), ['web-2', 'web-3']); // Ansible's old x-y subscript
  });

  it('keeps a whole host or address as one term', () => {
    assert.deepEqual(splitHostPattern('web[1:3]'), ['web[1:3]']);
    assert.deepEqual(splitHostPattern('2001:db8::1'), ['2001:db8::1']);
    assert.deepEqual(splitHostPattern('a:b:&c:!d'), ['a', 'b', '&c', '!d']);
    assert.deepEqual(splitHostPattern('a, b,,c'), ['a', 'b', 'c']);
  });

  it('lets a host name win over a group of the same name', () => {
    const same = parseInventoryText('web:\n  hosts:\n    a:\n    b:\nother:\n  hosts:\n    web:\n', 'x.yml');
    assert.deepEqual(selectHosts(same, 'web'), ['web']);
  });

  it('errors on a union term that matches nothing, naming sources and known groups', async () => {
    const err = await expectLanesError(() => sel('web:nosuch'), {
      message: new RegExp(`^host pattern "nosuch" matches no host or group in ${escape(fixture('prod/hosts.yml'))}$`),
      kind: 'pattern',
      hint: /^known groups: all, backup, batch, canary, db, staging_only, ungrouped, web, web_eu, web_us$/,
    });
    assert.equal(err.location, undefined);
  });

  it('errors on an intersection term that matches nothing', async () => {
    await expectLanesError(() => sel('web:&prod'), { message: /^host pattern "&prod" matches no host or group/ });
  });

  it('errors on malformed patterns', async () => {
    await expectLanesError(() => sel('web[0'), { message: /unclosed "\[" in host pattern "web\[0"/, kind: 'pattern' });
    await expectLanesError(() => sel('web,db[1'), { message: /unclosed "\["/, kind: 'pattern' });
    await expectLanesError(() => sel('~web(\\d'), { message: /invalid regular expression/, kind: 'pattern' });
    await expectLanesError(() => sel('web[7]'), { message: /out of range: it matches 5 hosts/, kind: 'pattern' });
    await expectLanesError(() => sel('web,!'), { message: /has nothing after/, kind: 'pattern' });
    await expectLanesError(() => sel(' '), { message: /empty host pattern/, kind: 'pattern' });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
