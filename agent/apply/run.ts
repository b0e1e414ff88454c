/**
 * `lanes apply`: per host, read state and plan (or take a saved plan, only if the host still has
 * the state the plan was computed from), then ONE script carries out the whole change set and
 * re-reads the state; the host fails unless a re-plan on that state is empty. The script runs
 * detached on the host (agent/remote/detached.ts) and is followed over the connection: a lost
 * controller never leaves a host between a commit and its restore.
 */
import { LanesError } from '../errors.js';
import { gatherScript, parseGathered } from '../facts/gather.js';
import { assembleState, readState, stateFacts } from '../facts/probes.js';
import { planHost, probesFor, stateFingerprint } from '../plan/plan-host.js';
import type { HostPlan } from '../plan/run.js';
import { isSealed, unsealChanges } from '../plan/sealed.js';
import { redactChange } from '../report/sensitive.js';
import type { Change, DesiredResource } from '../resources/types.js';
import { throwIfCancelled } from '../run/cancel.js';
import { runFleet, type FleetHost, type FleetOptions, type FleetResult, type HostContext } from '../run/fleet.js';
import { runDetached, EXIT_SCRIPT_VANISHED } from '../remote/detached.js';
import { parseReload, reloadFailureMessage } from '../remote/fpm-reload.js';
import { FrameStream, newNonce, unb64, unframed } from '../remote/frame.js';
import { FleetLease, underLease } from '../run/lease.js';
import { describeHandler } from './handlers.js';
import { operationLimits, type OperationLimits } from './limits.js';
import { parseApplyOutput, type ApplyOutcome } from './outcome.js';
import { buildApplyScript, EXIT_BUSY, EXIT_HANDLER_FAILED, type ApplyScriptParts } from './script.js';

export interface HostApplyResult {
  host: string;
  changes: Change[];
  /** Handlers that ran, described. */
  handlers: string[];
}

export interface ApplyOptions extends FleetOptions {
  /** Limit of each remote read (the state before the apply); the apply itself has per-operation limits on the host. */
  timeoutMs?: number;
  /** Per-operation limits on the host (defaults, then LANES_APPLY_TIMEOUTS, then these). */
  limits?: Partial<OperationLimits>;
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
export async function applyHost(ctx: HostContext, resources: DesiredResource[], opts: Pick<ApplyOptions, 'saved' | 'timeoutMs' | 'limits' | 'checkpoint'>) {
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
    // A saved plan holds placeholders for sensitive contents: the same plan again, on the same state, fills them.
    changes = isSealed(saved) ? unsealChanges(host, saved.changes, planHost(host, resources, actual)) : saved.changes;
  } else {
    changes = await step('plan', async () => planHost(host, resources, actual), (c) => `${c.length} changes`);
  }
  if (changes.length === 0) return { data: { host, changes, handlers: [] }, summary: 'no changes' };

  const nonce = newNonce();
  const verifyNonce = newNonce();
  const facts = stateFacts(probes);
  const parts = buildApplyScript(changes, nonce, gatherScript(facts, verifyNonce), operationLimits(undefined, opts.limits));

  opts.checkpoint?.(host);
  const result = await step('apply', () => runStreaming(ctx, parts.script, nonce));
  const outcome = parseApplyOutput(result.stdout, nonce);
  if (result.code !== 0 || !outcome.done) throw applyError(host, result.code, outcome, parts, result.stderr, nonce);

  await step('verify', async () => {
    const after = assembleState(parseGathered(facts, result.stdout, verifyNonce, host));
    const left = planHost(host, resources, after);
    if (left.length > 0) {
      throw new LanesError(`applied, but the host still differs from the playbook: ${left.map((c) => redactChange(c).summary).join('; ')}`, { kind: 'exec', host });
    }
  });
  const described = parts.handlers.map(describeHandler);
  return {
    data: { host, changes, handlers: described },
    summary: `${changes.length} change${changes.length === 1 ? '' : 's'} applied${described.length ? `; ${described.length} handler${described.length === 1 ? '' : 's'}` : ''}`,
  };
}

