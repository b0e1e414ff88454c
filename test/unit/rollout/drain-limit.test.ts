// How long a drain may take: the workers' own stop timeouts plus a margin, never --timeout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { drainLimitMs, timespanMs } from '../../../agent/rollout/drain-limit.js';
import type { DesiredResource } from '../../../agent/resources/types.js';

const res = (type: string, spec: Record<string, unknown>) => ({ type, spec }) as unknown as DesiredResource;

describe('drainLimitMs', () => {
  it('adds up stopwaitsecs and TimeoutStopSec of the declared workers, with a margin', () => {
    const desired = [res('supervisor_program', { name: 'q', stopwaitsecs: 600 }), res('systemd_service', { name: 'sched', TimeoutStopSec: '1min 30s' })];
    const ms = drainLimitMs({ workers: { supervisor: ['q'], systemd: ['sched.service'] } }, desired);
    assert.ok(ms >= 690_000 && ms <= 690_000 + 90_000, String(ms));
  });
  it('uses Supervisor and systemd defaults for a declared worker without a value', () => {
    const ms = drainLimitMs({ workers: { supervisor: ['q'], systemd: [] } }, [res('supervisor_program', { name: 'q' })]);
    assert.ok(ms >= 10_000 && ms < 120_000, String(ms));
  });
  it('is unbounded (0) for a worker this playbook does not declare, or an infinite stop timeout', () => {
    assert.equal(drainLimitMs({ workers: { supervisor: ['other'], systemd: [] } }, []), 0);
    assert.equal(drainLimitMs({ workers: { supervisor: [], systemd: ['s.service'] } }, [res('systemd_service', { name: 's', TimeoutStopSec: 'infinity' })]), 0);
  });
});

describe('timespanMs', () => {
  it('reads systemd time spans', () => {
    assert.equal(timespanMs('60'), 60_000);
    assert.equal(timespanMs('500ms'), 500);
    assert.equal(timespanMs('1min 30s'), 90_000);
    assert.equal(timespanMs('2h'), 7_200_000);
    assert.equal(timespanMs('infinity'), undefined);
    assert.equal(timespanMs('soon'), undefined);
  });
});
