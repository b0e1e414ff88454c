/**
 * The rendered content of a `release.config` file (issue 9) as it travels inside the compiled
 * `release` resource: the text is reachable only through `.text`, never as an own property, so every
 * generic walker over desired resources — `--json` host results, saved plans and their digests, the
 * secret masker, the sensitivity check of the layout's plan — sees only `{sha256, size}`. A
 * configuration file (often a `.env` full of secrets) thus never reaches an output by accident, and
 * a release block carrying one does not make the layout's own changes "sensitive".
 */
import { createHash } from 'node:crypto';

export class ConfigText {
  readonly sha256: string;
  readonly size: number;
  readonly #text: string;

  constructor(text: string) {
    this.#text = text;
    this.sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
    this.size = Buffer.byteLength(text, 'utf8');
  }

  /** The content itself: for the release-config writer only. */
  get text(): string {
    return this.#text;
  }

  toJSON(): { sha256: string; size: number } {
    return { sha256: this.sha256, size: this.size };
  }
}
