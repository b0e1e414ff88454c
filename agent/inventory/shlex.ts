/**
 * Python's shlex.split(line, comments=True) in POSIX mode, which Ansible uses to cut INI host lines
 * into `name key=value ...` tokens. Ported state for state so that quoting, backslashes and `#`
 * comments (which end a token even mid-word) behave exactly as in Ansible. Each token keeps the
 * 0-based offset where it started, for error columns.
 */

export interface ShlexToken {
  value: string;
  /** 0-based offset in the input where the token (or its opening quote) starts. */
  start: number;
}

export class ShlexError extends Error {
  constructor(
    message: string,
    /** 0-based offset of the construct at fault (the opening quote or the backslash). */
    readonly offset: number,
  ) {
    super(message);
  }
}

const WHITESPACE = ' \t\r\n';
const QUOTES = `'"`;
const ESCAPE = '\\';
// Inside double quotes a backslash escapes only a double quote or a backslash.
const ESCAPED_QUOTES = '"';

export function shlexSplit(line: string): ShlexToken[] {
  const tokens: ShlexToken[] = [];
  let state: string = ' ';
  let escapedState = 'a';
  let token = '';
  let quoted = false;
  let start = -1;
  let stateStart = 0;

  const finish = (): void => {
    // An unquoted empty token is no token; `""` is an empty one.
    if (token !== '' || quoted) tokens.push({ value: token, start });
    token = '';
    quoted = false;
    start = -1;
  };

  let i = 0;
  for (;;) {
    const ch = line[i] ?? '';
    const at = i;
    i += 1;
    if (state === ' ') {
      if (ch === '') break;
      if (WHITESPACE.includes(ch)) continue;
      if (ch === '#') break; // the rest of the line is a comment
      start = at;
      if (ch === ESCAPE) {
        escapedState = 'a';
        state = ch;
        stateStart = at;
      } else if (QUOTES.includes(ch)) {
        state = ch;
        stateStart = at;
      } else {
        token = ch;
        state = 'a';
      }
    } else if (QUOTES.includes(state)) {
      quoted = true;
      if (ch === '') throw new ShlexError('No closing quotation', stateStart);
      if (ch === state) {
        state = 'a';
      } else if (ch === ESCAPE && ESCAPED_QUOTES.includes(state)) {
        escapedState = state;
        state = ch;
        stateStart = at;
      } else {
        token += ch;
      }
    } else if (state === ESCAPE) {
      if (ch === '') throw new ShlexError('No escaped character', stateStart);
      // Inside quotes, a backslash before an ordinary character stays a backslash.
      if (QUOTES.includes(escapedState) && ch !== state && ch !== escapedState) token += state;
      token += ch;
      state = escapedState;
    } else {
      // state 'a': inside a word
      if (ch === '') {
        finish();
        break;
      }
      if (WHITESPACE.includes(ch)) {
        state = ' ';
        finish();
      } else if (ch === '#') {
        finish();
        break;
      } else if (QUOTES.includes(ch)) {
        state = ch;
        stateStart = at;
      } else if (ch === ESCAPE) {
        escapedState = 'a';
        state = ch;
        stateStart = at;
      } else {
        token += ch;
      }
    }
  }
  // Reaching the end in whitespace after a quoted-empty token still yields it.
  if (state === ' ' && (token !== '' || quoted)) finish();
  return tokens;
}
