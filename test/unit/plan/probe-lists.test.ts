// probesFor: hosts with the same resource specs (shared objects) share one probe list; a host
// whose specs differ gets its own, with its own paths.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stateFacts } from '../../../agent/facts/probes.js';
import { probesFor } from '../../../agent/plan/plan-host.js';
import type { DesiredResource } from '../../../agent/resources/types.js';

const dir = (spec: Record<string, unknown>): DesiredResource => ({ type: 'directory', id: String(spec.path), spec });

describe('probesFor', () => {
  it('one list for the same spec objects, a new one for other specs', () => {
    const a = { path: '/srv/a', owner: 'root', mode: '0755' };
    const b = { path: '/srv/b', owner: 'root', mode: '0755' };
    const host1 = probesFor([dir(a), dir(b)]);
    const host2 = probesFor([dir(a), dir(b)]);
    assert.equal(host1, host2);
    assert.ok(JSON.stringify(host1).includes('/srv/b'));
    // Equal content but another object: computed again (keyed by identity), with equal probes.
    const host3 = probesFor([dir(a), dir({ ...b })]);
    assert.notEqual(host3, host1);
    assert.deepEqual(host3, host1);
    const other = probesFor([dir(a), dir({ path: '/srv/c', owner: 'root', mode: '0755' })]);
    assert.ok(JSON.stringify(other).includes('/srv/c'));
    assert.ok(!JSON.stringify(other).includes('/srv/b'));
    // The read snippets follow the list: built once for a shared list, each list reading its own paths.
    assert.equal(stateFacts(host1), stateFacts(host2));
    assert.notEqual(stateFacts(other), stateFacts(host1));
    assert.ok(stateFacts(other).probe_file!.command.includes('/srv/c'));
    assert.ok(!stateFacts(other).probe_file!.command.includes('/srv/b'));
  });
});
