/**
 * Python's fnmatch.translate, which Ansible uses for host pattern globs: `*`, `?`, `[abc]`,
 * `[a-z]`, `[!abc]`; an unclosed `[` is a literal bracket; matching is case-sensitive and must
 * cover the whole name.
 */

export function fnmatchToRegExp(pattern: string): RegExp {
  let out = '';
  let i = 0;
  const n = pattern.length;
  while (i < n) {
    const c = pattern[i] as string;
    i += 1;
    if (c === '*') {
      if (!out.endsWith('.*')) out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      const close = classEnd(pattern, i);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      out += translateClass(pattern.slice(i, close));
      i = close + 1;
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^(?:${out})$`, 's');
}

/** Index of the `]` closing a class whose body starts at `i`, or -1 (fnmatch's rules). */
export function classEnd(pattern: string, i: number): number {
  let j = i;
  if (pattern[j] === '!') j += 1;
  if (pattern[j] === ']') j += 1; // a leading ] is part of the class
  while (j < pattern.length && pattern[j] !== ']') j += 1;
  return j < pattern.length ? j : -1;
}

function translateClass(body: string): string {
  let negate = false;
  let s = body;
  if (s.startsWith('!')) {
    negate = true;
    s = s.slice(1);
  }
  // Expand into explicit ranges and single characters, dropping empty ranges such as z-a
  // (Python removes them too, since they are invalid in a regular expression).
  const parts: string[] = [];
  let k = 0;
  while (k < s.length) {
    const a = s[k] as string;
    if (s[k + 1] === '-' && k + 2 < s.length) {
      const b = s[k + 2] as string;
      if (a <= b) parts.push(`${esc(a)}-${esc(b)}`);
      k += 3;
    } else {
      parts.push(esc(a));
      k += 1;
    }
  }
  if (parts.length === 0) return negate ? '.' : '(?!)';
  return `[${negate ? '^' : ''}${parts.join('')}]`;
}

function esc(c: string): string {
  return /[\\\]^[-]/.test(c) ? `\\${c}` : c;
}
