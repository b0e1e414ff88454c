/**
 * fpm_global: the declared settings of php-fpm.conf's [global] section, edited in place.
 *
 * The distribution owns php-fpm.conf (its pid and error_log paths, its include line, its comments),
 * so lanes rewrites only the lines of the keys a playbook declares and keeps every other byte:
 * an active `key = …` line is replaced where it stands, else the commented default (`;key = 0`, as
 * Debian ships process_control_timeout) is replaced, else the line is added inside [global].
 *
 * Where [global] ends matters: directives after an `include` line belong to the last included pool
 * (php-fpm 8.2 refuses `log_level` there as an unknown pool entry), so an include ends the section.
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { compareFile } from './managed-file.js';
import { classifyIniLine, fpmDirectiveName, fpmDuration, iniValueWith, renderIniValue } from './fpm-ini.js';
import { fpmInstallFor } from './fpm-pool.js';
import type { FieldChange, ResourceType } from './types.js';

/** Global settings whose values are durations (fpm_conf_set_time); their values are checked as such. */
const DURATION_KEYS = new Set(['process_control_timeout', 'emergency_restart_interval', 'systemd_interval']);

export const fpmGlobalSchema = z.strictObject({
  php_version: z
    .union([z.number(), z.string()])
    .transform((v) => String(v))
    .pipe(z.string().regex(/^\d+\.\d+$/, 'must be a PHP version "major.minor" in quotes, e.g. "8.2"'))
    .optional(),
  settings: z
    // Booleans are yes/no here: php-fpm's own booleans (daemonize, log_buffering) are written that way.
    .record(z.string(), iniValueWith(['yes', 'no']))
    .superRefine((settings, ctx) => {
      for (const [key, value] of Object.entries(settings)) {
        const name = fpmDirectiveName.safeParse(key);
        if (!name.success) ctx.addIssue({ code: 'custom', path: [key], message: `key ${JSON.stringify(key)} ${name.error.issues[0]?.message ?? 'is invalid'}` });
        else if (key === 'include') ctx.addIssue({ code: 'custom', path: [key], message: 'include is not a setting: pool files are managed by fpm_pool' });
        else if (DURATION_KEYS.has(key) && !fpmDuration.safeParse(value).success) {
          ctx.addIssue({ code: 'custom', path: [key], message: `${key} must be a duration: whole seconds, or a number with s, m, h or d (e.g. "10s")` });
        }
      }
    }),
});

export type FpmGlobalSpec = z.output<typeof fpmGlobalSchema>;

interface Scope {
  /** Index of the `[global]` header line, or -1 for the directives before any section. */
  header: number;
  /** First line after the scope: the next section header, an include line, or the line count. */
  end: number;
}

/** Where global directives stand: the preamble before any section or include, and each [global] section. */
function globalScopes(lines: string[]): Scope[] {
  const scopes: Scope[] = [];
  let open: Scope | undefined = { header: -1, end: lines.length };
  lines.forEach((line, i) => {
    const l = classifyIniLine(line);
    const closes = l.kind === 'section' || (l.kind === 'entry' && l.key === 'include');
    if (closes && open) {
      open.end = i;
      scopes.push(open);
      open = undefined;
    }
    if (l.kind === 'section' && l.name === 'global') open = { header: i, end: lines.length };
  });
  if (open) scopes.push(open);
  return scopes;
}

/** The value php-fpm uses for a global setting (the last one wins), or undefined when unset. */
export function readGlobalSetting(text: string, key: string): string | undefined {
  const lines = text.split('\n');
  let value: string | undefined;
  for (const scope of globalScopes(lines)) {
    for (let i = scope.header + 1; i < scope.end; i++) {
      const l = classifyIniLine(lines[i]!);
      if (l.kind === 'entry' && l.key === key) value = l.value;
    }
  }
  return value;
}

/**
 * Set each declared key inside [global], keeping every other byte. Lines whose value already matches
 * stay untouched (so `key=10s` is not respaced into `key = 10s` on every run).
 */
