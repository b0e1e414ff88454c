/**
 * ansible.cfg is read by Python's configparser (ConfigParser with `;` as the only inline comment
 * prefix, values read raw, so no `%` interpolation). This is our own reading of the same rules:
 *
 * - `[section]` headers (anything between the brackets); `DEFAULT` is inherited by every section;
 * - `key = value` or `key: value` (the first `=` or `:`); keys are case-insensitive (lowercased);
 * - whole-line comments start with `#` or `;` (after spaces); an inline comment is ` ;` (a `;` at
 *   the start or after whitespace); `#` after a value is part of the value;
 * - a line indented deeper than its key continues the value (joined with newlines); blank lines
 *   inside a continued value are kept, trailing ones dropped;
 * - a repeated section or key, a line before any section, a line that is not `key = value`: errors.
 */
import { LanesError } from '../errors.js';

export interface IniEntry {
  value: string;
  /** 1-based line of the key. */
  line: number;
}

export interface IniFile {
  file: string;
  /** Section name (as written) → lowercased key → entry. */
  sections: Map<string, Map<string, IniEntry>>;
  defaults: Map<string, IniEntry>;
}

const DEFAULT_SECTION = 'DEFAULT';

export function parseIni(text: string, file: string): IniFile {
  const sections = new Map<string, Map<string, IniEntry>>();
  const defaults = new Map<string, IniEntry>();
  const seen = new Set<string>();
  let current: Map<string, IniEntry> | undefined;
  let sectionName = '';
  // The entry being continued, and its lines (undefined after a key without a value).
  let open: { entry: IniEntry; lines: string[] } | undefined;
  let indent = 0;
  const close = (): void => {
    if (open) open.entry.value = open.lines.join('\n').trimEnd();
  };

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const raw = (lines[i] as string).replace(/\r$/, '');
    const lineNo = i + 1;
    const at = (column: number) => ({ file, line: lineNo, column });
    const value = raw.slice(0, commentStart(raw)).trim();
    if (value === '') {
      // A blank line (not a comment line) inside a value is part of it.
      if (open && commentStart(raw) === raw.length) open.lines.push('');
      continue;
    }
    const lead = raw.length - raw.trimStart().length;
    if (open && current && lead > indent) {
      open.lines.push(value);
      continue;
    }
    indent = lead;
    const header = /^\[(.+)\]/.exec(value);
    if (header) {
      close();
      open = undefined;
      sectionName = header[1] as string;
      if (sectionName === DEFAULT_SECTION) {
        current = defaults;
      } else {
        if (seen.has(`[${sectionName}]`)) {
          throw new LanesError(`section [${sectionName}] already exists`, { location: at(lead + 1), hint: 'write each section once' });
        }
        seen.add(`[${sectionName}]`);
        current = sections.get(sectionName) ?? new Map<string, IniEntry>();
        sections.set(sectionName, current);
      }
      continue;
    }
    if (!current) {
      throw new LanesError('ansible.cfg contains a line before any [section] header', { location: at(lead + 1), hint: 'start with [defaults]' });
    }
    const m = /^(.*?)\s*[=:]\s*(.*)$/.exec(value);
    if (!m || m[1] === '') {
      throw new LanesError(`not a "key = value" line: ${JSON.stringify(value)}`, { location: at(lead + 1), hint: 'key = value or key: value' });
    }
    close();
    const key = (m[1] as string).trimEnd().toLowerCase();
    const id = `${sectionName}\u0000${key}`;
    if (seen.has(id)) {
      throw new LanesError(`option "${key}" in section [${sectionName}] already exists`, { location: at(lead + 1), hint: 'set each option once per section' });
    }
    seen.add(id);
    const entry: IniEntry = { value: (m[2] as string).trim(), line: lineNo };
    current.set(key, entry);
    open = { entry, lines: [entry.value] };
  }
  close();
  return { file, sections, defaults };
}

/** configparser's get(section, key): the section's own key, else DEFAULT's; nothing when the section is absent. */
export function iniGet(ini: IniFile, section: string, key: string): IniEntry | undefined {
  const s = ini.sections.get(section);
  if (!s) return undefined;
  return s.get(key) ?? ini.defaults.get(key);
}

/**
 * Where the comment of a line starts (its length when none): the whole line when its first
 * non-blank character is `#` or `;`, else the first `;` at the start or after whitespace.
 */
function commentStart(line: string): number {
  const t = line.trimStart();
  if (t.startsWith('#') || t.startsWith(';')) return 0;
  for (let i = line.indexOf(';'); i >= 0; i = line.indexOf(';', i + 1)) {
    if (i === 0 || /\s/.test(line[i - 1] as string)) return i;
  }
  return line.length;
}
