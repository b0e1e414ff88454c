// directory: mkdir with attributes, an attrs fix for only what differs; never replaces a file or
// symlink, and never removes (refused by the schema).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { directoryResource, directorySchema, type DirectorySpec } from '../../../agent/resources/directory.js';
import type { Change, FileState, PlanContext } from '../../../agent/resources/types.js';
import { actualState, fileState, files } from '../../support/actual.js';

const ctx: PlanContext = { host: 'web1', source: { file: 'play.yml', line: 30, column: 7 }, all: [] };
const parse = (value: unknown): DirectorySpec => directorySchema.parse(value);

function issues(value: unknown): { path: PropertyKey[]; message: string }[] {
  const result = directorySchema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

function plan(spec: unknown, ...states: FileState[]): Change[] {
  return JSON.parse(JSON.stringify(directoryResource.plan(parse(spec), actualState(undefined, { files: files(...states) }), ctx))) as Change[];
}

const dir = (path: string, attrs: Partial<FileState> = {}): FileState => ({ path, type: 'directory', mode: '0755', owner: 'root', group: 'root', size: 4096, ...attrs });

describe('directory schema', () => {
  it('accepts path, owner, group, mode and normalises the path', () => {
    assert.deepEqual(parse({ path: '/srv/app/shared/', owner: 'deploy', group: 'www-data', mode: '2775' }), {
      path: '/srv/app/shared',
      owner: 'deploy',
      group: 'www-data',
      mode: '2775',
      state: 'present',
    });
    assert.equal(parse({ path: '/srv/app', mode: '755' }).mode, '0755');
  });

  it('refuses state absent, saying why', () => {
    assert.deepEqual(issues({ path: '/srv/app', state: 'absent' }), [
      { path: ['state'], message: 'must be "present": lanes does not remove directories (removing a directory tree is out of scope; do it by hand)' },
    ]);
  });

  it('refuses relative paths, bad modes, bad owners and unknown keys', () => {
    assert.deepEqual(issues({ path: 'srv/app' }), [{ path: ['path'], message: 'must be an absolute path (starting with "/", without newlines)' }]);
    assert.deepEqual(issues({ path: '/srv/app', mode: '0778' }), [{ path: ['mode'], message: 'must be an octal mode in quotes, e.g. "0644"' }]);
    assert.deepEqual(issues({ path: '/srv/app', group: 'www data' }), [
      { path: ['group'], message: 'must be a Unix name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters' },
    ]);
    assert.deepEqual(issues({ path: '/srv/app', recurse: true }), [{ path: [], message: 'Unrecognized key: "recurse"' }]);
  });

  it('is identified by path and probes it', () => {
    const spec = parse({ path: '/srv/app' });
    assert.equal(directoryResource.type, 'directory');
    assert.equal(directoryResource.id(spec), '/srv/app');
    assert.deepEqual(directoryResource.probes(spec), [{ kind: 'file', path: '/srv/app' }]);
  });
});

describe('directory plan', () => {
  it('is converged when the directory exists with the declared attributes', () => {
    assert.deepEqual(plan({ path: '/srv/app' }, dir('/srv/app', { owner: 'deploy', mode: '0700' })), [], 'nothing declared, nothing compared');
    assert.deepEqual(plan({ path: '/srv/app', owner: 'deploy', group: 'www-data', mode: '2775' }, dir('/srv/app', { owner: 'deploy', group: 'www-data', mode: '2775' })), []);
    assert.deepEqual(plan({ path: '/srv/app', mode: '755' }, dir('/srv/app', { mode: '755' })), [], 'modes compared normalised');
  });

  it('creates a missing directory with mkdir', () => {
    assert.deepEqual(plan({ path: '/srv/app/shared', owner: 'deploy', group: 'www-data', mode: '2775' }), [
      {
        resource: 'directory[/srv/app/shared]',
        action: 'create',
        summary: 'create directory /srv/app/shared (owner deploy, group www-data, mode 2775)',
        fields: [
          { name: 'owner', after: 'deploy' },
          { name: 'group', after: 'www-data' },
          { name: 'mode', after: '2775' },
        ],
        operations: [{ op: 'mkdir', path: '/srv/app/shared', owner: 'deploy', group: 'www-data', mode: '2775' }],
      },
    ]);
    assert.deepEqual(plan({ path: '/srv/app' }), [
      { resource: 'directory[/srv/app]', action: 'create', summary: 'create directory /srv/app', operations: [{ op: 'mkdir', path: '/srv/app' }] },
    ]);
  });

  it('fixes only the differing attributes', () => {
    assert.deepEqual(plan({ path: '/srv/app', owner: 'deploy', group: 'root', mode: '0750' }, dir('/srv/app')), [
      {
        resource: 'directory[/srv/app]',
        action: 'update',
        summary: 'directory /srv/app: owner root → deploy, mode 0755 → 0750',
        fields: [
          { name: 'owner', before: 'root', after: 'deploy' },
          { name: 'mode', before: '0755', after: '0750' },
        ],
        operations: [{ op: 'attrs', path: '/srv/app', owner: 'deploy', mode: '0750' }],
      },
    ]);
    const [groupOnly] = plan({ path: '/srv/app', group: 'www-data' }, dir('/srv/app'));
    assert.deepEqual(groupOnly!.operations, [{ op: 'attrs', path: '/srv/app', group: 'www-data' }]);
  });

  it('refuses a file or a symlink in the way, with a LanesError', () => {
    assert.throws(
      () => plan({ path: '/srv/app' }, fileState('/srv/app', 'oops\n')),
      (err: unknown) => {
        assert.ok(err instanceof LanesError);
        assert.equal(err.message, 'directory[/srv/app]: /srv/app is a regular file on web1; lanes does not replace it with a directory');
        assert.deepEqual(err.location, ctx.source);
        assert.equal(err.host, 'web1');
        return true;
      },
    );
    const link: FileState = { path: '/srv/app', type: 'symlink', target: '/data/app', mode: '0777', owner: 'root', group: 'root', size: 9 };
    assert.throws(() => plan({ path: '/srv/app' }, link), { message: 'directory[/srv/app]: /srv/app is a symlink to /data/app on web1; lanes does not replace it with a directory' });
  });
});