export function editGlobalSettings(text: string, settings: Record<string, string>): string {
  const eol = text.includes('\r\n') ? '\r' : '';
  const lines = text.split('\n');
  const sections = globalScopes(lines).filter((s) => s.header >= 0);
  const line = (key: string) => `${key} = ${renderIniValue(settings[key]!, 'directive')}${eol}`;
  const pending: string[] = [];
  for (const key of Object.keys(settings)) {
    const inScope = (pred: (i: number) => boolean) => sections.flatMap((s) => range(s.header + 1, s.end).filter(pred));
    const active = inScope((i) => isEntry(lines[i]!, key));
    if (active.length) {
      // Every active line is rewritten: php-fpm takes the last one, and a stale first one would mislead.
      for (const i of active) if ((classifyIniLine(lines[i]!) as { value: string }).value !== settings[key]) lines[i] = line(key);
      continue;
    }
    const commented = inScope((i) => {
      const l = classifyIniLine(lines[i]!);
      return l.kind === 'comment' && l.key === key;
    });
    if (commented.length) lines[commented[0]!] = line(key);
    else pending.push(line(key));
  }
  if (!pending.length) return lines.join('\n');

  const last = sections[sections.length - 1];
  if (!last) {
    // No [global] section: add one at the end, where no include can capture the lines for a pool.
    let body = text;
    if (body !== '' && !body.endsWith('\n')) body += `${eol}\n`;
    if (body !== '') body += `${eol}\n`;
    return `${body}[global]${eol}\n${pending.map((p) => `${p}\n`).join('')}`;
  }
  let at = last.end;
  if (at === lines.length) {
    // The section runs to the end of the file: append after its last line, ending with a newline.
    if (lines[at - 1] === '') at--;
    else lines.push('');
  } else {
    // Keep the next section's or include's comment block attached to it: insert above that block.
    while (at - 1 > last.header && classifyIniLine(lines[at - 1]!).kind === 'comment') at--;
  }
  const gapBefore = at - 1 > last.header && classifyIniLine(lines[at - 1]!).kind !== 'blank' ? [eol] : [];
  const gapAfter = at < lines.length && lines[at] !== '' && classifyIniLine(lines[at]!).kind !== 'blank' ? [eol] : [];
  lines.splice(at, 0, ...gapBefore, ...pending, ...gapAfter);
  return lines.join('\n');
}

function isEntry(line: string, key: string): boolean {
  const l = classifyIniLine(line);
  return l.kind === 'entry' && l.key === key;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

export const fpmGlobalResource: ResourceType<FpmGlobalSpec> = {
  type: 'fpm_global',
  schema: fpmGlobalSchema,
  id: () => 'global',
  probes: () => [
    { kind: 'file', path: '/etc/php/*/fpm/php-fpm.conf' },
    { kind: 'file', path: '/etc/php-fpm.conf' },
  ],
  plan(spec, actual, ctx) {
    const resource = 'fpm_global[global]';
    const install = fpmInstallFor(resource, spec.php_version, actual, ctx);
    const have = actual.files.get(install.confFile);
    if (!have || have.type !== 'file' || have.content === undefined) {
      const why = !have ? 'does not exist' : have.type !== 'file' ? `is a ${have.type}, not a file` : 'is too large to edit (over 512 KiB)';
      throw new LanesError(`${resource}: ${install.confFile} on ${ctx.host} ${why}; php-fpm ${install.version}'s main configuration is needed to edit [global]`, {
        kind: 'input',
        location: ctx.source,
        host: ctx.host,
      });
    }
    const content = editGlobalSettings(have.content, spec.settings);
    // Keep the distribution's owner, group and mode: only the declared lines are lanes' business.
    const cmp = compareFile({ path: install.confFile, content, owner: have.owner, group: have.group, mode: have.mode }, actual);
    if (!cmp.action) return [];

    const fields: FieldChange[] = [];
    for (const key of Object.keys(spec.settings)) {
      const before = readGlobalSetting(have.content, key);
      const after = readGlobalSetting(content, key);
      if (before !== after) fields.push({ name: key, before, after });
    }
    const notes = fields.some((f) => f.name === 'process_control_timeout')
      ? ['process_control_timeout applies from the reload after this one (php-fpm reads it on start); a release later relies on it']
      : undefined;
    return [
      {
        resource,
        action: 'update',
        summary: `php-fpm ${install.version} global (${install.confFile}): ${
          fields.length ? fields.map((f) => `${f.name} ${f.before ?? '(unset)'} → ${f.after}`).join(', ') : 'rewrite earlier duplicate lines of the declared keys'
        }`,
        fields,
        diff: cmp.diff,
        operations: cmp.operations,
        validators: [{ kind: 'fpm-test', binary: install.binary }],
        // Pools are checked by their own resources; here only the master's survival matters.
        handlers: [{ kind: 'fpm-reload', unit: install.unit, binary: install.binary, confFile: install.confFile, sockets: [] }],
        notes,
      },
    ];
  },
};
