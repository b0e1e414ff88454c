/**
 * The contract every output mode implements. The engine only emits {@link LanesEvent}s; a command
 * picks one renderer (see choose.ts), attaches it to its bus before the run starts, and awaits
 * `done()` before deciding its exit code from `run-end`.
 */

import type { Writable } from 'node:stream';
import type { EventBus } from './events.js';

export interface Renderer {
  /** Subscribe to the bus. Call once, before the command emits `run-start`. */
  attach(bus: EventBus): void;
  /**
   * Detach and resolve once everything has been written (for the live renderer: the task list has
   * closed and the summary is printed). Never rejects because a host failed: the command decides
   * the exit code from `run-end`. If `run-end` never came (the command is bailing out), hosts still
   * open are closed as interrupted and no summary is printed.
   */
  done(): Promise<void>;
}

/** A writable that may be a terminal (process.stdout and process.stderr are). */
export type OutputStream = Writable & { isTTY?: boolean; columns?: number };

/** The environment variables the renderers look at (CI, NO_COLOR, FORCE_COLOR, TERM). */
export type Env = Record<string, string | undefined>;
