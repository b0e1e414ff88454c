/**
 * `lanes apply`: per host, read state and plan (or take a saved plan, only if the host still has
 * the state the plan was computed from), then ONE exec carries out the whole change set and re-reads
 * the state; the host fails unless a re-plan on that state is empty.
 */
import { randomBytes } from 'node:crypto';
import { LanesError } from '../errors.js';
import { gatherScript, parseGathered } from '../facts/gather.js';
import { assembleState, readState, stateFacts } from '../facts/probes.js';
import { planHost, probesFor, stateFingerprint } from '../plan/plan-host.js';
import type { HostPlan } from '../plan/run.js';
import type { Change, DesiredResource } from '../resources/types.js';
import { throwIfCancelled } from '../run/cancel.js';
import { runFleet, type FleetHost, type FleetOptions, type FleetResult, type HostContext } from '../run/fleet.js';
import { FleetLease, underLease } from '../run/lease.js';
import { describeHandler } from './handlers.js';
import { parseApplyOutput, parseProgressLine, type ApplyOutcome } from './outcome.js';
import { buildApplyScript, EXIT_HANDLER_FAILED, EXIT_VALIDATION_FAILED } from './script.js';

export interface HostApplyResult {
  host: string;
  changes: Change[];
  /** Handlers that ran, described. */
  handlers: string[];
}

export interface ApplyOptions extends FleetOptions {
  timeoutMs?: number;
  /** A reviewed plan per host: applied only if the host's state fingerprint still matches. */
  saved?: Map<string, HostPlan>;
  /** Called before the one apply exec starts: throws to stop (a cancelled run, a lost lease). */
  checkpoint?: (host: string) => void;
  lockWaitMs?: number;
  lockTtlMs?: number;
  breakLock?: boolean;
}

/** Every host under the lease; once cancelled, hosts not yet applying stop, those applying finish. */
export async function applyFleet(desired: Map<string, DesiredResource[]>, hosts: FleetHost[], opts: ApplyOptions): Promise<FleetResult<HostApplyResult>> {
  const lease = new FleetLease({ bus: opts.bus, operation: 'apply', ttlMs: opts.lockTtlMs, waitMs: opts.lockWaitMs, breakLock: opts.breakLock, signal: opts.signal, timeoutMs: opts.timeoutMs });
  const checkpoint = (host: string) => {
    throwIfCancelled(opts.signal, host, 'not applied, untouched: the run was cancelled');
    lease.assertHeld(host);
  };
  const job = underLease<HostApplyResult>(lease, (ctx) => applyHost(ctx, desired.get(ctx.host) ?? opts.saved?.get(ctx.host)?.desired ?? [], { ...opts, checkpoint }));
  try {
    return await runFleet<HostApplyResult>(hosts, job, opts);
  } finally {
    await lease.releaseAll();
  }
}

/** Plan and apply on an open connection (used by applyFleet, and by a release for its layout). */
export async function applyHost(ctx: HostContext, resources: DesiredResource[], opts: Pick<ApplyOptions, 'saved' | 'timeoutMs' | 'checkpoint'>) {
  const { host, conn, step } = ctx;
  const saved = opts.saved?.get(host);
  const probes = saved?.probes ?? probesFor(resources);
  const actual = await step('read state', () => readState(conn, probes, { timeoutMs: opts.timeoutMs }));
  let changes: Change[];
  if (saved) {
    const now = stateFingerprint(actual);
    if (now !== saved.fingerprint) {
      throw new LanesError('the host changed since the plan was made; refusing to apply a plan that no longer matches', {
        kind: 'input',
        host,
        hint: 'run lanes plan again and review the new plan',
      });
    }
    changes = saved.changes;
  } else {
    changes = await step('plan', async () => planHost(host, resources, actual), (c) => `${c.length} changes`);
  }
  if (changes.length === 0) return { data: { host, changes, handlers: [] }, summary: 'no changes' };

  const nonce = randomBytes(6).toString('hex');
  const verifyNonce = randomBytes(6).toString('hex');
  const facts = stateFacts(probes);
  const { script, handlers, validators } = buildApplyScript(changes, nonce, gatherScript(facts, verifyNonce));

  opts.checkpoint?.(host);
  const result = await step('apply', () => runStreaming(ctx, script, nonce, opts.timeoutMs));
  const outcome = parseApplyOutput(result.stdout, nonce);
  if (result.code !== 0 || !outcome.done) throw applyError(host, result.code, outcome, validators, handlers.map(describeHandler), result.stderr);

  await step('verify', async () => {
    const after = assembleState(parseGathered(facts, result.stdout, verifyNonce, host));
    const left = planHost(host, resources, after);
    if (left.length > 0) {
      throw new LanesError(`applied, but the host still differs from the playbook: ${left.map((c) => c.summary).join('; ')}`, { kind: 'exec', host });
    }
  });
  const described = handlers.map(describeHandler);
  return {
    data: { host, changes, handlers: described },
    summary: `${changes.length} change${changes.length === 1 ? '' : 's'} applied${described.length ? `; ${described.length} handler${described.length === 1 ? '' : 's'}` : ''}`,
  };
}

/** Run the apply script from stdin (no argv size limit), turning its progress lines into step events. */
async function runStreaming(ctx: HostContext, script: string, nonce: string, timeoutMs?: number) {
  let pending = '';
  let current: { name: string; at: number } | undefined;
  const close = (ok: boolean) => {
    if (current) ctx.bus.emit({ type: 'step-end', host: ctx.host, step: current.name, ok, ms: Date.now() - current.at });
    current = undefined;
  };
  const result = await ctx.conn.exec('/bin/sh -s', {
    stdin: script,
    timeoutMs,
    onStdout: (chunk) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        const p = parseProgressLine(line, nonce);
        if (!p) continue;
        close(true);
        const name = p.label ? `${p.phase}: ${p.label}` : p.phase;
        current = { name, at: Date.now() };
        ctx.bus.emit({ type: 'step-start', host: ctx.host, step: name });
      }
    },
  });
  close(result.code === 0);
  return result;
}

function applyError(host: string, code: number | null, o: ApplyOutcome, validators: string[], handlers: string[], stderr: string): LanesError {
  const f = o.failure;
  const said = f?.output ? `: ${f.output.split('\n').slice(-4).join(' | ')}` : stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : '';
  if (code === EXIT_VALIDATION_FAILED && f) {
    const name = validators[f.index] ?? 'validation';
    return new LanesError(`validation failed (${name})${said}; previous files restored, nothing reloaded`, { kind: 'exec', host });
  }
  if (code === EXIT_HANDLER_FAILED && f) {
    return new LanesError(
      `${handlers[f.index] ?? 'a handler'} failed${said}; previous files restored${o.recoverFailed ? ' BUT re-running the handlers on them failed too: check the host now' : ' and services reloaded on them'}`,
      { kind: 'exec', host },
    );
  }
  if (f) return new LanesError(`apply failed at ${f.phase}${said}${o.restored ? '; previous files restored' : ''}`, { kind: 'exec', host });
  return new LanesError(`apply script ended unexpectedly (exit ${code ?? 'none'})${said}`, { kind: 'exec', host });
}
