// The apply script run by a real sh on local temp files, the way the host runs it (`sh script.sh
// STATEDIR RUNDIR`, and through the detached launcher), with systemctl and supervisorctl stubbed:
// staged files checked before they go live, dot-file staging, restore on a failed validation (nothing
// reloaded), restore and re-run of the handlers when one fails, per-operation time limits, signals,
// the host-side lock, and the frames the caller parses.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseLimits } from '../../../agent/apply/limits.js';
import { parseApplyOutput } from '../../../agent/apply/outcome.js';
import { buildApplyScript, EXIT_BUSY, EXIT_COMMIT_FAILED, EXIT_HANDLER_FAILED, EXIT_VALIDATION_FAILED, validatorName } from '../../../agent/apply/script.js';
import { isStagingName, staleStagingChanges, stagingProbes } from '../../../agent/apply/staging.js';
import { launcherScript } from '../../../agent/remote/detached.js';
import { ATTRS_SHELL } from '../../../agent/remote/sh.js';
import type { Change } from '../../../agent/resources/types.js';
import { actualState, fileState, files } from '../../support/actual.js';

const NONCE = 'a0b1c2d3e4f5';

interface Run {
  code: number | null;
  stdout: string;
  calls: string[];
  dir: string;
  home: string;
  run: string;
}

type Changes = (dir: string) => Change[];

interface Setup {
  dir: string;
  bin: string;
  home: string;
  run: string;
  log: string;
  env: NodeJS.ProcessEnv;
}

