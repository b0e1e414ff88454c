// The apply script run by a real sh on local temp files, with systemctl and supervisorctl stubbed:
// staged atomic writes, restore on a failed validation (nothing reloaded), restore and re-run of the
// handlers when one fails, and the progress lines the caller parses.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseApplyOutput } from '../../../agent/apply/outcome.js';
import { buildApplyScript, EXIT_HANDLER_FAILED, EXIT_VALIDATION_FAILED } from '../../../agent/apply/script.js';
import type { Change } from '../../../agent/resources/types.js';

interface Run {
  code: number | null;
  stdout: string;
  calls: string[];
}

/** systemctl/supervisorctl stubs log their argv; `systemctl reload` fails when FAIL_RELOAD is set. */
function runScript(changes: Changes, env: Record<string, string> = {}): Run & { dir: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-apply-'));
  const bin = path.join(dir, 'bin');
  spawnSync('mkdir', [bin]);
  const log = path.join(dir, 'calls.log');
  writeFileSync(log, '');
  const stub = (name: string, body = '') => writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> ${log}\n${body}\nexit 0\n`, { mode: 0o755 });
  stub('systemctl', '[ "$1" = reload ] && [ -n "${FAIL_RELOAD:-}" ] && exit 1');
  stub('supervisorctl');
  const { script } = buildApplyScript(changes(dir), 'n0nce', 'echo VERIFY-STATE');
  const r = spawnSync('/bin/sh', ['-s'], { input: script, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, ...env } });
  return { code: r.status, stdout: r.stdout, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean), dir };
}
type Changes = (dir: string) => Change[];

const twoFiles = (validator: string): Changes => (dir) => [
  {
    resource: 'file[a]',
    action: 'update',
    summary: 'update a',
    operations: [{ op: 'write', path: path.join(dir, 'a.conf'), content: "new a with 'quotes' and $(id)\n", mode: '0640' }],
    validators: [{ kind: 'command', command: validator, path: path.join(dir, 'a.conf') }],
    handlers: [{ kind: 'unit', unit: 'nginx.service', action: 'reload' }],
  },
  {
    resource: 'file[b]',
    action: 'create',
    summary: 'create b',
    operations: [{ op: 'write', path: path.join(dir, 'b.conf'), content: '' }],
    handlers: [{ kind: 'supervisor-update' }],
  },
];

function seed(dir: string) {
  writeFileSync(path.join(dir, 'a.conf'), 'old a\n', { mode: 0o644 });
}

describe('apply script', () => {
  it('writes every file atomically, validates, then runs the handlers and the verify read', () => {
    const r = runScriptSeeded(twoFiles('grep -q "new a" %s'));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), "new a with 'quotes' and $(id)\n");
    assert.equal(readFileSync(path.join(r.dir, 'b.conf'), 'utf8'), '');
    assert.equal((spawnSync('stat', ['-c', '%a', path.join(r.dir, 'a.conf')], { encoding: 'utf8' }).stdout).trim(), '640');
    assert.deepEqual(r.calls, ['supervisorctl update', 'systemctl reload nginx.service'], 'nginx reloads last, supervisor before it');
    assert.match(r.stdout, /VERIFY-STATE/);
    assert.deepEqual(leftovers(r.dir), [], 'no temp or restore files remain');
    const o = parseApplyOutput(r.stdout, 'n0nce');
    assert.equal(o.done, true);
    assert.deepEqual(o.steps.map((s) => s.phase), ['stage', 'commit', 'validate', 'handler', 'handler', 'verify']);
  });

  it('restores every file and reloads nothing when validation fails', () => {
    const r = runScriptSeeded(twoFiles('echo "bad config at line 3" >&2; false'));
    assert.equal(r.code, EXIT_VALIDATION_FAILED);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), 'old a\n');
    assert.equal(existsSync(path.join(r.dir, 'b.conf')), false, 'a new file is removed again');
    assert.deepEqual(r.calls, [], 'no handler ran');
    const o = parseApplyOutput(r.stdout, 'n0nce');
    assert.deepEqual(o.failure, { phase: 'validate', index: 0, output: 'bad config at line 3' });
    assert.equal(o.restored, true);
    assert.deepEqual(leftovers(r.dir), []);
  });

  it('restores the files and runs the handlers again on them when a handler fails', () => {
    const r = runScriptSeeded(twoFiles('true'), { FAIL_RELOAD: '1' });
    assert.equal(r.code, EXIT_HANDLER_FAILED);
    assert.equal(readFileSync(path.join(r.dir, 'a.conf'), 'utf8'), 'old a\n');
    assert.equal(existsSync(path.join(r.dir, 'b.conf')), false);
    assert.deepEqual(r.calls, ['supervisorctl update', 'systemctl reload nginx.service', 'supervisorctl update', 'systemctl reload nginx.service']);
    const o = parseApplyOutput(r.stdout, 'n0nce');
    assert.equal(o.failure?.phase, 'handler');
    assert.equal(o.restored, true);
  });

  it('switches a symlink atomically and removes files', () => {
    const r = runScriptSeeded((dir) => [
      { resource: 'symlink[cur]', action: 'create', summary: 's', operations: [{ op: 'symlink', path: path.join(dir, 'current'), target: 'releases/r1' }] },
      { resource: 'file[a]', action: 'delete', summary: 'd', operations: [{ op: 'remove', path: path.join(dir, 'a.conf') }] },
    ]);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(spawnSync('readlink', [path.join(r.dir, 'current')], { encoding: 'utf8' }).stdout.trim(), 'releases/r1');
    assert.equal(existsSync(path.join(r.dir, 'a.conf')), false);
  });
});

function runScriptSeeded(changes: Changes, env: Record<string, string> = {}) {
  // Seed before the script runs: the changes function receives the dir runScript creates.
  let seeded = false;
  return runScript((dir) => {
    if (!seeded) seed(dir);
    seeded = true;
    return changes(dir);
  }, env);
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => /lanes-/.test(f));
}
