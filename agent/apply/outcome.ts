/** Reads the frames of an apply script (agent/remote/frame.ts) back into what happened. */
import { parseFrames, unb64, type Frame } from '../remote/frame.js';

export type ApplyPhase = 'lock' | 'prepare' | 'mkdir' | 'stage' | 'check' | 'commit' | 'validate' | 'handler' | 'restore' | 'recover' | 'verify';

export interface ApplyFailure {
  phase: ApplyPhase;
  index: number;
  /** What the failing command printed (its own message, e.g. php-fpm -t's). */
  output: string;
  /** Set when the operation was stopped by its time limit: the limit in seconds. */
  timedOutAfter?: number;
}

export interface ApplyOutcome {
  steps: { phase: ApplyPhase; index?: number; label?: string }[];
  failure?: ApplyFailure;
  restored: boolean;
  recoverFailed: boolean;
  /** Another apply holds the host's lock: what it wrote about itself (run, start, user). */
  busy?: string;
  /** The script was stopped by this signal (and restored what it had committed). */
  signal?: string;
  done: boolean;
}

export function parseApplyOutput(stdout: string, nonce: string): ApplyOutcome {
  const outcome: ApplyOutcome = { steps: [], restored: false, recoverFailed: false, done: false };
  for (const f of parseFrames(stdout, nonce)) {
    switch (f.kind) {
      case 'step': {
        const s = stepOf(f);
        outcome.steps.push(s);
        if (s.phase === 'restore') outcome.restored = true;
        break;
      }
      case 'fail':
        if (!outcome.failure) {
          const [phase, index, out, limit] = f.fields;
          outcome.failure = {
            phase: phase as ApplyPhase,
            index: Number(index),
            output: unb64(out).trim(),
            ...(limit && /^\d+$/.test(limit) ? { timedOutAfter: Number(limit) } : {}),
          };
        }
        break;
      case 'busy':
        outcome.busy = unb64(f.fields[0]).trim();
        break;
      case 'signal':
        outcome.signal = f.fields[0];
        break;
      case 'recover-failed':
        outcome.recoverFailed = true;
        break;
      case 'done':
        outcome.done = true;
        break;
    }
  }
  return outcome;
}

function stepOf(f: Frame): { phase: ApplyPhase; index?: number; label?: string } {
  const [phase, index, label] = f.fields;
  const text = unb64(label);
  return {
    phase: phase as ApplyPhase,
    ...(index !== undefined && /^\d+$/.test(index) ? { index: Number(index) } : {}),
    ...(text ? { label: text } : {}),
  };
}