/** A temp tree: files in dir, stubs in bin (systemctl reload fails when FAIL_RELOAD is set), state in home. */
function setup(env: Record<string, string> = {}): Setup {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-apply-'));
  const bin = path.join(dir, '.bin');
  const home = path.join(dir, '.state');
  const run = path.join(home, 'runs', NONCE);
  mkdirSync(bin);
  mkdirSync(run, { recursive: true });
  const log = path.join(dir, '.calls.log');
  writeFileSync(log, '');
  const stub = (name: string, body = '') => writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\nexit 0\n`, { mode: 0o755 });
  stub('systemctl', '[ "$1" = reload ] && [ -n "${FAIL_RELOAD:-}" ] && exit 1');
  stub('supervisorctl');
  writeFileSync(path.join(bin, 'nginx'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(path.join(dir, 'a.conf'), 'old a\n', { mode: 0o644 });
  return { dir, bin, home, run, log, env: { PATH: `${bin}:/usr/bin:/bin:/usr/sbin:/sbin`, ...env } };
}

function calls(s: Setup): string[] {
  return readFileSync(s.log, 'utf8').split('\n').filter(Boolean);
}

function script(s: Setup, changes: Changes, limits?: Partial<{ prepare: number; validate: number; handler: number }>): string {
  const { script: text } = buildApplyScript(changes(s.dir), NONCE, 'echo VERIFY-STATE', { prepare: 600, validate: 60, handler: 300, ...limits });
  writeFileSync(path.join(s.run, 'script.sh'), text);
  return text;
}

/** Run the script as the launcher starts it. */
function runScript(changes: Changes, env: Record<string, string> = {}, limits?: Partial<{ prepare: number; validate: number; handler: number }>, exposeDir = false): Run {
  const s = setup(env);
  if (exposeDir) s.env.LANES_TEST_DIR = s.dir;
  script(s, changes, limits);
  const r = spawnSync('/bin/sh', [path.join(s.run, 'script.sh'), s.home, s.run], { encoding: 'utf8', env: s.env });
  return { code: r.status, stdout: r.stdout + r.stderr, calls: calls(s), dir: s.dir, home: s.home, run: s.run };
}

const twoFiles =
  (validator: string, extra: Partial<Change> = {}): Changes =>
  (dir) => [
    {
      resource: 'file[a]',
      action: 'update',
      summary: 'update a',
      operations: [{ op: 'write', path: path.join(dir, 'a.conf'), content: "new a with 'quotes' and $(id)\n", mode: '0640' }],
      validators: [{ kind: 'command', command: validator, path: path.join(dir, 'a.conf') }],
      handlers: [{ kind: 'unit', unit: 'nginx.service', action: 'reload' }],
      ...extra,
    },
    {
      resource: 'file[b]',
      action: 'create',
      summary: 'create b',
      operations: [{ op: 'write', path: path.join(dir, 'b.conf'), content: '' }],
      validators: [{ kind: 'nginx-test' }],
      handlers: [{ kind: 'supervisor-update' }],
    },
  ];

/** A process that exists and is not a zombie (a killed orphan may wait a moment for init to reap it). */
function running(pid: number): boolean {
  const stat = spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout;
  return stat !== '' && !/^\d+ \(.*\) Z /.test(stat);
}

/** Files lanes staged or left behind in dir (dot-files included). */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => /lanes-/.test(f));
}

describe('apply script', () => {
  it('checks the staged file, commits, validates the live tree, then runs the handlers and the verify read', () => {
    // nginx -t (a stub that logs) validates the live tree after the commit.
    const r = runScript(twoFiles('grep -q "new a" %s'), {});
    assert.equal(r.code, 0, r.stdout);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), "new a with 'quotes' and $(id)\n");
    assert.equal(readFileSync(path.join(r.dir, 'b.conf'), 'utf8'), '');
    assert.equal(spawnSync('stat', ['-c', '%a', path.join(r.dir, 'a.conf')], { encoding: 'utf8' }).stdout.trim(), '640');
    assert.deepEqual(r.calls, ['supervisorctl update', 'systemctl reload nginx.service'], 'nginx reloads last, supervisor before it');
    assert.match(r.stdout, /VERIFY-STATE/);
    assert.deepEqual(leftovers(r.dir), [], 'no staged or restore files remain');
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.equal(o.done, true);
    assert.deepEqual(
      o.steps.map((s) => s.phase),
      ['stage', 'check', 'commit', 'validate', 'handler', 'handler', 'verify'],
    );
    assert.equal(o.steps[1]!.label, `grep -q "new a" ${path.join(r.dir, 'a.conf')}`, 'the check is named with the live path');
    assert.equal(readFileSync(path.join(r.run, 'rc'), 'utf8'), '0\n');
    assert.equal(existsSync(path.join(r.run, 'bak')), false, 'backups are removed at the end');
  });

  it('a failed check of the staged file never touches the live file', () => {
    const r = runScript(twoFiles('echo "syntax error near line 1" >&2; false %s'));
    assert.equal(r.code, EXIT_VALIDATION_FAILED);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), 'old a\n');
    assert.equal(existsSync(path.join(r.dir, 'b.conf')), false, 'nothing was committed');
    assert.deepEqual(r.calls, [], 'no handler ran');
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.deepEqual(o.failure, { phase: 'check', index: 0, output: 'syntax error near line 1' });
    assert.equal(o.restored, false);
    assert.deepEqual(leftovers(r.dir), []);
  });

  it('%s is the complete staged file in the run\'s root-only staging directory, never in the destination directory', () => {
    const r = runScript(twoFiles('ls -A "$(dirname %s)/../.." > "$LANES_TEST_DIR/listing"; stat -c "%a %n" "$(dirname %s)" %s > "$LANES_TEST_DIR/checked"'), {}, undefined, true);
    assert.equal(r.code, 0, r.stdout);
    const [dirLine, fileLine] = readFileSync(path.join(r.dir, 'checked'), 'utf8').trim().split('\n');
    assert.equal(dirLine, `700 ${path.join(r.run, 'stage')}`, 'a directory only its owner (root) can enter');
    assert.equal(fileLine, `640 ${path.join(r.run, 'stage', 'w0')}`, 'staged with its final mode already');
    const listing = readFileSync(path.join(r.dir, 'listing'), 'utf8').split('\n');
    assert.deepEqual(listing.filter((f) => /lanes/.test(f)), [], 'nothing staged in the destination directory');
    assert.equal(existsSync(path.join(r.run, 'stage')), false, 'the staging directory is removed at the end');
  });

  it("a path with $&, $' and quotes reaches the validator as itself, and is named as itself", () => {
    const name = "a$&b$'c \"d\".conf";
    assert.equal(validatorName({ kind: 'command', command: 'visudo -cf %s', path: `/etc/sudoers.d/${name}` }), `visudo -cf /etc/sudoers.d/${name}`);
    const r = runScript((dir) => [
      {
        resource: 'file[odd]',
        action: 'create',
        summary: 'create odd',
        operations: [{ op: 'write', path: path.join(dir, name), content: 'new odd\n' }],
        // The staged copy must be what %s names: it holds the new content, and its name is a dot-file beside the target.
        validators: [{ kind: 'command', command: `sh -c 'grep -q "new odd" "$1" && case "$1" in */.*) exit 0 ;; esac; exit 1' _ %s`, path: path.join(dir, name) }],
      },
    ]);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(readFileSync(path.join(r.dir, name), 'utf8'), 'new odd\n');
  });

  it('a validate command without %s checks the live tree, after the commit', () => {
    const r = runScript(twoFiles('grep -q "new a" a.conf && grep -q "new a" "$PWD/a.conf"'));
    assert.equal(r.code, EXIT_VALIDATION_FAILED, 'run from another directory, it cannot see a.conf: fails, after the commit');
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.deepEqual(o.steps.map((st) => st.phase).slice(0, 3), ['stage', 'commit', 'validate']);
    assert.equal(o.restored, true);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), 'old a\n');
  });

  it('restores every file and reloads nothing when a live-tree validator fails', () => {
    const s = setup();
    writeFileSync(path.join(s.bin, 'nginx'), '#!/bin/sh\necho "nginx: [emerg] duplicate upstream" >&2\nexit 1\n', { mode: 0o755 });
    script(s, twoFiles('true'));
    const r = spawnSync('/bin/sh', [path.join(s.run, 'script.sh'), s.home, s.run], { encoding: 'utf8', env: s.env });
    assert.equal(r.status, EXIT_VALIDATION_FAILED, r.stdout);
    assert.equal(readFileSync(path.join(s.dir, 'a.conf'), 'utf8'), 'old a\n');
    assert.equal(existsSync(path.join(s.dir, 'b.conf')), false, 'a new file is removed again');
    assert.deepEqual(calls(s), []);
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.deepEqual(o.failure, { phase: 'validate', index: 1, output: 'nginx: [emerg] duplicate upstream' });
    assert.equal(o.restored, true);
    assert.deepEqual(leftovers(s.dir), []);
  });

  it('restores the files and runs the handlers again on them when a handler fails', () => {
    const r = runScript(twoFiles('true'), { FAIL_RELOAD: '1' });
    assert.equal(r.code, EXIT_HANDLER_FAILED);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), 'old a\n');
    assert.equal(existsSync(path.join(r.dir, 'b.conf')), false);
    assert.deepEqual(r.calls, ['supervisorctl update', 'systemctl reload nginx.service', 'supervisorctl update', 'systemctl reload nginx.service']);
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.equal(o.failure?.phase, 'handler');
    assert.equal(o.failure?.index, 1);
    assert.equal(o.restored, true);
  });

  it('a validator over its time limit is stopped (with what it started), fails naming the limit, and restores', () => {
    const r = runScript(
      (dir) => [
        {
          resource: 'file[a]',
          action: 'update',
          summary: 'update a',
          operations: [{ op: 'write', path: path.join(dir, 'a.conf'), content: 'new\n' }],
          validators: [{ kind: 'command', command: `sh -c 'sleep 30; true' lanes-slow-${NONCE}` }],
        },
      ],
      {},
      { validate: 1 },
    );
    assert.equal(r.code, EXIT_VALIDATION_FAILED, r.stdout);
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.equal(o.failure?.phase, 'validate');
    assert.equal(o.failure?.timedOutAfter, 1);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), 'old a\n');
    const left = spawnSync('pgrep', ['-f', `lanes-slow-${NONCE}`], { encoding: 'utf8' });
    assert.equal(left.stdout.trim(), '', 'the validator and its children are gone');
  });

  it('SIGTERM while a live-tree validator runs stops it, restores what was committed and still writes rc', async () => {
    const s = setup();
    writeFileSync(path.join(s.bin, 'nginx'), `#!/bin/sh\necho $$ > ${s.dir}/.validator.pid\ntouch ${s.dir}/.validating\nexec sleep 20\n`, { mode: 0o755 });
    script(s, twoFiles('true'));
    const child = spawn('/bin/sh', [path.join(s.run, 'script.sh'), s.home, s.run], { env: s.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 100 && !existsSync(path.join(s.dir, '.validating')); i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(readFileSync(path.join(s.dir, 'a.conf'), 'utf8'), "new a with 'quotes' and $(id)\n", 'committed before the validator');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    assert.equal(code, 143);
    const validator = Number(readFileSync(path.join(s.dir, '.validator.pid'), 'utf8'));
    // A killed process on a loaded machine may take a moment to be scheduled and die: up to 5 s,
    // far below the 20 s it sleeps when nobody stops it.
    for (let i = 0; i < 50 && running(validator); i++) await new Promise((res) => setTimeout(res, 100));
    assert.ok(!running(validator), 'the validator was stopped, not waited for');
    assert.equal(readFileSync(path.join(s.dir, 'a.conf'), 'utf8'), 'old a\n');
    assert.equal(existsSync(path.join(s.dir, 'b.conf')), false);
    assert.deepEqual(calls(s), [], 'nothing reloaded');
    const o = parseApplyOutput(out, NONCE);
    assert.equal(o.signal, 'TERM');
    assert.equal(o.restored, true);
    assert.equal(readFileSync(path.join(s.run, 'rc'), 'utf8'), '143\n');
    assert.deepEqual(leftovers(s.dir), []);
  });

  it('refuses to run while another apply holds the host lock, naming it', () => {
    const s = setup();
    script(s, twoFiles('true'));
    const lock = path.join(s.home, 'apply.lock');
    writeFileSync(lock, 'run 0123456789ab started 2026-01-01T00:00:00Z by ci\n');
    const r = spawnSync('flock', ['-n', lock, '/bin/sh', path.join(s.run, 'script.sh'), s.home, s.run], { encoding: 'utf8', env: s.env });
    assert.equal(r.status, EXIT_BUSY, r.stdout + r.stderr);
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.equal(o.busy, 'run 0123456789ab started 2026-01-01T00:00:00Z by ci');
    assert.equal(readFileSync(path.join(s.dir, 'a.conf'), 'utf8'), 'old a\n');
    assert.deepEqual(leftovers(s.dir), []);
  });

  it('a handler over its time limit fails naming the limit; files restored and the handlers run again on them', () => {
    const s = setup();
    writeFileSync(path.join(s.bin, 'systemctl'), `#!/bin/sh\necho "systemctl $*" >> ${s.log}\n[ -e ${s.dir}/.hung-once ] && exit 0\ntouch ${s.dir}/.hung-once\nexec sleep 30\n`, { mode: 0o755 });
    script(s, twoFiles('true'), { handler: 1 });
    const r = spawnSync('/bin/sh', [path.join(s.run, 'script.sh'), s.home, s.run], { encoding: 'utf8', env: s.env });
    assert.equal(r.status, EXIT_HANDLER_FAILED, r.stdout);
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.deepEqual([o.failure?.phase, o.failure?.index, o.failure?.timedOutAfter], ['handler', 1, 1]);
    assert.equal(o.recoverFailed, false, 'the handlers ran again on the restored files');
    assert.equal(readFileSync(path.join(s.dir, 'a.conf'), 'utf8'), 'old a\n');
  });

  it('changes owner and mode in place, and restores them when validation fails', () => {
    const attrs: Changes = (dir) => [
      { resource: 'directory[d]', action: 'update', summary: 'mode', operations: [{ op: 'attrs', path: path.join(dir, 'a.conf'), mode: '0600' }], validators: [{ kind: 'command', command: 'exit "${FAIL_VALIDATE:-0}"' }] },
    ];
    const ok = runScript(attrs);
    assert.equal(ok.code, 0, ok.stdout);
    assert.equal(spawnSync('stat', ['-c', '%a', path.join(ok.dir, 'a.conf')], { encoding: 'utf8' }).stdout.trim(), '600');
    const bad = runScript(attrs, { FAIL_VALIDATE: '1' });
    assert.equal(bad.code, EXIT_VALIDATION_FAILED, bad.stdout);
    assert.equal(spawnSync('stat', ['-c', '%a', path.join(bad.dir, 'a.conf')], { encoding: 'utf8' }).stdout.trim(), '644');
  });

  it('a symlink planted at the destination is replaced by the file, never written through', () => {
    const r = runScript((dir) => {
      writeFileSync(path.join(dir, 'sentinel'), 'root only\n', { mode: 0o600 });
      rmSync(path.join(dir, 'a.conf'));
      symlinkSync(path.join(dir, 'sentinel'), path.join(dir, 'a.conf'));
      return [{ resource: 'file[a]', action: 'update', summary: 'a', operations: [{ op: 'write', path: path.join(dir, 'a.conf'), content: 'mine\n', mode: '0644' }] }];
    });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(readFileSync(path.join(r.dir, 'sentinel'), 'utf8'), 'root only\n');
    assert.equal(statSync(path.join(r.dir, 'sentinel')).mode & 0o777, 0o600);
    assert.equal(lstatSync(path.join(r.dir, 'a.conf')).isFile(), true);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), 'mine\n');
  });

  it('an owner/mode change refuses a path that is a symlink, naming it; nothing changes through it', () => {
    const r = runScript((dir) => {
      writeFileSync(path.join(dir, 'sentinel'), 'root only\n', { mode: 0o600 });
      symlinkSync(path.join(dir, 'sentinel'), path.join(dir, 'link.conf'));
      return [
        { resource: 'file[b]', action: 'create', summary: 'b', operations: [{ op: 'write', path: path.join(dir, 'b.conf'), content: 'b\n' }] },
        { resource: 'file[l]', action: 'update', summary: 'mode', operations: [{ op: 'attrs', path: path.join(dir, 'link.conf'), mode: '0666' }] },
      ];
    });
    assert.equal(r.code, EXIT_COMMIT_FAILED, r.stdout);
    const o = parseApplyOutput(r.stdout, NONCE);
    assert.equal(o.failure?.phase, 'commit');
    assert.match(o.failure?.output ?? '', /link\.conf is a symbolic link: lanes does not change owner or mode through a link/);
    assert.equal(statSync(path.join(r.dir, 'sentinel')).mode & 0o777, 0o600);
    assert.equal(existsSync(path.join(r.dir, 'b.conf')), false, 'what was committed before is restored');
  });

  it('a directory to create that turned into a symlink is refused, not chmod-ed through', () => {
    const r = runScript((dir) => {
      mkdirSync(path.join(dir, 'private'), { mode: 0o700 });
      symlinkSync(path.join(dir, 'private'), path.join(dir, 'public'));
      return [{ resource: 'directory[p]', action: 'create', summary: 'p', operations: [{ op: 'mkdir', path: path.join(dir, 'public'), mode: '0777' }] }];
    });
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(parseApplyOutput(r.stdout, NONCE).failure?.output ?? '', /public is a symbolic link/);
    assert.equal(statSync(path.join(r.dir, 'private')).mode & 0o777, 0o700);
  });

  it('switches a symlink atomically and removes files', () => {
    const r = runScript((dir) => [
      { resource: 'symlink[cur]', action: 'create', summary: 's', operations: [{ op: 'symlink', path: path.join(dir, 'current'), target: 'releases/r1' }] },
      { resource: 'file[a]', action: 'delete', summary: 'd', operations: [{ op: 'remove', path: path.join(dir, 'a.conf') }] },
    ]);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(spawnSync('readlink', [path.join(r.dir, 'current')], { encoding: 'utf8' }).stdout.trim(), 'releases/r1');
    assert.equal(existsSync(path.join(r.dir, 'a.conf')), false);
    assert.deepEqual(leftovers(r.dir), []);
  });
});

