/**
 * php-fpm's INI dialect, shared by fpm_pool and fpm_global: value rules for schemas, rendering of
 * values so that php-fpm reads back exactly what the playbook declared, and a small tolerant reader
 * of existing files (comments, quotes, duplicate keys) for before → after fields.
 *
 * php-fpm parses its files with PHP's INI scanner in NORMAL mode (checked with `php-fpm8.2 -tt`):
 *   - unquoted `yes/no/on/off/true/false/none/null` become "1" or "" — `env[A] = yes` passes A=1;
 *   - unquoted upper-case words are PHP constants and `& | ~ ^ ! ( )` are operators, so
 *     `E_ALL & ~E_DEPRECATED` becomes 24575 (wanted for error_reporting, wrong for an env value);
 *   - `;` starts a comment, `=`, spaces, `"` and `'` end or change an unquoted value;
 *   - inside double quotes `${NAME}` expands, `\\` is one backslash and `\$` a dollar sign.
 */
import { z } from 'zod';
import { lineValue } from './values.js';

// ---------------------------------------------------------------------------------------------
// Value rules for schemas

/** php-fpm durations: seconds as an integer, or with an s/m/h/d suffix (fpm_conf_set_time). */
export const fpmDuration = z
  .union([z.number().int().nonnegative(), z.string()])
  .transform((v) => String(v))
  .pipe(z.string().regex(/^\d+[smhd]?$/, 'must be a duration: whole seconds, or a number with s, m, h or d (e.g. "10s", "5m")'));

/** Keys of php_value[…], php_flag[…] and friends: PHP INI setting names. */
export const phpIniKey = z.string().regex(/^[A-Za-z0-9_.]+$/, 'must be a PHP INI setting name: letters, digits, "_" and "." only');

/** Names of php-fpm's own directives (pool or global), e.g. `pm.max_spawn_rate`, `process_control_timeout`. */
export const fpmDirectiveName = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/, 'must be a php-fpm directive name: lower-case letters, digits, "_" and "." (e.g. "pm.max_spawn_rate")');

/** Environment variable names for env[…]. */
export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name: letters, digits and "_", not starting with a digit');

/**
 * A single-line INI value, booleans written as `words` (on/off for PHP settings, yes/no for php-fpm's
 * own). Double quotes are refused: php-fpm would read them as the end of the quoted form we render.
 */
export function iniValueWith(words: [string, string]) {
  return z
    .union([z.string(), z.number(), z.boolean()])
    .transform((v) => (typeof v === 'boolean' ? words[v ? 0 : 1] : String(v)))
    .superRefine((s, ctx) => {
      // lineValue's rule (one line), with its message; a pipe into it would not type-check after the transform.
      for (const issue of lineValue.safeParse(s).error?.issues ?? []) ctx.addIssue({ code: 'custom', message: issue.message });
      if (s.includes('"')) ctx.addIssue({ code: 'custom', message: 'must not contain a double quote (")' });
    });
}

export const iniValue = iniValueWith(['on', 'off']);

/** A php_flag value: a boolean, or one of the words PHP reads as one. Rendered as on/off. */
export const iniFlag = z
  .union([z.boolean(), z.number(), z.string()])
  .transform((v) => String(v).toLowerCase())
  .pipe(z.enum(['true', 'false', 'on', 'off', 'yes', 'no', '1', '0'], 'must be a boolean (true/false, on/off, yes/no)'))
  .transform((v) => (['true', 'on', 'yes', '1'].includes(v) ? 'on' : 'off'));

// ---------------------------------------------------------------------------------------------
// Rendering

/**
 * Where a value goes decides how literal it must stay:
 *   directive — php-fpm's own settings: bare yes/no must stay bare (a quoted "yes" is an invalid boolean);
 *   php       — php_value & co. are written as in php.ini: on/off/yes/no/true/false stay bare (PHP reads
 *               "1"/"", which numeric settings such as output_buffering need: a quoted "On" is 0), but
 *               none/null are quoted (`session.cookie_samesite = None` would be empty); constant
 *               expressions such as `E_ALL & ~E_NOTICE` stay bare so PHP evaluates them;
 *   env       — env[…]: everything literal, including upper-case words that could name a constant.
 */
export type IniValueContext = 'directive' | 'php' | 'env';

