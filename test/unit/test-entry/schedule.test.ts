import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSpecSummary, parseTestTimes } from '../../e2e/support/file-run.js';
import { labCount, runLabNames } from '../../e2e/support/run-labs.js';
import { estimatedSeconds, longestFirst, runOnWorkers, UNKNOWN_SECONDS } from '../../e2e/support/schedule.js';

describe('test entry: e2e scheduling', () => {
  it('orders files longest first, unknown files at the assumed size, ties by path', () => {
    const files = ['/d/e2e/lab.test.js', '/d/e2e/new-thing.test.js', '/d/e2e/release.test.js', '/d/e2e/a-new.test.js'];
    assert.equal(estimatedSeconds('/d/e2e/new-thing.test.js'), UNKNOWN_SECONDS);
    assert.deepEqual(longestFirst(files), ['/d/e2e/release.test.js', '/d/e2e/a-new.test.js', '/d/e2e/new-thing.test.js', '/d/e2e/lab.test.js']);
  });

  it('gives each file to whichever worker frees up next, a worker starting only when ready', async () => {
    const took: Record<string, number> = { long: 30, mid: 20, short1: 10, short2: 10 };
    const order: string[] = [];
    let release!: () => void;
    const lateReady = new Promise<void>((r) => (release = r));
    const { results, notRun } = await runOnWorkers(
      ['long', 'mid', 'short1', 'short2'],
      ['a', 'b'],
      (w) => (w === 'a' ? Promise.resolve() : lateReady),
      async (file, w) => {
        order.push(`${file}@${w}`);
        if (file === 'long') release(); // b becomes ready while a runs the long file
        await new Promise((r) => setTimeout(r, took[file]));
        return w;
      },
    );
    assert.deepEqual(notRun, []);
    assert.equal(results.get('long'), 'a');
    assert.equal(results.get('mid'), 'b');
    assert.deepEqual(order.slice(0, 2), ['long@a', 'mid@b']);
    assert.equal(results.size, 4);
  });

  it('a worker that never gets ready takes no file; a stop leaves the rest not run', async () => {
    const r1 = await runOnWorkers(['x', 'y'], ['ok', 'broken'], (w) => (w === 'ok' ? Promise.resolve() : Promise.reject(new Error('no lab'))), async (_f, w) => w);
    assert.deepEqual([...r1.results.values()], ['ok', 'ok']);
    let n = 0;
    const r2 = await runOnWorkers(['x', 'y', 'z'], ['one'], () => Promise.resolve(), async () => ++n, () => n >= 1);
    assert.deepEqual([...r2.results.keys()], ['x']);
    assert.deepEqual(r2.notRun, ['y', 'z']);
  });

  it('LANES_TEST_LABS: default 3, 1 for one lab, anything else refused', () => {
    assert.equal(labCount({}), 3);
    assert.equal(labCount({ LANES_TEST_LABS: '1' }), 1);
    assert.equal(labCount({ LANES_TEST_LABS: '2' }), 2);
    for (const bad of ['0', '-1', '1.5', 'two', '99']) assert.throws(() => labCount({ LANES_TEST_LABS: bad }), /LANES_TEST_LABS/);
  });

  it('lab names share the run stem and stay valid lab names with the lifecycle test suffix', () => {
    const names = runLabNames('t0123abcd', 3);
    assert.deepEqual(names, ['t0123abcda', 't0123abcdb', 't0123abcdc']);
    for (const n of names) assert.match(`${n}-l`, /^[a-z][a-z0-9-]{0,23}$/);
  });

  it("reads the spec reporter's summary", () => {
    const out = '✔ a (1ms)\nℹ tests 12\nℹ suites 2\nℹ pass 11\nℹ fail 1\nℹ cancelled 0\nℹ skipped 0\nℹ todo 0\nℹ duration_ms 5.1\n';
    assert.deepEqual(parseSpecSummary(out), { tests: 12, pass: 11, fail: 1, cancelled: 0, skipped: 0, todo: 0 });
    assert.equal(parseSpecSummary('killed before the end\n'), undefined);
  });

  it("reads each test's duration from the spec reporter's lines, suites left out, failures counted once", () => {
    // As node 20's spec reporter prints it: a suite opens with ▶ and closes with its total.
    const out = [
      '▶ suite a',
      '  ✔ test one (102.5ms)',
      '  ▶ inner',
      '    ✖ test two (x) (0.25ms)',
      '  ✖ inner (0.5ms)',
      '✖ suite a (305.4ms)',
      '✔ top test (1ms)',
      'ℹ tests 3',
      '✖ failing tests:',
      '',
      'test at dist/test/e2e/x.test.js:1:1',
      '✖ test two (x) (0.25ms)',
    ].join('\n');
    assert.deepEqual(parseTestTimes(out), [
      { name: 'suite a > test one', ms: 102.5, ok: true },
      { name: 'suite a > inner > test two (x)', ms: 0.25, ok: false },
      { name: 'top test', ms: 1, ok: true },
    ]);
    assert.deepEqual(parseTestTimes('killed before the end\n'), []);
  });
});
