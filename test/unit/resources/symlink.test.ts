// symlink: an atomic switch to the declared target; a regular file or directory in the way is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { symlinkResource, symlinkSchema, type SymlinkSpec } from '../../../agent/resources/symlink.js';
import type { Change, FileState, PlanContext } from '../../../agent/resources/types.js';
import { actualState, fileState, files } from '../../support/actual.js';

const ctx: PlanContext = { host: 'web1', source: { file: 'deploy.yml', line: 8, column: 7 }, all: [] };
const parse = (value: unknown): SymlinkSpec => symlinkSchema.parse(value);

function issues(value: unknown): { path: PropertyKey[]; message: string }[] {
  const result = symlinkSchema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

function plan(spec: unknown, ...states: FileState[]): Change[] {
  return JSON.parse(JSON.stringify(symlinkResource.plan(parse(spec), actualState(undefined, { files: files(...states) }), ctx))) as Change[];
}

const CURRENT = '/srv/app/current';
const link = (target: string, attrs: Partial<FileState> = {}): FileState => ({ path: CURRENT, type: 'symlink', target, mode: '0777', owner: 'root', group: 'root', size: target.length, ...attrs });
const OWNER_NOTE = 'the owner applies to the link itself (chown -h), not to its target';

describe('symlink schema', () => {
  it('accepts absolute and relative targets', () => {
    assert.deepEqual(parse({ path: '/srv/app/current/', target: 'releases/5' }), { path: CURRENT, target: 'releases/5', state: 'present', force: true });
    assert.deepEqual(parse({ path: CURRENT, target: "/srv/app/releases/it's $(id)", owner: 'deploy' }), {
      path: CURRENT,
      target: "/srv/app/releases/it's $(id)",
      owner: 'deploy',
      state: 'present',
      force: true,
    });
  });

  it('refuses a missing, empty or multi-line target, a relative path and unknown keys', () => {
    assert.deepEqual(issues({ path: CURRENT }), [{ path: ['target'], message: 'Invalid input: expected string, received undefined' }]);
    assert.deepEqual(issues({ path: CURRENT, target: '' }), [{ path: ['target'], message: 'must not be empty' }]);
    assert.deepEqual(issues({ path: CURRENT, target: 'a\nb' }), [{ path: ['target'], message: 'must be on one line (no newline or NUL characters)' }]);
    assert.deepEqual(issues({ path: 'current', target: '/x' }), [{ path: ['path'], message: 'must be an absolute path (starting with "/", without newlines)' }]);
    assert.deepEqual(issues({ path: CURRENT, target: '/x', mode: '0777' }), [{ path: [], message: 'Unrecognized key: "mode"' }]);
    assert.deepEqual(issues({ path: CURRENT, target: '/x', force: 'no' }), [{ path: ['force'], message: 'Invalid input: expected boolean, received string' }]);
    assert.deepEqual(issues({ path: CURRENT, target: '/x', owner: 'a;b' }), [
      { path: ['owner'], message: 'must be a Unix name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters' },
    ]);
  });

  it('is identified by path and probes it', () => {
    const spec = parse({ path: CURRENT, target: '/x' });
    assert.equal(symlinkResource.type, 'symlink');
    assert.equal(symlinkResource.id(spec), CURRENT);
    assert.deepEqual(symlinkResource.probes(spec), [{ kind: 'file', path: CURRENT }]);
  });
});

describe('symlink plan', () => {
  it('is converged when the link points at the target (and has the declared owner)', () => {
    assert.deepEqual(plan({ path: CURRENT, target: '/srv/app/releases/5' }, link('/srv/app/releases/5')), []);
    assert.deepEqual(plan({ path: CURRENT, target: '/srv/app/releases/5', owner: 'deploy' }, link('/srv/app/releases/5', { owner: 'deploy' })), []);
    assert.deepEqual(plan({ path: CURRENT, target: '/x', state: 'absent' }), []);
  });

  it('creates a missing link', () => {
    assert.deepEqual(plan({ path: CURRENT, target: '/srv/app/releases/5' }), [
      {
        resource: `symlink[${CURRENT}]`,
        action: 'create',
        summary: `create symlink ${CURRENT} → /srv/app/releases/5`,
        fields: [{ name: 'target', after: '/srv/app/releases/5' }],
        operations: [{ op: 'symlink', path: CURRENT, target: '/srv/app/releases/5' }],
      },
    ]);
  });

  it('switches a link to a new target', () => {
    assert.deepEqual(plan({ path: CURRENT, target: '/srv/app/releases/6' }, link('/srv/app/releases/5')), [
      {
        resource: `symlink[${CURRENT}]`,
        action: 'update',
        summary: `symlink ${CURRENT}: target /srv/app/releases/5 → /srv/app/releases/6`,
        fields: [{ name: 'target', before: '/srv/app/releases/5', after: '/srv/app/releases/6' }],
        operations: [{ op: 'symlink', path: CURRENT, target: '/srv/app/releases/6' }],
      },
    ]);
  });

  it('sets the owner of the link after creating or switching it, and fixes a wrong owner alone', () => {
    const [created] = plan({ path: CURRENT, target: 'releases/5', owner: 'deploy' });
    assert.equal(created!.summary, `create symlink ${CURRENT} → releases/5 (owner deploy)`);
    assert.deepEqual(created!.operations, [
      { op: 'symlink', path: CURRENT, target: 'releases/5' },
      { op: 'attrs', path: CURRENT, owner: 'deploy' },
    ]);
    assert.deepEqual(created!.notes, [OWNER_NOTE]);

    const [switched] = plan({ path: CURRENT, target: 'releases/6', owner: 'deploy' }, link('releases/5', { owner: 'deploy' }));
    assert.deepEqual(switched!.fields, [{ name: 'target', before: 'releases/5', after: 'releases/6' }], 'owner unchanged: not a field');
    assert.deepEqual(switched!.operations, [
      { op: 'symlink', path: CURRENT, target: 'releases/6' },
      { op: 'attrs', path: CURRENT, owner: 'deploy' },
    ]);

    const [owner] = plan({ path: CURRENT, target: 'releases/5', owner: 'deploy' }, link('releases/5'));
    assert.equal(owner!.summary, `symlink ${CURRENT}: owner root → deploy`);
    assert.deepEqual(owner!.fields, [{ name: 'owner', before: 'root', after: 'deploy' }]);
    assert.deepEqual(owner!.operations, [{ op: 'attrs', path: CURRENT, owner: 'deploy' }]);
  });

  it('removes a link declared absent', () => {
    assert.deepEqual(plan({ path: CURRENT, target: '/srv/app/releases/5', state: 'absent' }, link('/srv/app/releases/5')), [
      {
        resource: `symlink[${CURRENT}]`,
        action: 'delete',
        summary: `remove symlink ${CURRENT} → /srv/app/releases/5`,
        fields: [{ name: 'target', before: '/srv/app/releases/5' }],
        operations: [{ op: 'remove', path: CURRENT }],
      },
    ]);
  });

  it('refuses a regular file or a directory in the way (present or absent)', () => {
    const inTheWay: FileState[] = [fileState(CURRENT, 'x'), { path: CURRENT, type: 'directory', mode: '0755', owner: 'root', group: 'root', size: 4096 }];
    for (const have of inTheWay) {
      for (const state of ['present', 'absent']) {
        assert.throws(
          () => plan({ path: CURRENT, target: '/srv/app/releases/5', state }, have),
          (err: unknown) => {
            assert.ok(err instanceof LanesError);
            const what = have.type === 'file' ? 'a regular file' : 'a directory';
            assert.equal(err.message, `symlink[${CURRENT}]: ${CURRENT} is ${what} on web1; lanes does not replace it with a symlink`);
            assert.deepEqual(err.location, ctx.source);
            return true;
          },
        );
      }
    }
  });
});

describe('symlink force: false', () => {
  it('creates a missing link but leaves an existing one where it points', () => {
    const spec = symlinkSchema.parse({ path: '/srv/app/current', target: 'releases/bootstrap', force: false });
    const ctx = { host: 'h1', all: [] };
    const missing = symlinkResource.plan(spec, actualState(), ctx);
    assert.equal(missing[0]?.action, 'create');
    const elsewhere = actualState(undefined, {
      files: files({ path: '/srv/app/current', type: 'symlink', mode: '0777', owner: 'root', group: 'root', size: 20, target: 'releases/r42' }),
    });
    assert.deepEqual(symlinkResource.plan(spec, elsewhere, ctx), []);
  });
});
