// file: content, owner, group and mode through the shared managed-file comparison, plus the file's own
// validator and the unit handler, which follow the content (not an attribute-only change).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { fileResource, fileSchema, normalizePath, type FileSpec } from '../../../agent/resources/file.js';
import { sha256Hex } from '../../../agent/resources/managed-file.js';
import type { Change, FileState, PlanContext } from '../../../agent/resources/types.js';
import { actualState, fileState, files } from '../../support/actual.js';

const ctx: PlanContext = { host: 'web1', source: { file: 'play.yml', line: 20, column: 7 }, all: [] };

const parse = (value: unknown): FileSpec => fileSchema.parse(value);

function issues(value: unknown): { path: PropertyKey[]; message: string }[] {
  const result = fileSchema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

/** Plan against the given files; JSON round trip so that absent optional keys compare equal. */
function plan(spec: unknown, ...states: FileState[]): Change[] {
  return JSON.parse(JSON.stringify(fileResource.plan(parse(spec), actualState(undefined, { files: files(...states) }), ctx))) as Change[];
}

const PATH = '/etc/sudoers.d/deploy';
const OLD = 'deploy ALL=(root) NOPASSWD: /usr/bin/systemctl reload php8.2-fpm\n';
const NEW = 'deploy ALL=(root) NOPASSWD: /usr/bin/systemctl reload php8.2-fpm, /usr/bin/systemctl reload nginx\n';
const SUDOERS = { path: PATH, content: NEW, mode: '0440', validate: 'visudo -cf %s' };
const ABSOLUTE = 'must be an absolute path (starting with "/", without newlines)';

describe('file schema', () => {
  it('fills state present (the mode is chosen at plan time: 0644, or private when sensitive)', () => {
    assert.deepEqual(parse({ path: '/etc/motd', content: 'hi\n' }), { path: '/etc/motd', content: 'hi\n', state: 'present' });
  });

  it('accepts every field', () => {
    const spec = parse({ path: '/etc/nginx/nginx.conf', content: 'x', owner: 'root', group: 'www-data', mode: '640', validate: 'nginx -t', reload: 'nginx' });
    assert.equal(spec.mode, '0640');
    assert.equal(spec.reload, 'nginx');
  });

  it('normalises the path to the form the probe reports', () => {
    assert.equal(parse({ path: '/etc//nginx/./conf.d/app.conf', content: '' }).path, '/etc/nginx/conf.d/app.conf');
    assert.equal(normalizePath('/srv/app/'), '/srv/app');
    assert.equal(normalizePath('/'), '/');
  });

  it('does not need content when absent', () => {
    assert.deepEqual(parse({ path: '/etc/motd', state: 'absent' }), { path: '/etc/motd', state: 'absent' });
  });

  it('refuses a missing content or a NUL byte in it', () => {
    assert.deepEqual(issues({ path: '/etc/motd' }), [{ path: ['content'], message: 'is required (unless state is absent)' }]);
    assert.deepEqual(issues({ path: '/etc/motd', content: 'a\0b' }), [{ path: ['content'], message: 'must not contain a NUL byte (binary files are not supported)' }]);
  });

  it('refuses relative, multi-line, ".." and glob paths', () => {
    assert.deepEqual(issues({ path: 'etc/motd', content: '' }), [{ path: ['path'], message: ABSOLUTE }]);
    assert.deepEqual(issues({ path: '/etc/motd\n/etc/passwd', content: '' }), [{ path: ['path'], message: ABSOLUTE }]);
    assert.deepEqual(issues({ path: '/etc/../root/x', content: '' }), [{ path: ['path'], message: 'must not contain ".." components' }]);
    assert.deepEqual(issues({ path: '/etc/nginx/*.conf', content: '' }), [{ path: ['path'], message: 'must not contain glob characters ("*", "?" or "[")' }]);
  });

  it('refuses a bad mode, owner or unit name', () => {
    const MODE = 'must be an octal mode in quotes, e.g. "0644"';
    assert.deepEqual(issues({ path: '/etc/motd', content: '', mode: '0999' }), [{ path: ['mode'], message: MODE }]);
    assert.deepEqual(issues({ path: '/etc/motd', content: '', mode: 'u+rw' }), [{ path: ['mode'], message: MODE }]);
    assert.deepEqual(issues({ path: '/etc/motd', content: '', owner: 'root;id' }), [
      { path: ['owner'], message: 'must be a Unix name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters' },
    ]);
    assert.deepEqual(issues({ path: '/etc/motd', content: '', reload: 'nginx; reboot' }), [
      { path: ['reload'], message: 'must contain only letters, digits, ".", "_", "-" or "@" (no spaces, newlines or shell metacharacters)' },
    ]);
  });

  it('refuses a multi-line validate command, reload with restart, and unknown keys', () => {
    assert.deepEqual(issues({ path: '/etc/motd', content: '', validate: 'true\nreboot' }), [
      { path: ['validate'], message: 'a validate command must be on one line (no newline or NUL characters)' },
    ]);
    assert.deepEqual(issues({ path: '/etc/motd', content: '', reload: 'nginx', restart: 'nginx' }), [
      { path: ['restart'], message: 'set either reload or restart, not both (a restart includes what a reload does)' },
    ]);
    assert.deepEqual(issues({ path: '/etc/motd', content: '', notify: 'nginx' }), [{ path: [], message: 'Unrecognized key: "notify"' }]);
  });

  it('is identified by path and probes it', () => {
    const spec = parse(SUDOERS);
    assert.equal(fileResource.type, 'file');
    assert.equal(fileResource.id(spec), PATH);
    assert.deepEqual(fileResource.probes(spec), [{ kind: 'file', path: PATH }]);
  });
});

describe('file plan', () => {
  it('is converged when content and attributes match', () => {
    assert.deepEqual(plan(SUDOERS, fileState(PATH, NEW, { mode: '0440' })), []);
    assert.deepEqual(plan({ path: '/etc/motd', content: 'hi\n' }, fileState('/etc/motd', 'hi\n')), [], 'default mode 0644');
    assert.deepEqual(plan({ path: '/etc/motd', state: 'absent' }), []);
  });

  it('compares a large file by checksum', () => {
    const big = fileState('/srv/big', '', { content: undefined, sha256: sha256Hex('payload'), size: 600 * 1024 });
    assert.deepEqual(plan({ path: '/srv/big', content: 'payload' }, big), []);
    const [change] = plan({ path: '/srv/big', content: 'other' }, big);
    assert.equal(change!.summary, 'update /srv/big');
    assert.match(change!.diff!, /previous content not shown/);
  });

  it('creates a missing file with its validator and handler', () => {
    assert.deepEqual(plan({ ...SUDOERS, owner: 'root', group: 'root', reload: 'sudo' }), [
      {
        resource: `file[${PATH}]`,
        action: 'create',
        summary: `create ${PATH}`,
        diff: `--- ${PATH}\n+++ ${PATH}\n@@ -0,0 +1,1 @@\n+${NEW}`,
        operations: [{ op: 'write', path: PATH, content: NEW, owner: 'root', group: 'root', mode: '0440' }],
        validators: [{ kind: 'command', command: 'visudo -cf %s', path: PATH }],
        handlers: [{ kind: 'unit', unit: 'sudo', action: 'reload' }],
      },
    ]);
  });

  it('updates changed content with a diff, keeping unspecified attributes', () => {
    const [change, ...rest] = plan({ path: '/etc/nginx/nginx.conf', content: 'worker_processes 4;\n', validate: 'nginx -t', restart: 'nginx' }, fileState('/etc/nginx/nginx.conf', 'worker_processes 2;\n'));
    assert.equal(rest.length, 0);
    assert.equal(change!.action, 'update');
    assert.equal(change!.summary, 'update /etc/nginx/nginx.conf');
    assert.equal(change!.diff, '--- /etc/nginx/nginx.conf\n+++ /etc/nginx/nginx.conf\n@@ -1,1 +1,1 @@\n-worker_processes 2;\n+worker_processes 4;\n');
    assert.deepEqual(change!.operations, [{ op: 'write', path: '/etc/nginx/nginx.conf', content: 'worker_processes 4;\n', owner: 'root', group: 'root', mode: '0644' }]);
    assert.deepEqual(change!.validators, [{ kind: 'command', command: 'nginx -t', path: '/etc/nginx/nginx.conf' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'unit', unit: 'nginx', action: 'restart' }]);
  });

  it('changes attributes alone with an attrs operation, fields, and no validator or handler', () => {
    const [change] = plan({ ...SUDOERS, owner: 'root', reload: 'sudo' }, fileState(PATH, NEW, { mode: '0644', owner: 'deploy' }));
    assert.deepEqual(change, {
      resource: `file[${PATH}]`,
      action: 'update',
      summary: `change owner, mode of ${PATH}`,
      fields: [
        { name: 'owner', before: 'deploy', after: 'root' },
        { name: 'mode', before: '0644', after: '0440' },
      ],
      operations: [{ op: 'attrs', path: PATH, owner: 'root', mode: '0440' }],
    });
  });

  it('replaces a symlink with a regular file, with a note', () => {
    const link: FileState = { path: '/etc/motd', type: 'symlink', target: '/run/motd', mode: '0777', owner: 'root', group: 'root', size: 9 };
    const [change] = plan({ path: '/etc/motd', content: 'hi\n' }, link);
    assert.equal(change!.action, 'create');
    assert.deepEqual(change!.fields, [{ name: 'type', before: 'symlink', after: 'file' }]);
    assert.deepEqual(change!.notes, ['/etc/motd is a symlink to /run/motd: it is replaced by a regular file (the link target is left alone)']);
  });

  it('refuses to replace a directory, with a LanesError at the playbook location', () => {
    const dir: FileState = { path: '/etc/nginx/conf.d', type: 'directory', mode: '0755', owner: 'root', group: 'root', size: 4096 };
    for (const spec of [{ path: '/etc/nginx/conf.d', content: '' }, { path: '/etc/nginx/conf.d', state: 'absent' }]) {
      assert.throws(
        () => plan(spec, dir),
        (err: unknown) => {
          assert.ok(err instanceof LanesError);
          assert.equal(err.message, 'file[/etc/nginx/conf.d]: /etc/nginx/conf.d is a directory on web1; lanes does not replace it with a file');
          assert.equal(err.hint, 'remove it by hand or choose another path');
          assert.deepEqual(err.location, ctx.source);
          return true;
        },
      );
    }
  });

  it('removes a file declared absent; only a validator that does not name the file still runs', () => {
    const [change] = plan({ path: '/etc/nginx/conf.d/old.conf', state: 'absent', validate: 'nginx -t', reload: 'nginx' }, fileState('/etc/nginx/conf.d/old.conf', 'server {}\n'));
    assert.deepEqual(change, {
      resource: 'file[/etc/nginx/conf.d/old.conf]',
      action: 'delete',
      summary: 'remove /etc/nginx/conf.d/old.conf',
      diff: '--- /etc/nginx/conf.d/old.conf\n+++ /etc/nginx/conf.d/old.conf\n@@ -1,1 +0,0 @@\n-server {}\n',
      operations: [{ op: 'remove', path: '/etc/nginx/conf.d/old.conf' }],
      validators: [{ kind: 'command', command: 'nginx -t' }],
      handlers: [{ kind: 'unit', unit: 'nginx', action: 'reload' }],
    });
    const [sudoers] = plan({ path: PATH, state: 'absent', validate: 'visudo -cf %s' }, fileState(PATH, OLD));
    assert.equal(sudoers!.validators, undefined);
  });

  it('removes a symlink declared absent as a file', () => {
    const link: FileState = { path: '/etc/motd', type: 'symlink', target: '/run/motd', mode: '0777', owner: 'root', group: 'root', size: 9 };
    const [change] = plan({ path: '/etc/motd', state: 'absent' }, link);
    assert.equal(change!.summary, 'remove symlink /etc/motd → /run/motd');
    assert.equal(change!.diff, undefined);
    assert.deepEqual(change!.operations, [{ op: 'remove', path: '/etc/motd' }]);
  });
});