describe('lanes_attrs (owner and mode without following links)', () => {
  /** A PATH with only the tools lanes_attrs may use, and perl / python3 only when asked for. */
  function restrictedPath(dir: string, withTool: 'perl' | 'python3' | 'none'): string {
    const bin = path.join(dir, `bin-${withTool}`);
    mkdirSync(bin);
    const tools = ['sh', 'chown', 'chmod', 'id', 'getent', 'cut', 'grep', 'cat', ...(withTool === 'none' ? [] : [withTool])];
    for (const t of tools) {
      // The system's own interpreter, not a version manager's shim (pyenv's is a bash script).
      const where = existsSync(`/usr/bin/${t}`) ? `/usr/bin/${t}` : spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
      assert.ok(where, `${t} is installed`);
      symlinkSync(where, path.join(bin, t));
    }
    return bin;
  }

  for (const tool of ['perl', 'python3', 'none'] as const) {
    it(`with ${tool === 'none' ? 'neither perl nor python3' : tool}: changes a file and a directory, refuses a symlink and a FIFO`, () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-attrs-'));
      writeFileSync(path.join(dir, 'f'), 'x', { mode: 0o644 });
      mkdirSync(path.join(dir, 'd'), { mode: 0o755 });
      writeFileSync(path.join(dir, 'sentinel'), 's', { mode: 0o600 });
      symlinkSync(path.join(dir, 'sentinel'), path.join(dir, 'l'));
      spawnSync('mkfifo', [path.join(dir, 'p')]);
      const run = (args: string[]) =>
        spawnSync('sh', ['-c', `${ATTRS_SHELL}\nlanes_attrs "$@"`, 'sh', ...args], { encoding: 'utf8', env: { PATH: restrictedPath(dir, tool) } });
      // Each call makes its own PATH directory; the previous one is removed first.
      const uid = String(process.getuid?.() ?? 0);
      const f = run([uid, '', '0640', path.join(dir, 'f')]);
      assert.equal(f.status, 0, f.stderr);
      assert.equal(statSync(path.join(dir, 'f')).mode & 0o7777, 0o640);
      rmSync(path.join(dir, `bin-${tool}`), { recursive: true });
      const d = run(['', '', '2750', path.join(dir, 'd')]);
      assert.equal(d.status, 0, d.stderr);
      assert.equal(statSync(path.join(dir, 'd')).mode & 0o7777, 0o2750);
      rmSync(path.join(dir, `bin-${tool}`), { recursive: true });
      const l = run(['', '', '0666', path.join(dir, 'l')]);
      assert.notEqual(l.status, 0);
      assert.match(l.stderr, /\/l is a symbolic link: lanes does not change owner or mode through a link/);
      assert.equal(statSync(path.join(dir, 'sentinel')).mode & 0o7777, 0o600);
      if (tool !== 'none') {
        rmSync(path.join(dir, `bin-${tool}`), { recursive: true });
        const p = run(['', '', '0666', path.join(dir, 'p')]);
        assert.notEqual(p.status, 0);
        assert.match(p.stderr, /\/p is neither a file nor a directory/);
      }
      rmSync(dir, { recursive: true, force: true });
    });
  }
});

