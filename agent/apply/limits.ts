/**
 * Time limits per operation of an apply, enforced on the host (`timeout`), instead of one limit on
 * the whole apply: a slow package install must not be cut short by the limit meant for a validator,
 * and a hung validator must not hold the host until a global limit fires somewhere in the middle of
 * a commit. A timed-out operation fails like any failed operation (restore, a message naming it).
 */
import { LanesError } from '../errors.js';

export interface OperationLimits {
  /** Seconds for each prepare operation: package installs, users, groups. */
  prepare: number;
  /** Seconds for each validator (a file's own `validate`, php-fpm -t, nginx -t, …). */
  validate: number;
  /** Seconds for each handler (reloads, restarts, supervisorctl update, the FPM health check). */
  handler: number;
}

export const DEFAULT_LIMITS: OperationLimits = { prepare: 600, validate: 60, handler: 300 };

/** The environment variable that overrides the defaults: `validate=30,handler=120,prepare=900`. */
export const LIMITS_ENV = 'LANES_APPLY_TIMEOUTS';

/** Defaults, overridden by `LANES_APPLY_TIMEOUTS` (when given), overridden by `explicit`. */
export function operationLimits(env: string | undefined = process.env[LIMITS_ENV], explicit: Partial<OperationLimits> = {}): OperationLimits {
  return { ...DEFAULT_LIMITS, ...parseLimits(env), ...explicit };
}

export function parseLimits(text: string | undefined): Partial<OperationLimits> {
  const out: Partial<OperationLimits> = {};
  if (text === undefined || text.trim() === '') return out;
  for (const part of text.split(',')) {
    const m = /^\s*(prepare|validate|handler)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) < 1) {
      throw new LanesError(`${LIMITS_ENV}: "${part.trim()}" is not a limit`, {
        hint: 'write KIND=SECONDS pairs separated by commas, KIND one of prepare, validate, handler, e.g. validate=30,handler=120',
      });
    }
    out[m[1] as keyof OperationLimits] = Number(m[2]);
  }
  return out;
}
