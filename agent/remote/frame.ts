/**
 * The one output protocol of lanes' remote scripts: nonce-framed lines, and one parser for them.
 *
 *   @@<nonce> <kind> <field> <field> …
 *
 * A script says something with `lanes_say KIND FIELD…` (defined by {@link frameShell}). Fields are
 * single words; free text (a command's output, a path, a message) goes in one field through
 * `lanes_b64 TEXT` and is decoded by the caller with {@link unb64}. The nonce is fresh per run, so
 * nothing a managed program prints (a log line, a file's content echoed by a validator) can ever be
 * taken for a frame: a line without this run's nonce is just output.
 *
 * Frames are for the controller only; what reaches a person is a sentence built from them, never the
 * frame text or its base64.
 */
import { randomBytes } from 'node:crypto';
import { shq } from '../transport/quote.js';

export interface Frame {
  kind: string;
  fields: string[];
}

/** A fresh nonce for one script run (12 hex characters). */
export function newNonce(): string {
  return randomBytes(6).toString('hex');
}

/**
 * sh (POSIX: dash, bash, busybox ash) defining, for this nonce:
 *   lanes_say KIND FIELD…   one frame on stdout
 *   lanes_b64 TEXT          TEXT as one base64 word (empty text → "-")
 */
export function frameShell(nonce: string): string {
  if (!/^[0-9a-f]{6,64}$/.test(nonce)) throw new Error(`invalid frame nonce ${JSON.stringify(nonce)}`);
  return [
    `LANES_NONCE=${shq(nonce)}`,
    `lanes_say() { printf '@@%s %s\\n' "$LANES_NONCE" "$*"; }`,
    `lanes_b64() { if [ -z "$1" ]; then echo -; else printf '%s' "$1" | base64 | tr -d '\\n'; fi; }`,
  ].join('\n');
}

/** One line, if it is a frame of this nonce. */
export function parseFrame(line: string, nonce: string): Frame | undefined {
  const prefix = `@@${nonce} `;
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!l.startsWith(prefix)) return undefined;
  const [kind = '', ...fields] = l.slice(prefix.length).split(' ');
  if (kind === '') return undefined;
  return { kind, fields };
}

/** Every frame of this nonce in `text`, in order; other lines are ignored. */
export function parseFrames(text: string, nonce: string): Frame[] {
  const out: Frame[] = [];
  for (const line of text.split('\n')) {
    const f = parseFrame(line, nonce);
    if (f) out.push(f);
  }
  return out;
}

/** The lines of `text` that are not frames of this nonce (what the script printed besides). */
export function unframed(text: string, nonce: string): string {
  return text
    .split('\n')
    .filter((l) => parseFrame(l, nonce) === undefined)
    .join('\n');
}

/** Decode a `lanes_b64` field ("-" and absent are empty). */
export function unb64(field: string | undefined): string {
  if (field === undefined || field === '-' || field === '') return '';
  return Buffer.from(field, 'base64').toString('utf8');
}

/** Encode text the way `lanes_b64` does, for scripts built on the controller side. */
export function b64(text: string): string {
  return text === '' ? '-' : Buffer.from(text, 'utf8').toString('base64');
}

/**
 * Splits a stream of chunks into frames as they arrive (for live progress): call `push` with each
 * chunk; `onFrame` gets every complete frame line of this nonce.
 */
export class FrameStream {
  private pending = '';
  constructor(
    private readonly nonce: string,
    private readonly onFrame: (f: Frame) => void,
  ) {}

  push(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      const f = parseFrame(line, this.nonce);
      if (f) this.onFrame(f);
    }
  }
}
