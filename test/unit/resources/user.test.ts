// user: useradd / usermod / userdel with only the differing attributes; every script is run through
// a real sh with the commands stubbed, including values that passed the schema but are hostile to a shell.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { userResource, userSchema, type UserSpec } from '../../../agent/resources/user.js';
import type { ActualState, Change, DesiredResource, GroupState, PlanContext, UserState } from '../../../agent/resources/types.js';
import { runStubbed } from '../../support/stubs.js';
import { actualState, debianFacts, rhelFacts } from '../../support/actual.js';

const STUBBED = ['useradd', 'usermod', 'userdel'];
const runStubbedHere = (script: string): string[][] => runStubbed(script, STUBBED);

const parse = (value: unknown): UserSpec => userSchema.parse(value);

function issues(value: unknown): { path: PropertyKey[]; message: string }[] {
  const result = userSchema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

const group = (name: string, gid: number): GroupState => ({ name, gid, members: [] });
const HOST_GROUPS = [group('deploy', 1001), group('www-data', 33), group('app', 1500), group('docker', 999)];

const deploy: UserState = {
  name: 'deploy',
  uid: 1001,
  gid: 1001,
  group: 'deploy',
  groups: ['www-data'],
  home: '/home/deploy',
  shell: '/bin/sh',
  comment: '',
};

function host(users: UserState[] = [], groups: GroupState[] = HOST_GROUPS, facts = debianFacts): ActualState {
  return actualState(facts, { users: new Map(users.map((u) => [u.name, u])), groups: new Map(groups.map((g) => [g.name, g])) });
}

function context(all: DesiredResource[] = []): PlanContext {
  return { host: 'web1', source: { file: 'play.yml', line: 12, column: 5 }, all };
}

const plan = (spec: unknown, actual: ActualState, ctx: PlanContext = context()): Change[] => userResource.plan(parse(spec), actual, ctx);

function only(changes: Change[]): Change {
  assert.equal(changes.length, 1);
  return changes[0]!;
}

function script(changes: Change[]): string {
  const change = only(changes);
  assert.equal(change.operations.length, 1);
  const op = change.operations[0]!;
  assert.ok(op.op === 'run' && op.phase === 'prepare', 'a prepare-phase run operation');
  return op.script;
}

/** Values that pass the schema but would break or exploit a badly quoted command line. */
const HOSTILE_COMMENT = `O'Brien "Bob" $(id) \`id\` ; rm -rf / # $HOME \\ *`;
const HOSTILE_HOME = "/srv/it's a home/$(id)";
const HOSTILE_SHELL = '/opt/my shell/bin/sh;id';

const UNIX_NAME = 'must be a Unix name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters';
const ABSOLUTE = 'must be an absolute path (starting with "/", without newlines)';

describe('user schema', () => {
  it('fills the defaults', () => {
    assert.deepEqual(parse({ name: 'deploy' }), { name: 'deploy', append: false, system: false, state: 'present' });
  });

  it('accepts every field, including a comment that is hostile to a shell', () => {
    const spec = parse({
      name: 'deploy',
      uid: 1001,
      group: 'deploy',
      groups: ['www-data'],
      append: true,
      system: false,
      shell: '/bin/bash',
      home: '/srv/deploy/',
      create_home: true,
      comment: HOSTILE_COMMENT,
      state: 'present',
    });
    assert.equal(spec.home, '/srv/deploy', 'the home path is normalised');
    assert.equal(spec.comment, HOSTILE_COMMENT);
  });

  for (const bad of ['deploy\nroot', 'deploy;id', 'Deploy', '-deploy', '$(id)', 'a'.repeat(33)]) {
    it(`refuses the name ${JSON.stringify(bad)}`, () => {
      assert.deepEqual(issues({ name: bad }), [{ path: ['name'], message: UNIX_NAME }]);
    });
  }

  it('refuses bad group names with the path of the offending entry', () => {
    assert.deepEqual(issues({ name: 'deploy', group: 'www data' }), [{ path: ['group'], message: UNIX_NAME }]);
    assert.deepEqual(issues({ name: 'deploy', groups: ['app', 'x;id'] }), [{ path: ['groups', 1], message: UNIX_NAME }]);
    assert.deepEqual(issues({ name: 'deploy', groups: 'app' }), [{ path: ['groups'], message: 'Invalid input: expected array, received string' }]);
  });

  it('refuses relative shell and home paths', () => {
    assert.deepEqual(issues({ name: 'deploy', shell: 'bash' }), [{ path: ['shell'], message: ABSOLUTE }]);
    assert.deepEqual(issues({ name: 'deploy', home: 'home/deploy' }), [{ path: ['home'], message: ABSOLUTE }]);
    assert.deepEqual(issues({ name: 'deploy', home: '/home/../root' }), [{ path: ['home'], message: 'must not contain ".." components' }]);
    assert.deepEqual(issues({ name: 'deploy', shell: '/bin/bash\n/bin/sh' }), [{ path: ['shell'], message: ABSOLUTE }]);
  });

  it('refuses a comment that would break /etc/passwd', () => {
    const message = 'must be one line without ":" (the /etc/passwd field separator)';
    assert.deepEqual(issues({ name: 'deploy', comment: 'a:b' }), [{ path: ['comment'], message }]);
    assert.deepEqual(issues({ name: 'deploy', comment: 'line\nbreak' }), [{ path: ['comment'], message }]);
  });

  it('refuses bad uids, unknown keys and append without groups', () => {
    assert.deepEqual(issues({ name: 'deploy', uid: 1.5 }), [{ path: ['uid'], message: 'must be a whole number' }]);
    assert.deepEqual(issues({ name: 'deploy', uid: -1 }), [{ path: ['uid'], message: 'must be between 0 and 4294967294' }]);
    assert.deepEqual(issues({ name: 'deploy', password: 'x' }), [{ path: [], message: 'Unrecognized key: "password"' }]);
    assert.deepEqual(issues({ name: 'deploy', append: true }), [{ path: ['append'], message: 'only applies together with groups' }]);
  });

  it('is identified by name and probes the user and every group it names', () => {
    assert.equal(userResource.type, 'user');
    assert.equal(userResource.id(parse({ name: 'deploy' })), 'deploy');
    assert.deepEqual(userResource.probes(parse({ name: 'deploy' })), [
      { kind: 'user', name: 'deploy' },
      { kind: 'group', name: 'deploy' },
    ]);
    assert.deepEqual(userResource.probes(parse({ name: 'deploy', group: 'www-data', groups: ['app', 'www-data'] })), [
      { kind: 'user', name: 'deploy' },
      { kind: 'group', name: 'app' },
      { kind: 'group', name: 'www-data' },
    ]);
    assert.deepEqual(userResource.probes(parse({ name: 'deploy', groups: ['app'], state: 'absent' })), [{ kind: 'user', name: 'deploy' }]);
  });
});

describe('user plan: converged', () => {
  it('returns no change when every declared attribute matches', () => {
    const spec = { name: 'deploy', uid: 1001, group: 'deploy', groups: ['www-data'], shell: '/bin/sh', home: '/home/deploy', comment: '' };
    assert.deepEqual(plan(spec, host([deploy])), []);
    assert.deepEqual(plan({ name: 'deploy' }, host([deploy])), [], 'undeclared attributes are left alone');
    assert.deepEqual(plan({ name: 'deploy', system: true, create_home: false }, host([deploy])), [], 'creation-only options');
  });

  it('ignores the primary group on both sides of the supplementary comparison', () => {
    assert.deepEqual(plan({ name: 'deploy', groups: ['deploy', 'www-data'] }, host([deploy])), []);
    assert.deepEqual(plan({ name: 'deploy', groups: ['www-data'] }, host([{ ...deploy, groups: ['deploy', 'www-data'] }])), []);
  });

  it('with append, only missing groups count', () => {
    assert.deepEqual(plan({ name: 'deploy', groups: ['www-data'], append: true }, host([{ ...deploy, groups: ['docker', 'www-data'] }])), []);
  });

  it('absent and not there', () => {
    assert.deepEqual(plan({ name: 'deploy', state: 'absent' }, host()), []);
  });
});

describe('user plan: create', () => {
  it('creates a system user in an existing group', () => {
    const changes = plan({ name: 'queueuser', system: true, groups: ['app'] }, host());
    const change = only(changes);
    assert.equal(change.resource, 'user[queueuser]');
    assert.equal(change.action, 'create');
    assert.equal(change.summary, 'create user queueuser (system, groups app)');
    assert.deepEqual(change.fields, [
      { name: 'group', after: 'queueuser' },
      { name: 'groups', after: '[app]' },
    ]);
    assert.equal(change.operations[0]!.op === 'run' && change.operations[0]!.describe, 'create user queueuser (system, groups app)');
    // No group named like the user: useradd creates it; a system account gets no home unless asked.
    assert.deepEqual(runStubbedHere(script(changes)), [['useradd', '--system', '--user-group', '--groups', 'app', '--no-create-home', 'queueuser']]);
  });

  it('creates a normal user with a home, joining its existing same-named group', () => {
    const changes = plan({ name: 'deploy', groups: ['www-data', 'app', 'www-data'] }, host());
    assert.equal(only(changes).summary, 'create user deploy (groups app, www-data)');
    assert.deepEqual(runStubbedHere(script(changes)), [['useradd', '--gid', 'deploy', '--groups', 'app,www-data', '--create-home', 'deploy']]);
  });

  it('passes every flag, and hostile values arrive as single arguments', () => {
    const spec = {
      name: 'svc',
      uid: 2001,
      group: 'app',
      groups: ['docker'],
      system: true,
      create_home: true,
      shell: HOSTILE_SHELL,
      home: HOSTILE_HOME,
      comment: HOSTILE_COMMENT,
    };
    const changes = plan(spec, host());
    const change = only(changes);
    assert.equal(change.summary, 'create user svc (system, uid 2001, groups docker)');
    assert.deepEqual(change.fields, [
      { name: 'uid', after: '2001' },
      { name: 'group', after: 'app' },
      { name: 'groups', after: '[docker]' },
      { name: 'shell', after: HOSTILE_SHELL },
      { name: 'home', after: HOSTILE_HOME },
      { name: 'comment', after: HOSTILE_COMMENT },
    ]);
    assert.deepEqual(runStubbedHere(script(changes)), [
      [
        'useradd',
        '--system',
        '--uid',
        '2001',
        '--gid',
        'app',
        '--groups',
        'docker',
        '--shell',
        HOSTILE_SHELL,
        '--home-dir',
        HOSTILE_HOME,
        '--create-home',
        '--comment',
        HOSTILE_COMMENT,
        'svc',
      ],
    ]);
  });

  it('a comment that looks like an option stays the option argument', () => {
    const changes = plan({ name: 'svc', comment: '--help -o' }, host());
    assert.deepEqual(runStubbedHere(script(changes)), [['useradd', '--user-group', '--create-home', '--comment', '--help -o', 'svc']]);
  });

  it('accepts groups declared for the host but not created yet', () => {
    const all: DesiredResource[] = [
      { type: 'group', id: 'queue', spec: { name: 'queue', state: 'present' } },
      { type: 'group', id: 'workers', spec: { name: 'workers' } },
    ];
    const changes = plan({ name: 'worker', group: 'queue', groups: ['workers'] }, host(), context(all));
    assert.deepEqual(runStubbedHere(script(changes)), [['useradd', '--gid', 'queue', '--groups', 'workers', '--create-home', 'worker']]);
  });

  it('uses --gid for a declared group named like the user, --user-group for an undeclared one', () => {
    const declared: DesiredResource[] = [{ type: 'group', id: 'worker', spec: { name: 'worker' } }];
    assert.deepEqual(runStubbedHere(script(plan({ name: 'worker' }, host(), context(declared)))), [['useradd', '--gid', 'worker', '--create-home', 'worker']]);
    assert.deepEqual(runStubbedHere(script(plan({ name: 'worker', group: 'worker' }, host()))), [['useradd', '--user-group', '--create-home', 'worker']]);
  });

  it('plans the same command on RHEL (CREATE_HOME made explicit)', () => {
    const spec = { name: 'deploy', uid: 1001, groups: ['app'], shell: '/bin/bash' };
    const debian = plan(spec, host());
    const rhel = plan(spec, host([], HOST_GROUPS, rhelFacts));
    assert.deepEqual(rhel, debian);
    assert.deepEqual(runStubbedHere(script(rhel)), [['useradd', '--uid', '1001', '--gid', 'deploy', '--groups', 'app', '--shell', '/bin/bash', '--create-home', 'deploy']]);
  });

  it('refuses a group that neither exists nor is declared, naming it', () => {
    assert.throws(
      () => plan({ name: 'deploy', groups: ['www-data', 'ghosts'] }, host()),
      (err: unknown) => {
        assert.ok(err instanceof LanesError);
        assert.equal(err.message, 'user[deploy]: group ghosts does not exist on web1 and is not declared');
        assert.equal(err.hint, 'declare group ghosts, or remove it from the user');
        assert.deepEqual(err.location, { file: 'play.yml', line: 12, column: 5 });
        assert.equal(err.host, 'web1');
        return true;
      },
    );
    assert.throws(() => plan({ name: 'deploy', group: 'ghosts' }, host([deploy])), /group ghosts does not exist on web1/);
  });

  it('refuses a group declared absent', () => {
    const all: DesiredResource[] = [{ type: 'group', id: 'app', spec: { name: 'app', state: 'absent' } }];
    assert.throws(() => plan({ name: 'deploy', groups: ['app'] }, host([], [group('deploy', 1001)]), context(all)), {
      name: 'LanesError',
      message: 'user[deploy]: group app is declared absent for web1',
    });
  });
});

describe('user plan: update', () => {
  it('changes only the shell', () => {
    const changes = plan({ name: 'deploy', shell: '/bin/bash', home: '/home/deploy' }, host([deploy]));
    const change = only(changes);
    assert.equal(change.resource, 'user[deploy]');
    assert.equal(change.action, 'update');
    assert.equal(change.summary, 'user deploy: shell /bin/sh → /bin/bash');
    assert.deepEqual(change.fields, [{ name: 'shell', before: '/bin/sh', after: '/bin/bash' }]);
    assert.equal(change.notes, undefined);
    assert.deepEqual(runStubbedHere(script(changes)), [['usermod', '--shell', '/bin/bash', 'deploy']]);
  });

  it('changes uid and the exact set of groups together, with a note about file ownership', () => {
    const changes = plan({ name: 'deploy', uid: 1002, groups: ['www-data', 'app'] }, host([deploy]));
    const change = only(changes);
    assert.equal(change.summary, 'user deploy: uid 1001 → 1002, groups [www-data] → [app, www-data]');
    assert.deepEqual(change.fields, [
      { name: 'uid', before: '1001', after: '1002' },
      { name: 'groups', before: '[www-data]', after: '[app, www-data]' },
    ]);
    assert.deepEqual(change.notes, ['usermod re-owns the files under /home/deploy only: files elsewhere keep uid 1001 (and it refuses while the user has running processes)']);
    assert.deepEqual(runStubbedHere(script(changes)), [['usermod', '--uid', '1002', '--groups', 'app,www-data', 'deploy']]);
  });

  it('removes supplementary groups not declared (exact set), down to none', () => {
    const member = { ...deploy, groups: ['docker', 'www-data'] };
    const fewer = plan({ name: 'deploy', groups: ['www-data'] }, host([member]));
    assert.equal(only(fewer).summary, 'user deploy: groups [docker, www-data] → [www-data]');
    assert.deepEqual(runStubbedHere(script(fewer)), [['usermod', '--groups', 'www-data', 'deploy']]);
    const none = plan({ name: 'deploy', groups: [] }, host([member]));
    assert.equal(only(none).summary, 'user deploy: groups [docker, www-data] → []');
    assert.deepEqual(runStubbedHere(script(none)), [['usermod', '--groups', '', 'deploy']]);
  });

  it('with append, only adds the missing groups', () => {
    const changes = plan({ name: 'deploy', groups: ['app', 'www-data'], append: true }, host([{ ...deploy, groups: ['docker', 'www-data'] }]));
    const change = only(changes);
    assert.equal(change.summary, 'user deploy: groups [docker, www-data] → [app, docker, www-data]');
    assert.deepEqual(runStubbedHere(script(changes)), [['usermod', '--append', '--groups', 'app', 'deploy']]);
  });

  it('changes the primary group, home (not moved) and a hostile comment', () => {
    const changes = plan({ name: 'deploy', group: 'www-data', home: HOSTILE_HOME, comment: HOSTILE_COMMENT }, host([deploy]));
    const change = only(changes);
    assert.equal(change.summary, `user deploy: group deploy → www-data, home /home/deploy → ${HOSTILE_HOME}, comment "" → ${JSON.stringify(HOSTILE_COMMENT)}`);
    assert.deepEqual(change.fields, [
      { name: 'group', before: 'deploy', after: 'www-data' },
      { name: 'home', before: '/home/deploy', after: HOSTILE_HOME },
      { name: 'comment', before: '', after: HOSTILE_COMMENT },
    ]);
    assert.deepEqual(change.notes, [`only the home directory entry changes: files in /home/deploy are not moved to ${HOSTILE_HOME}`]);
    assert.deepEqual(runStubbedHere(script(changes)), [['usermod', '--gid', 'www-data', '--home', HOSTILE_HOME, '--comment', HOSTILE_COMMENT, 'deploy']]);
  });
});

describe('user plan: absent', () => {
  it('deletes the user and keeps the home directory', () => {
    const changes = plan({ name: 'deploy', state: 'absent' }, host([deploy]));
    const change = only(changes);
    assert.equal(change.action, 'delete');
    assert.equal(change.summary, 'delete user deploy (home /home/deploy is kept)');
    assert.deepEqual(change.fields, [
      { name: 'uid', before: '1001' },
      { name: 'home', before: '/home/deploy' },
    ]);
    assert.deepEqual(runStubbedHere(script(changes)), [['userdel', 'deploy']]);
  });
});
