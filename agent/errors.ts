/**
 * User-facing errors. Every error a user can cause (bad input, unreachable host, refused key…) is a
 * LanesError: one clear line naming where it happened (file:line:column, or the host) and, where it
 * helps, the allowed form. The CLI prints `format()` and exits non-zero without a stack trace;
 * anything that is not a LanesError is a bug in lanes and is shown with its stack.
 */

export interface SourceLocation {
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
}

export type ErrorKind =
  | 'input' // a malformed file or argument
  | 'pattern' // a host pattern that matches nothing or cannot be parsed
  | 'connect' // the host could not be reached or authenticated
  | 'hostkey' // the host key is unknown or changed
  | 'exec' // a remote command failed
  | 'timeout' // a connect or command timeout
  | 'sudo' // privilege escalation failed
  | 'lab' // the local lab could not be built or booted
  | 'internal';

export interface LanesErrorOptions {
  kind?: ErrorKind;
  location?: SourceLocation;
  host?: string;
  /** The allowed form, or what to do about it. */
  hint?: string;
  cause?: unknown;
}

export class LanesError extends Error {
  readonly kind: ErrorKind;
  readonly location?: SourceLocation;
  readonly host?: string;
  readonly hint?: string;

  constructor(message: string, options: LanesErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LanesError';
    this.kind = options.kind ?? 'input';
    this.location = options.location;
    this.host = options.host;
    this.hint = options.hint;
  }

  /** One line: `where: message (hint)`. */
  format(): string {
    const where = this.location ? formatLocation(this.location) : this.host;
    const head = where ? `${where}: ${this.message}` : this.message;
    return this.hint ? `${head} (${this.hint})` : head;
  }
}

export function formatLocation(loc: SourceLocation): string {
  if (loc.line === undefined) return loc.file;
  return loc.column === undefined ? `${loc.file}:${loc.line}` : `${loc.file}:${loc.line}:${loc.column}`;
}

export function isLanesError(err: unknown): err is LanesError {
  return err instanceof LanesError;
}

/** The one-line message of any error, for per-host failure lines. */
export function errorLine(err: unknown): string {
  if (err instanceof LanesError) return err.format();
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The one-line message of an error that happened on `host`, without repeating the host name
 * (renderers already prefix it) unless the error names another place, such as a jump host.
 */
export function errorLineForHost(err: unknown, host: string): string {
  if (err instanceof LanesError && err.host === host && !err.location) {
    return err.hint ? `${err.message} (${err.hint})` : err.message;
  }
  return errorLine(err);
}