describe('detached launcher', () => {
  function launch(s: Setup, text: string) {
    const child = spawn('/bin/sh', ['-c', launcherScript(NONCE, s.home)], { env: s.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(text);
    return { child, output: () => out, code: new Promise<number | null>((res) => child.on('close', (c) => res(c))) };
  }

  it('runs the script from stdin, follows its output, exits with its code and removes the run directory', async () => {
    const s = setup();
    spawnSync('rmdir', [s.run]);
    const text = buildApplyScript(twoFiles('true')(s.dir), NONCE, 'echo VERIFY-STATE').script;
    const l = launch(s, text);
    assert.equal(await l.code, 0, l.output());
    assert.equal(parseApplyOutput(l.output(), NONCE).done, true);
    assert.match(l.output(), /VERIFY-STATE/);
    assert.equal(existsSync(s.run), false);
  });

  it('the script finishes on its own when the follower is killed (the SSH channel died)', async () => {
    const s = setup();
    spawnSync('rmdir', [s.run]);
    writeFileSync(path.join(s.bin, 'nginx'), `#!/bin/sh\ntouch ${s.dir}/.validating\nsleep 1\n`, { mode: 0o755 });
    const l = launch(s, buildApplyScript(twoFiles('true')(s.dir), NONCE, 'echo VERIFY-STATE').script);
    for (let i = 0; i < 100 && !existsSync(path.join(s.dir, '.validating')); i++) await new Promise((res) => setTimeout(res, 50));
    l.child.kill('SIGKILL');
    await l.code;
    for (let i = 0; i < 100 && !existsSync(path.join(s.run, 'rc')); i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(readFileSync(path.join(s.run, 'rc'), 'utf8'), '0\n', 'the script completed');
    assert.equal(parseApplyOutput(readFileSync(path.join(s.run, 'out'), 'utf8'), NONCE).done, true);
    assert.deepEqual(calls(s), ['supervisorctl update', 'systemctl reload nginx.service']);
    assert.equal(existsSync(path.join(s.run, 'script.sh')), false, 'the script (file contents) is not kept');
  });
});

describe('stale staging', () => {
  it('knows lanes staging names, old and new, and nothing else', () => {
    for (const n of ['.app.conf.lanes-Ab12Cd', '.current.lanes-link-a0b1c2d3e4f5', '.app.conf.lanes-restore-a0b1c2d3e4f5', 'app.conf.lanes-Ab12Cd', 'app.conf.lanes-restore']) {
      assert.ok(isStagingName(n), n);
    }
    for (const n of ['app.conf', '.app.conf', 'app.conf.lanes-toolong1', 'lanes-Ab12Cd', 'app.conf.lanes-']) assert.ok(!isStagingName(n), n);
  });

  it('plans the removal of staging files in the directories a playbook manages', () => {
    const probes = [{ kind: 'file' as const, path: '/etc/nginx/sites-enabled/app.conf' }];
    assert.deepEqual(stagingProbes(probes), [
      { kind: 'file', path: '/etc/nginx/sites-enabled/.*.lanes-*' },
      { kind: 'file', path: '/etc/nginx/sites-enabled/*.lanes-*' },
    ]);
    const actual = actualState(undefined, {
      files: files(
        fileState('/etc/nginx/sites-enabled/app.conf.lanes-Ab12Cd', 'x'),
        fileState('/etc/nginx/sites-enabled/.app.conf.lanes-Zz99Yy', 'x'),
        fileState('/etc/other/x.lanes-Ab12Cd', 'x'),
      ),
    });
    const changes = staleStagingChanges(probes, actual);
    assert.deepEqual(
      changes.map((c) => c.operations),
      [[{ op: 'remove', path: '/etc/nginx/sites-enabled/.app.conf.lanes-Zz99Yy' }], [{ op: 'remove', path: '/etc/nginx/sites-enabled/app.conf.lanes-Ab12Cd' }]],
    );
  });
});

describe('operation limits', () => {
  it('reads KIND=SECONDS pairs and refuses anything else', () => {
    assert.deepEqual(parseLimits('validate=5, handler=120'), { validate: 5, handler: 120 });
    assert.deepEqual(parseLimits(undefined), {});
    assert.throws(() => parseLimits('validate=0'), /not a limit/);
    assert.throws(() => parseLimits('reload=5'), /not a limit/);
  });
});
