// The command that runs a script sent on stdin (the read script): any size, the script read whole
// before it runs (a command in it that reads stdin gets nothing of the script), run by /bin/sh.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { gatherScript, parseGathered } from '../../../agent/facts/gather.js';
import type { Fact } from '../../../agent/facts/fact.js';
import { STDIN_SCRIPT_COMMAND } from '../../../agent/remote/sh.js';

/** Run the command as sshd would: the login shell gets it as one -c argument. */
function run(script: string) {
  return spawnSync('sh', ['-c', STDIN_SCRIPT_COMMAND], { input: script, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

describe('STDIN_SCRIPT_COMMAND', () => {
  it('runs a read script far over the 128 KiB a single argument may have (E2BIG), with 2000 probes', () => {
    const facts: Record<string, Fact<string>> = {};
    for (let i = 0; i < 2000; i++) facts[`probe${i}`] = { name: `probe${i}`, command: `echo ${'x'.repeat(100)} ${i}`, parse: (s: string) => s.trim() };
    const script = gatherScript(facts, 'abc123');
    assert.ok(script.length > 256 * 1024, `${script.length} bytes`);
    assert.equal(spawnSync('sh', ['-c', script]).error?.message.includes('E2BIG'), true, 'as one argument it cannot even start');
    const r = run(script);
    assert.equal(r.status, 0, r.stderr);
    const v = parseGathered(facts, r.stdout, 'abc123', 'h1');
    assert.equal(v.probe1999, `${'x'.repeat(100)} 1999`);
  });

  it('a command in the script that reads stdin gets nothing of the rest of the script', () => {
    const r = run('echo first\ncat\necho last\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'first\nlast\n');
  });

  it('keeps the exit status of the script', () => {
    assert.equal(run('exit 7').status, 7);
  });
});
