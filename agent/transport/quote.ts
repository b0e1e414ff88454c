/**
 * The one function through which every value reaches a remote shell.
 *
 * POSIX single quotes are the only quoting with no special characters inside, so a value is wrapped
 * in '…' and each embedded ' becomes '\'' (close, escaped quote, reopen). Plain words made only of
 * characters that no shell treats specially are left bare so that logged commands stay readable.
 * NUL cannot be passed through argv at all, so it is refused rather than silently truncated.
 */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shq(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (s !== '' && SAFE_WORD.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quote each argument and join them into one command line. */
export function shCommand(args: readonly (string | number)[]): string {
  return args.map(shq).join(' ');
}
