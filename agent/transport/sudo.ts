/**
 * Privilege escalation with sudo, without ever guessing whether sudo will ask for a password.
 *
 * The command runs as `sudo … sh -c 'echo SENTINEL >&2; exec sh -c "$0"' CMD`. Until the sentinel
 * appears on stderr, everything on stderr is sudo talking: a prompt (our unique `-p` marker) means it
 * wants the password, which is written to stdin once; a second prompt means the password was wrong.
 * Only after the sentinel — i.e. once sudo has really started the command — is the caller's stdin sent,
 * so a password can never leak into the command's input and a passwordless sudo never eats input.
 */
import { randomBytes } from 'node:crypto';
import { shCommand } from './quote.js';
import type { BecomeSpec } from './target.js';

export interface SudoWrap {
  command: string;
  prompt: string;
  sentinel: string;
}

export function wrapSudo(command: string, become: BecomeSpec): SudoWrap {
  const nonce = randomBytes(8).toString('hex');
  const prompt = `[lanes-sudo-${nonce}]`;
  const sentinel = `LANES-BECOME-OK-${nonce}`;
  const auth = become.password === undefined ? ['-n'] : ['-S', '-p', prompt];
  const inner = `printf '%s\\n' ${sentinel} >&2; exec /bin/sh -c "$0"`;
  return {
    command: shCommand(['sudo', '-H', ...auth, '-u', become.user, '--', '/bin/sh', '-c', inner, command]),
    prompt,
    sentinel,
  };
}

export type SudoState =
  | { phase: 'waiting' }
  | { phase: 'send-password' }
  | { phase: 'wrong-password' }
  | { phase: 'started'; stderrAfter: string };

/** Decide what sudo's stderr so far means. Pure, so it is unit-tested on its own. */
export function readSudoStderr(stderr: string, wrap: SudoWrap, passwordsSent: number): SudoState {
  const at = stderr.indexOf(`${wrap.sentinel}\n`);
  if (at >= 0) return { phase: 'started', stderrAfter: stderr.slice(at + wrap.sentinel.length + 1) };
  const prompts = stderr.split(wrap.prompt).length - 1;
  if (prompts > passwordsSent) return passwordsSent === 0 ? { phase: 'send-password' } : { phase: 'wrong-password' };
  return { phase: 'waiting' };
}

/** What sudo printed before failing, without our prompt markers. */
export function sudoFailureText(stderr: string, wrap: SudoWrap): string {
  return stderr.split(wrap.prompt).join('').trim();
}
