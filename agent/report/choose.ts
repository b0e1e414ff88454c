/**
 * Picks the output mode: `--json` → NDJSON; a terminal outside CI → live task list; anything else
 * (pipes, files, CI logs, TERM=dumb, a terminal of unknown width) → plain lines. Only the chosen
 * renderer is loaded: the live one brings listr2, which plain output (every CI log) has no use for.
 */

import { secrets, type SecretMasker } from './mask.js';
import type { Env, OutputStream, Renderer } from './renderer.js';

export interface ChooseRendererOptions {
  json?: boolean;
  /** Where results go. Default process.stdout. */
  stream?: OutputStream;
  /** Where plain progress goes. Default process.stderr. */
  progress?: OutputStream;
  env?: Env;
  masker?: SecretMasker;
}

export type RendererKind = 'json' | 'live' | 'plain';

export function rendererKind(options: ChooseRendererOptions = {}): RendererKind {
  const stream = options.stream ?? process.stdout;
  const env = options.env ?? process.env;
  if (options.json) return 'json';
  // CI runners sometimes allocate a pseudo-terminal; redrawing spinners there makes unreadable logs.
  // A terminal reporting no width (some `script`/container ptys) makes listr wrap at one column.
  if (stream.isTTY === true && (stream.columns ?? 0) > 0 && !isCI(env) && env.TERM !== 'dumb') return 'live';
  return 'plain';
}

export async function chooseRenderer(options: ChooseRendererOptions = {}): Promise<Renderer> {
  const stream = options.stream ?? process.stdout;
  const env = options.env ?? process.env;
  const masker = options.masker ?? secrets;
  switch (rendererKind(options)) {
    case 'json':
      return new (await import('./json.js')).JsonRenderer({ stream, masker });
    case 'live':
      return new (await import('./live.js')).LiveRenderer({ stream, errStream: options.progress, masker, env });
    case 'plain':
      return new (await import('./plain.js')).PlainRenderer({ out: stream, progress: options.progress, masker, env });
  }
}

/** `CI` set to anything but an explicit false (GitHub, GitLab, CircleCI… all set CI=true). */
function isCI(env: Env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}