/** Run the apply script detached on the host, turning its step frames into step events as they arrive. */
async function runStreaming(ctx: HostContext, script: string, nonce: string) {
  let current: { name: string; at: number } | undefined;
  const close = (ok: boolean) => {
    if (current) ctx.bus.emit({ type: 'step-end', host: ctx.host, step: current.name, ok, ms: Date.now() - current.at });
    current = undefined;
  };
  // A step is failed when the script says so (`fail`, `signal`) while it is the current one. After a
  // failure the script goes on (restore, recover) and ends with the failure's exit code: the steps it
  // took since then, the last one included, ended well unless they say otherwise.
  let sawFailure = false;
  const frames = new FrameStream(nonce, (f) => {
    if (f.kind === 'fail' || f.kind === 'signal') {
      sawFailure = true;
      close(false);
      return;
    }
    if (f.kind !== 'step') return;
    const phase = f.fields[0] ?? '';
    const label = unb64(f.fields[2]);
    close(true);
    const name = label ? `${phase}: ${label}` : phase;
    current = { name, at: Date.now() };
    ctx.bus.emit({ type: 'step-start', host: ctx.host, step: name });
  });
  try {
    const result = await runDetached(ctx.conn, script, { nonce, onStdout: (chunk) => frames.push(chunk), lostMessage: CONNECTION_LOST });
    close(result.code === 0 || sawFailure);
    return result;
  } catch (err) {
    close(false);
    throw err;
  }
}

export const CONNECTION_LOST = 'connection lost during apply; the host finishes or restores on its own: run `lanes plan` to see where it ended';

function applyError(host: string, code: number | null, o: ApplyOutcome, parts: ApplyScriptParts, stderr: string, nonce: string): LanesError {
  const f = o.failure;
  // What the failing command printed, without any frame lines (never protocol text in a message).
  const printed = f?.output ? unframed(f.output, nonce).trim() : '';
  const said = printed ? `: ${printed.split('\n').slice(-4).join(' | ')}` : stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : '';
  const err = (message: string, kind: 'exec' | 'timeout' = 'exec') => new LanesError(message, { kind, host });
  if (code === EXIT_BUSY || o.busy !== undefined) {
    return new LanesError(
      `another lanes apply is still running on this host${o.busy ? ` (${o.busy})` : ''}; it finishes or restores on its own: wait for it, then run \`lanes plan\``,
      { kind: 'exec', host },
    );
  }
  if (o.signal) {
    return err(`the apply on the host was stopped by SIG${o.signal}${f ? ` during ${f.phase}` : ''}; ${o.restored ? 'it restored the previous files' : 'nothing had been committed'}`);
  }
  if (f && (f.phase === 'check' || f.phase === 'validate')) {
    const name = parts.validators[f.index] ?? 'validation';
    const after = f.phase === 'check' ? 'the live file was not touched, nothing reloaded' : 'previous files restored, nothing reloaded';
    if (f.timedOutAfter !== undefined) {
      return err(`validation timed out (${name} did not finish within ${f.timedOutAfter} s, the limit for a validator); ${after}`, 'timeout');
    }
    return err(`validation failed (${name})${said}; ${after}`);
  }
  if (code === EXIT_HANDLER_FAILED && f) {
    const handler = parts.handlers[f.index];
    const name = handler ? describeHandler(handler) : 'a handler';
    // The FPM handler is the shared FPM routine: its outcome is a frame, told here as a sentence.
    const fpm = handler?.kind === 'fpm' ? parseReload(f.output, nonce) : undefined;
    const what =
      f.timedOutAfter !== undefined
        ? `${name} did not finish within ${f.timedOutAfter} s (the limit for a handler)`
        : fpm && fpm.detail
          ? `${name} failed: ${reloadFailureMessage(fpm)}`
          : `${name} failed${said}`;
    return err(
      `${what}; previous files restored${o.recoverFailed ? ' BUT re-running the handlers on them failed too: check the host now' : ' and services reloaded on them'}`,
      f.timedOutAfter !== undefined ? 'timeout' : 'exec',
    );
  }
  if (f && f.phase === 'prepare' && f.timedOutAfter !== undefined) {
    const label = o.steps.find((s) => s.phase === 'prepare' && s.index === f.index)?.label ?? 'a prepare step';
    return err(`${label} did not finish within ${f.timedOutAfter} s (the limit for a prepare step); no file was changed`, 'timeout');
  }
  if (f) return err(`apply failed at ${f.phase}${said}${o.restored ? '; previous files restored' : ''}`);
  if (code === EXIT_SCRIPT_VANISHED) return err(`the apply script on the host ended without finishing${said}; run \`lanes plan\` to see where it ended`);
  return err(`apply script ended unexpectedly (exit ${code ?? 'none'})${said}`);
}
