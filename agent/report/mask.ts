/**
 * Keeps secrets (become passwords, values decrypted from Ansible Vault, the values of a play's
 * `sensitive_vars`) out of everything lanes prints: the one registry of secret values of a run.
 * Renderers mask each event before they look at it, so no output path (plain line, listr title, JSON
 * field) can forget to; agent/report/sensitive.ts uses it to decide which resources are sensitive.
 */

import type { LanesEvent } from './events.js';
import { isPyValue } from '../values/python.js';

export const MASK = '********';
/** Shorter "secrets" would shred ordinary output (masking every "a" or "ok"), so they are ignored. */
export const MIN_SECRET_LENGTH = 3;

export class SecretMasker {
  private readonly secrets = new Set<string>();
  /** One alternation, longest first, so a secret containing another is masked whole in one pass. */
  private pattern: RegExp | undefined;

  /** Register a secret; ignored when shorter than {@link MIN_SECRET_LENGTH}. */
  add(secret: string): void {
    if (secret.length < MIN_SECRET_LENGTH || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    this.pattern = undefined;
  }

  get size(): number {
    return this.secrets.size;
  }

  /** `text` with every registered secret replaced by {@link MASK}. */
  mask(text: string): string {
    if (this.secrets.size === 0) return text;
    return text.replace(this.regexp(), MASK);
  }

  /** Does `text` contain a registered secret? */
  contains(text: string): boolean {
    if (this.secrets.size === 0) return false;
    const re = this.regexp();
    re.lastIndex = 0;
    const found = re.test(text);
    re.lastIndex = 0;
    return found;
  }

  /** Does any string in `value` (objects, arrays, nested) contain a registered secret? */
  containsIn(value: unknown): boolean {
    if (this.secrets.size === 0) return false;
    if (typeof value === 'string') return this.contains(value);
    if (value === null || typeof value !== 'object') return false;
    if (Array.isArray(value)) return value.some((v) => this.containsIn(v));
    return Object.values(value).some((v) => this.containsIn(v));
  }

  private regexp(): RegExp {
    this.pattern ??= new RegExp(
      [...this.secrets]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    return this.pattern;
  }

  /**
   * A copy of `value` with every string in it masked (object keys are left alone: they come from
   * lanes, not from hosts or users). Masking the values rather than serialized JSON matters: a
   * secret with a quote or backslash looks different once JSON-escaped and would slip through.
   */
  maskValue<T>(value: T): T {
    if (this.secrets.size === 0) return value;
    return this.walk(value, new Set()) as T;
  }

  /** The event with all its strings masked; the renderers call this first. */
  maskEvent(event: LanesEvent): LanesEvent {
    return this.maskValue(event);
  }

  private walk(value: unknown, path: Set<object>): unknown {
    if (typeof value === 'string') return this.mask(value);
    if (value === null || typeof value !== 'object') return value;
    if (path.has(value)) return '[Circular]';
    path.add(value);
    try {
      if (Array.isArray(value)) return value.map((v) => this.walk(v, path));
      // Python values (8.0, a date) keep their type: their writer prints them as Python does.
      if (isPyValue(value)) return value;
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return this.walk(toJSON.call(value), path);
      const proto: unknown = Object.getPrototypeOf(value);
      // Class instances (Errors, Buffers, Maps) are left as they are; events carry plain data.
      if (proto !== Object.prototype && proto !== null) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.walk(v, path);
      return out;
    } finally {
      path.delete(value);
    }
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The process-wide masker: the transport registers become passwords here, renderers default to it. */
export const secrets = new SecretMasker();
