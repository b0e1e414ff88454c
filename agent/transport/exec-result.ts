/**
 * "The result is the error": a remote command's outcome carries its exit code, its output and a
 * plain explanation together, so a failure message never loses what the host actually said.
 */
import { LanesError, type ErrorKind } from '../errors.js';

export interface ExecResult {
  /** The command as the caller gave it (before any sudo wrapping). */
  command: string;
  /** Exit status, or null when the process died from a signal or the channel closed without one. */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  ms: number;
}

export class ExecError extends LanesError {
  readonly result: ExecResult;

  constructor(host: string, result: ExecResult, explanation?: string, kind: ErrorKind = 'exec') {
    const status = result.code !== null ? `exit ${result.code}` : result.signal ? `killed by ${result.signal}` : 'no exit status';
    const said = lastLines(result.stderr || result.stdout, 3);
    const message = `${explanation ?? `command failed (${summarize(result.command)})`}: ${status}${said ? `: ${said}` : ''}`;
    super(message, { kind, host });
    this.result = result;
  }
}

/** A short form of a command for messages: first line, at most 80 characters. */
export function summarize(command: string): string {
  const first = command.split('\n', 1)[0] ?? '';
  const cut = first.length > 80 ? `${first.slice(0, 77)}...` : first;
  return command.includes('\n') ? `${cut} ...` : cut;
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').filter(Boolean).slice(-n).join(' | ');
}
