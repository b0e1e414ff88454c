// The README's list of release steps is generated from the step table that drives the run and the
// dry-run (agent/rollout/steps.ts): this test fails when they disagree. LANES_UPDATE_DOCS=1 rewrites
// the README's block instead (then review the diff).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { FLEET_STEPS, HOST_STEPS, ROLLBACK_STEPS, stepsMarkdown } from '../../../agent/rollout/steps.js';
import { HOOK_POINTS } from '../../../agent/rollout/hooks.js';

const README = fileURLToPath(new URL('../../../../README.md', import.meta.url));
const BEGIN = '<!-- release-steps:begin -->\n';
const END = '\n<!-- release-steps:end -->';

describe('release steps: one table', () => {
  it('the README lists exactly the steps of the table', () => {
    const text = readFileSync(README, 'utf8');
    const a = text.indexOf(BEGIN);
    const b = text.indexOf(END);
    assert.ok(a >= 0 && b > a, 'README.md has the release-steps markers');
    const want = stepsMarkdown();
    if (process.env.LANES_UPDATE_DOCS === '1') writeFileSync(README, text.slice(0, a + BEGIN.length) + want + text.slice(b));
    else assert.equal(text.slice(a + BEGIN.length, b), want, 'README.md is out of date: run the unit tests with LANES_UPDATE_DOCS=1');
  });

  it('every hook point is a step of the table, in the order the issue gives', () => {
    const all = [...FLEET_STEPS, ...HOST_STEPS, ...ROLLBACK_STEPS];
    for (const point of HOOK_POINTS) assert.ok(all.some((s) => s.hook === point), `hook point ${point} has a step`);
    const order = [...FLEET_STEPS.slice(0, FLEET_STEPS.findIndex((s) => s.id === 'per host')), ...HOST_STEPS, ...FLEET_STEPS.slice(FLEET_STEPS.findIndex((s) => s.id === 'per host'))]
      .map((s) => s.hook)
      .filter((h) => h !== undefined && h !== 'on_rollback');
    assert.deepEqual(order, ['build', 'once', 'before_switch', 'after_switch', 'after_release']);
    const ids = HOST_STEPS.map((s) => s.id);
    assert.ok(ids.indexOf('before_switch') > ids.indexOf('drain') && ids.indexOf('before_switch') < ids.indexOf('switch'));
    assert.ok(ids.indexOf('after_switch') > ids.indexOf('health') && ids.indexOf('after_switch') < ids.indexOf('start workers'));
  });
});
