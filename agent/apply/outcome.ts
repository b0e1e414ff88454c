/** Reads the `@@<nonce> …` progress lines of an apply script back into what happened. */

export type ApplyPhase = 'prepare' | 'mkdir' | 'stage' | 'commit' | 'validate' | 'handler' | 'restore' | 'recover' | 'verify';

export interface ApplyFailure {
  phase: ApplyPhase;
  index: number;
  /** What the failing command printed (its own message, e.g. php-fpm -t's). */
  output: string;
}

export interface ApplyOutcome {
  steps: { phase: ApplyPhase; index?: number; label?: string }[];
  failure?: ApplyFailure;
  restored: boolean;
  recoverFailed: boolean;
  done: boolean;
}

export function parseApplyOutput(stdout: string, nonce: string): ApplyOutcome {
  const outcome: ApplyOutcome = { steps: [], restored: false, recoverFailed: false, done: false };
  const prefix = `@@${nonce} `;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const [word, ...rest] = line.slice(prefix.length).split(' ');
    if (word === 'step') {
      const [phase, index, label] = rest;
      outcome.steps.push({
        phase: phase as ApplyPhase,
        ...(index !== undefined && /^\d+$/.test(index) ? { index: Number(index) } : {}),
        ...(label ? { label: fromB64(label) } : index && !/^\d+$/.test(index) ? { label: fromB64(index) } : {}),
      });
      if (phase === 'restore') outcome.restored = true;
    } else if (word === 'fail' && !outcome.failure) {
      const [phase, index, out] = rest;
      outcome.failure = { phase: phase as ApplyPhase, index: Number(index), output: out ? fromB64(out).trim() : '' };
    } else if (word === 'recover-failed') outcome.recoverFailed = true;
    else if (word === 'done') outcome.done = true;
  }
  return outcome;
}

/** One progress line as it streams in, for live display. */
export function parseProgressLine(line: string, nonce: string): { phase: ApplyPhase; label?: string } | undefined {
  const prefix = `@@${nonce} step `;
  if (!line.startsWith(prefix)) return undefined;
  const [phase, a, b] = line.slice(prefix.length).split(' ');
  const label = b ? fromB64(b) : a && !/^\d+$/.test(a) ? fromB64(a) : undefined;
  return { phase: phase as ApplyPhase, label };
}

function fromB64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}