const BOOLEAN_WORDS = new Set(['yes', 'no', 'on', 'off', 'true', 'false']);
const NULL_WORDS = new Set(['none', 'null']);
const BARE_SAFE = /^\$?[A-Za-z0-9_./:@,+%-]+$/;
const CONSTANT_WORD = /^[A-Z_][A-Z0-9_]*$/;
/** Only constants, numbers, operators and parentheses, with at least one operator: `E_ALL & ~E_NOTICE`. */
const CONSTANT_EXPRESSION = /^(?=.*[A-Z_])(?=.*[&|^~!])[A-Z0-9_ &|^~!()]+$/;

export function renderIniValue(value: string, context: IniValueContext): string {
  if (value.includes('"') || /[\r\n\0]/.test(value)) {
    // The schemas refuse these; reaching here is a bug, and writing it would corrupt the file.
    throw new Error(`renderIniValue: value cannot be written to an INI file: ${JSON.stringify(value)}`);
  }
  if (context === 'php' && CONSTANT_EXPRESSION.test(value)) return value;
  const bare =
    value !== '' &&
    BARE_SAFE.test(value) &&
    !(context !== 'directive' && NULL_WORDS.has(value.toLowerCase())) &&
    !(context === 'env' && BOOLEAN_WORDS.has(value.toLowerCase())) &&
    !(context === 'env' && CONSTANT_WORD.test(value));
  return bare ? value : quoteIniValue(value);
}

export function quoteIniValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/\$/g, '\\$')}"`;
}

// ---------------------------------------------------------------------------------------------
// Reading

export type IniLine =
  | { kind: 'blank' }
  | { kind: 'section'; name: string }
  | { kind: 'entry'; key: string; value: string }
  /** `key` is set when the comment is a commented-out directive (`;process_control_timeout = 0`). */
  | { kind: 'comment'; key?: string }
  | { kind: 'other' };

const KEY = '[A-Za-z0-9_.]+(?:\\[[^\\]\\r\\n]*\\])?';
const ENTRY = new RegExp(`^\\s*(${KEY})\\s*=(.*)$`);
const COMMENTED_ENTRY = new RegExp(`^\\s*;\\s*(${KEY})\\s*=`);
const SECTION = /^\s*\[([^\]]+)\]\s*(?:;.*)?$/;

export function classifyIniLine(line: string): IniLine {
  const text = line.replace(/\r$/, '');
  if (text.trim() === '') return { kind: 'blank' };
  if (/^\s*;/.test(text)) {
    const m = COMMENTED_ENTRY.exec(text);
    return m ? { kind: 'comment', key: m[1]! } : { kind: 'comment' };
  }
  const section = SECTION.exec(text);
  if (section) return { kind: 'section', name: section[1]!.trim() };
  const entry = ENTRY.exec(text);
  if (entry) return { kind: 'entry', key: entry[1]!, value: parseIniValue(entry[2]!) };
  return { kind: 'other' };
}

/** The value php-fpm would read from the text after `=`: quotes removed, escapes resolved, comment cut. */
export function parseIniValue(raw: string): string {
  const s = raw.trim();
  if (s.startsWith('"')) {
    let out = '';
    for (let i = 1; i < s.length; i++) {
      const c = s[i]!;
      if (c === '"') return out;
      if (c === '\\' && i + 1 < s.length && ['"', '\\', '$'].includes(s[i + 1]!)) {
        out += s[++i];
      } else {
        out += c;
      }
    }
    return out; // unterminated: php-fpm would refuse the file; show what is there
  }
  if (s.startsWith("'")) {
    const end = s.indexOf("'", 1);
    return end < 0 ? s.slice(1) : s.slice(1, end);
  }
  const comment = s.indexOf(';');
  return (comment < 0 ? s : s.slice(0, comment)).trim();
}

export interface IniSection {
  /** undefined for directives before the first section header. */
  name?: string;
  /** Directive → value, in file order; a repeated key keeps its last value (as php-fpm does). */
  entries: Map<string, string>;
}

/** Every section of an INI text with its directives; `include` lines are kept as entries. */
export function readIniSections(text: string): IniSection[] {
  const sections: IniSection[] = [{ entries: new Map() }];
  for (const line of text.split('\n')) {
    const l = classifyIniLine(line);
    if (l.kind === 'section') sections.push({ name: l.name, entries: new Map() });
    else if (l.kind === 'entry') {
      const current = sections[sections.length - 1]!;
      current.entries.delete(l.key); // re-insert so the order is where the effective value stands
      current.entries.set(l.key, l.value);
    }
  }
  return sections.filter((s) => s.name !== undefined || s.entries.size > 0);
}
