// The fleet simulator's answerer: a gather script in, the recorded answers out under its nonce; lanes'
// sudo wrapper and lease scripts; anything else refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { answerExec, gatherSections, planExec, shWords, splitGathered, type Recording } from '../../../bench/simulator/answer.js';
import type { Fact } from '../../../agent/facts/fact.js';
import { gatherScript, parseGathered } from '../../../agent/facts/gather.js';
import { assembleState, stateFacts } from '../../../agent/facts/probes.js';
import { STDIN_SCRIPT_COMMAND } from '../../../agent/remote/sh.js';
import { acquireScript, newLease, parseLockChange, parseLockOutput, releaseScript } from '../../../agent/rollout/lock.js';
import { shCommand } from '../../../agent/transport/quote.js';
import { wrapSudo } from '../../../agent/transport/sudo.js';
import { readSummaryLine } from '../../../bench/simulator/simulate.js';
import { fixture } from '../../support/paths.js';

const text = (command: string): Fact<string> => ({ name: command, command, parse: (out) => out });
const facts = { first: text("echo 'a b'\necho c"), second: text('false'), third: text('printf x') };
const rec: Recording = {
  host: 'lab1',
  vars: {},
  facts: { [facts.first.command]: { output: 'a b\nc\n', rc: 0 }, [facts.second.command]: { output: '', rc: 1 }, [facts.third.command]: { output: 'x\n', rc: 0 } },
};

describe('simulator: gather scripts', () => {
  it('finds each section of a gather script with its nonce, key and command', () => {
    const s = gatherSections(gatherScript(facts, 'abc123'));
    assert.deepEqual(s, [
      { nonce: 'abc123', key: 'first', command: facts.first.command },
      { nonce: 'abc123', key: 'second', command: facts.second.command },
      { nonce: 'abc123', key: 'third', command: facts.third.command },
    ]);
  });

  it('answers with the recorded outputs and exit codes under the script\'s own nonce', () => {
    const a = answerExec(planExec(STDIN_SCRIPT_COMMAND), gatherScript(facts, 'feed01'), rec);
    assert.equal(a.code, 0);
    assert.equal(a.stdout, '@@feed01 begin first\na b\nc\n@@feed01 end first 0\n@@feed01 begin second\n@@feed01 end second 1\n@@feed01 begin third\nx\n@@feed01 end third 0\n');
    assert.deepEqual(parseGathered(facts, a.stdout, 'feed01', 'sim1'), { first: 'a b\nc\n', second: '', third: 'x\n' });
  });

  it('a section it has no recording for fails the exec, naming it', () => {
    const a = answerExec(planExec(STDIN_SCRIPT_COMMAND), gatherScript({ ...facts, other: text('uname -a') }, 'feed02'), rec);
    assert.equal(a.code, 127);
    assert.equal(a.stdout, '');
    assert.deepEqual(a.unanswered, ['uname -a']);
    assert.match(a.stderr, /no recorded answer for 1 fact/);
  });

  it('splitGathered turns a real run\'s output back into the recording', () => {
    const script = gatherScript(facts, 'beef99');
    const out = "@@beef99 begin first\na b\nc\n@@beef99 end first 0\n@@beef99 begin second\n@@beef99 end second 1\n@@beef99 begin third\nx\n@@beef99 end third 0\n";
    assert.deepEqual(splitGathered(script, out), rec.facts);
    assert.throws(() => splitGathered(script, out.slice(0, 40)), /cut section \S+ short/);
  });

  it('answers lanes\' whole state read from the committed lab recording (host facts and every probe)', () => {
    const recorded = JSON.parse(readFileSync(fixture('sim', 'lab1-site.json'), 'utf8')) as Recording;
    const commands = new Set(Object.keys(recorded.facts));
    const all = stateFacts([]);
    // The host facts alone (probes depend on the playbook): every one of them was recorded.
    const hostOnly = Object.fromEntries(Object.entries(all).filter(([, f]) => commands.has(f.command)));
    assert.equal(Object.keys(hostOnly).length, Object.keys(all).length, 'the recording answers every host fact (re-record: npm run bench -- --record test/fixtures/sim/lab1-site.json)');
    const a = answerExec(planExec(STDIN_SCRIPT_COMMAND), gatherScript(hostOnly, '0a0b0c'), recorded);
    const state = assembleState(parseGathered(hostOnly, a.stdout, '0a0b0c', 'sim1'));
    assert.equal(state.facts.os.id, 'debian');
    assert.equal(state.facts.php_fpm.primary?.version, '8.2');
  });
});

describe('simulator: become and lease scripts', () => {
  it('splits sh words as shCommand quotes them', () => {
    const args = ['sudo', "it's", 'a b', '', '$HOME', 'x\ny'];
    assert.deepEqual(shWords(shCommand(args)), args);
  });

  it('unwraps lanes\' sudo wrapper and prints its sentinel first', () => {
    const wrap = wrapSudo(STDIN_SCRIPT_COMMAND, { user: 'root' });
    const plan = planExec(wrap.command);
    assert.equal(plan.inner, STDIN_SCRIPT_COMMAND);
    assert.equal(plan.readsStdin, true);
    assert.equal(plan.becomeStderr, `${wrap.sentinel}\n`);
    const a = answerExec(plan, gatherScript(facts, 'aa11bb'), rec);
    assert.ok(a.stderr.startsWith(`${wrap.sentinel}\n`));
    assert.equal(a.code, 0);
  });

  it('answers acquire and release as on a host nobody holds', () => {
    const lease = newLease({ operation: 'apply', ttlMs: 60_000 });
    const acquire = acquireScript('/var/lib/lanes/lease', lease);
    const a = answerExec(planExec(wrapSudo(acquire.text, { user: 'root' }).command), '', rec);
    assert.equal(parseLockOutput({ stdout: a.stdout }, acquire.nonce).status, 'acquired');
    const release = releaseScript('/var/lib/lanes/lease', lease);
    const r = answerExec(planExec(release.text), '', rec);
    assert.equal(parseLockChange({ stdout: r.stdout }, release.nonce).status, 'released');
  });

  it('refuses any other script', () => {
    const a = answerExec(planExec('rm -rf /tmp/x'), '', rec);
    assert.equal(a.code, 127);
    assert.match(a.stderr, /cannot answer: rm -rf/);
  });
});

describe('simulator: the plain renderer\'s summary line', () => {
  it('reads plan and apply summaries, and refuses output without one', () => {
    assert.deepEqual(readSummaryLine('plan: x\n\nno changes: a, b\n\nFAILED c: cannot connect\n\n3 hosts: 0 to change, 2 unchanged, 1 failed\n'), { hosts: 3, changed: 0, unchanged: 2, failed: 1 });
    assert.deepEqual(readSummaryLine('1 host: 1 changed, 0 unchanged, 0 failed\n'), { hosts: 1, changed: 1, unchanged: 0, failed: 0 });
    assert.throws(() => readSummaryLine('lanes: error\n'), /no summary line/);
  });
});
