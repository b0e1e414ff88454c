// group: groupadd / groupmod / groupdel, each script run through a real sh with the commands stubbed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupResource, groupSchema, type GroupSpec } from '../../../agent/resources/group.js';
import type { ActualState, Change, GroupState, PlanContext } from '../../../agent/resources/types.js';
import { runStubbed } from '../../support/stubs.js';
import { actualState, rhelFacts } from '../../support/actual.js';

const ctx: PlanContext = { host: 'web1', all: [] };

const STUBBED = ['groupadd', 'groupmod', 'groupdel'];
const runStubbedHere = (script: string): string[][] => runStubbed(script, STUBBED);

const parse = (value: unknown): GroupSpec => groupSchema.parse(value);

function issues(value: unknown): { path: PropertyKey[]; message: string }[] {
  const result = groupSchema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

function withGroups(...groups: GroupState[]): ActualState {
  return actualState(undefined, { groups: new Map(groups.map((g) => [g.name, g])) });
}

const plan = (spec: unknown, actual: ActualState): Change[] => groupResource.plan(parse(spec), actual, ctx);

function script(changes: Change[]): string {
  assert.equal(changes.length, 1);
  assert.equal(changes[0]!.operations.length, 1);
  const op = changes[0]!.operations[0]!;
  assert.ok(op.op === 'run' && op.phase === 'prepare', 'a prepare-phase run operation');
  return op.script;
}

const UNIX_NAME = 'must be a Unix name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters';

describe('group schema', () => {
  it('accepts name, gid, system and state', () => {
    assert.deepEqual(parse({ name: 'app' }), { name: 'app', state: 'present' });
    assert.deepEqual(parse({ name: 'app', gid: 1500, system: true }), { name: 'app', gid: 1500, system: true, state: 'present' });
    assert.deepEqual(parse({ name: 'app', state: 'absent' }), { name: 'app', state: 'absent' });
  });

  for (const bad of ['app\nroot', 'app;id', 'App', '-app', 'a b', '$(id)']) {
    it(`refuses the name ${JSON.stringify(bad)}`, () => {
      assert.deepEqual(issues({ name: bad }), [{ path: ['name'], message: UNIX_NAME }]);
    });
  }

  it('refuses a gid that is not a whole number in range', () => {
    assert.deepEqual(issues({ name: 'app', gid: '1500' }), [{ path: ['gid'], message: 'must be a whole number' }]);
    assert.deepEqual(issues({ name: 'app', gid: 15.5 }), [{ path: ['gid'], message: 'must be a whole number' }]);
    assert.deepEqual(issues({ name: 'app', gid: -1 }), [{ path: ['gid'], message: 'must be between 0 and 4294967294' }]);
    assert.deepEqual(issues({ name: 'app', gid: 4294967295 }), [{ path: ['gid'], message: 'must be between 0 and 4294967294' }]);
  });

  it('refuses unknown keys and a non-boolean system', () => {
    assert.deepEqual(issues({ name: 'app', members: ['deploy'] }), [{ path: [], message: 'Unrecognized key: "members"' }]);
    assert.deepEqual(issues({ name: 'app', system: 'yes' }), [{ path: ['system'], message: 'Invalid input: expected boolean, received string' }]);
  });

  it('is identified by name and probes the group', () => {
    const spec = parse({ name: 'app' });
    assert.equal(groupResource.type, 'group');
    assert.equal(groupResource.id(spec), 'app');
    assert.deepEqual(groupResource.probes(spec), [{ kind: 'group', name: 'app' }]);
  });
});

describe('group plan', () => {
  const app: GroupState = { name: 'app', gid: 1500, members: ['deploy'] };

  it('is converged when the group exists (with the declared gid, if any) or is absent as declared', () => {
    assert.deepEqual(plan({ name: 'app' }, withGroups(app)), []);
    assert.deepEqual(plan({ name: 'app', gid: 1500 }, withGroups(app)), []);
    assert.deepEqual(plan({ name: 'app', system: true }, withGroups(app)), [], 'system only applies at creation');
    assert.deepEqual(plan({ name: 'app', state: 'absent' }, withGroups()), []);
  });

  it('creates a group', () => {
    const changes = plan({ name: 'app' }, withGroups());
    assert.deepEqual(changes, [
      {
        resource: 'group[app]',
        action: 'create',
        summary: 'create group app',
        operations: [{ op: 'run', phase: 'prepare', script: 'groupadd app', describe: 'create group app' }],
      },
    ]);
    assert.deepEqual(runStubbedHere(script(changes)), [['groupadd', 'app']]);
  });

  it('creates a system group with a gid', () => {
    const changes = plan({ name: 'queue', gid: 998, system: true }, withGroups());
    assert.equal(changes[0]!.summary, 'create group queue (system, gid 998)');
    assert.deepEqual(changes[0]!.fields, [{ name: 'gid', after: '998' }]);
    assert.deepEqual(runStubbedHere(script(changes)), [['groupadd', '--system', '--gid', '998', 'queue']]);
  });

  it('changes a differing gid with groupmod', () => {
    const changes = plan({ name: 'app', gid: 1501 }, withGroups(app));
    const change = changes[0]!;
    assert.equal(change.resource, 'group[app]');
    assert.equal(change.action, 'update');
    assert.equal(change.summary, 'group app: gid 1500 → 1501');
    assert.deepEqual(change.fields, [{ name: 'gid', before: '1500', after: '1501' }]);
    assert.deepEqual(change.notes, ['files owned by gid 1500 keep that gid: groupmod does not re-own them']);
    assert.deepEqual(runStubbedHere(script(changes)), [['groupmod', '--gid', '1501', 'app']]);
  });

  it('deletes a group declared absent', () => {
    const changes = plan({ name: 'app', state: 'absent' }, withGroups(app));
    assert.equal(changes[0]!.action, 'delete');
    assert.equal(changes[0]!.summary, 'delete group app (gid 1500)');
    assert.deepEqual(changes[0]!.fields, [{ name: 'gid', before: '1500' }]);
    assert.deepEqual(runStubbedHere(script(changes)), [['groupdel', 'app']]);
  });

  it('plans the same commands on RHEL', () => {
    const rhel = groupResource.plan(parse({ name: 'app', gid: 1500 }), actualState(rhelFacts), ctx);
    assert.deepEqual(runStubbedHere(script(rhel)), [['groupadd', '--gid', '1500', 'app']]);
  });
});
