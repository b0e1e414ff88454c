// The remote command wrapper (`lanes run`, release hooks) against a real local sh: the command reaches
// sh intact, exit code, stdout and stderr come back, the directory, user and environment apply, values
// are never in any argv, and the end of stdin (the channel closing: timeout, Ctrl-C, lost connection)
// kills the command's whole process group, children included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { REMOTE_COMMAND_LINE, remoteCommandInput, type RemoteCommand } from '../../../agent/remote/command.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'lanes-adhoc-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Run the command line as sshd would (`sh -c LINE`); stdin stays open until `closeAfterMs`. */
function run(shell: string, cwd?: string, closeAfterMs?: number, more: Partial<RemoteCommand> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', REMOTE_COMMAND_LINE], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.write(remoteCommandInput({ shell, cwd, ...more }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    if (closeAfterMs !== undefined) setTimeout(() => child.stdin.end(), closeAfterMs);
  });
}

function alive(pid: number): boolean {
  try {
    // A zombie (dead, not yet reaped by an init that is slow to reap) counts as dead.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('remote command wrapper', () => {
  it('sets the declared environment; its values are in no process argv; newlines survive', async () => {
    const r = await run('printf "%s|%s" "$APP_KEY" "$MULTI"; ps -eo args | grep -c "s3cr3t-valu[e]"', undefined, undefined, { env: { APP_KEY: 's3cr3t-value', MULTI: "a'b\nc" } });
    assert.equal(r.stdout, "s3cr3t-value|a'b\nc0\n");
    assert.equal(r.code, 1, 'grep -c found nothing (exit 1): the secret is in no argv');
    assert.ok(!REMOTE_COMMAND_LINE.includes('s3cr3t'));
  });

  it('refuses an environment name that is not a shell name', () => {
    assert.throws(() => remoteCommandInput({ shell: 'true', env: { 'A-B': 'x' } }), /not a valid environment variable name/);
    assert.throws(() => remoteCommandInput({ shell: 'true', env: { lanes_cmd: 'x' } }), /not a valid environment variable name/);
  });

  it('runs as another user through runuser (the wrapper runs as root), with that user\'s HOME', async () => {
    const r = await run('id -un; echo "$HOME"', '/', undefined, { user: 'nobody' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'nobody\n/nonexistent\n');
  });

  it('a command without its input line is refused (exit 125), nothing runs', async () => {
    const child = spawn('/bin/sh', ['-c', REMOTE_COMMAND_LINE], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    const code = await new Promise((res) => child.on('exit', res));
    assert.equal(code, 125);
  });

  it('passes the command to sh exactly once: quotes, $, ; and newlines arrive as written', async () => {
    const r = await run(`printf '%s\\n' "it's" '$HOME;x'; echo "two
lines" >&2; exit 3`);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, "it's\n$HOME;x\n");
    assert.equal(r.stderr, 'two\nlines\n');
  });

  it('runs in --cwd, and a missing directory is a failure', async () => {
    assert.equal((await run('pwd', tmp)).stdout.trim(), tmp);
    const missing = await run('pwd', path.join(tmp, 'nope'));
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
  });

  it('the end of stdin kills the process group, children included', async () => {
    const pidFile = path.join(tmp, 'pids');
    const started = Date.now();
    const r = await run(`sleep 60 & echo $! > ${pidFile}; sleep 61; echo not-reached`, undefined, 500);
    assert.ok(Date.now() - started < 20_000);
    assert.equal(r.stdout, '');
    assert.notEqual(r.code, 0);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // The background child got TERM with its group (give the signal a moment to land).
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(alive(pid), false, 'the background sleep of the command was killed');
    assert.ok(existsSync(pidFile));
  });
});
