/**
 * supervisor_program: one Supervisor `[program:NAME]` file per program, in the directory the host's
 * supervisord includes (Debian `/etc/supervisor/conf.d/NAME.conf`, RHEL `/etc/supervisord.d/NAME.ini`).
 *
 *   supervisor:
 *     programs:
 *       queue:
 *         command: /usr/bin/php /srv/app/current/artisan queue:work --sleep=3 --tries=3
 *         numprocs: 4
 *         user: queue
 *         stopwaitsecs: 600
 *
 * A changed, new or removed file is validated with `supervisorctl reread` (it fails on a broken
 * file, and the file is restored) and applied with `supervisorctl update`, which restarts exactly
 * the changed programs — once: never add a restart after it.
 *
 * Supervisor reads these files with Python's configparser (inline comments start at " ;" or " #",
 * even inside quotes) and then expands `%(name)s` in every value, so values are checked for both;
 * environment values are written literally (a "%" is doubled), quoted for Supervisor's
 * KEY="value",… parser, which has no escape for a double quote.
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { compareFile, unifiedDiff } from './managed-file.js';
import type { ActualState, Change, FieldChange, PlanContext, Probe, ResourceType } from './types.js';
import { absolutePath, lineValue, safeName, unixName } from './values.js';

/** Supervisor expands `%(name)s`-style references in values; any other "%" must be doubled. */
export function supervisorPercentOk(s: string): boolean {
  return !s.replace(/%%|%\([A-Za-z0-9_]+\)[-#0 +]*\d*(?:\.\d+)?[sdiouxXeEfFgGcr]/g, '').includes('%');
}

/** configparser ends a value at an inline comment: ";" or "#" after whitespace. */
function noInlineComment(s: string): boolean {
  return !/\s[;#]/.test(s);
}

const supervisorText = lineValue
  .refine(noInlineComment, 'must not contain " ;" or " #" (Supervisor would cut the value there as a comment)')
  .refine(supervisorPercentOk, 'a literal "%" must be written "%%" (Supervisor expands %(name)s references)');

const logFile = z
  .union([absolutePath, z.enum(['AUTO', 'NONE'])], { error: 'must be an absolute path, "AUTO" or "NONE"' })
  .refine(noInlineComment, 'must not contain " ;" or " #" (Supervisor would cut the value there as a comment)')
  .refine(supervisorPercentOk, 'a literal "%" must be written "%%" (Supervisor expands %(name)s references)');

const count = (min: number) =>
  z.number({ error: `must be a whole number (at least ${min})` }).int(`must be a whole number (at least ${min})`).min(min, `must be a whole number (at least ${min})`);

const byteSize = z
  .union([z.number().int().min(0), z.string().regex(/^\d+(KB|MB|GB)?$/)], { error: 'must be a size such as 50MB (KB, MB or GB) or a number of bytes' })
  .transform((v) => String(v));

const envValue = lineValue
  .refine((s) => !s.includes('"'), 'must not contain a double quote (Supervisor\'s environment syntax cannot escape it)')
  .refine((s) => !/^'|'$/.test(s), 'must not start or end with a single quote (Supervisor strips quotes at both ends)')
  .refine(noInlineComment, 'must not contain " ;" or " #" (Supervisor would cut the value there as a comment)');

const environment = z.record(z.string(), envValue).superRefine((env, ctx) => {
  for (const key of Object.keys(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'must be an environment variable name: letters, digits and "_", not starting with a digit' });
    }
  }
});

export const STOP_SIGNALS = ['TERM', 'INT', 'QUIT', 'KILL', 'HUP', 'USR1', 'USR2'] as const;

export const supervisorProgramSchema = z
  .strictObject({
    name: safeName,
    command: supervisorText.refine((s) => s.trim() !== '', 'must not be empty'),
    numprocs: count(1).default(1),
    process_name: supervisorText.optional(),
    user: unixName.optional(),
    directory: absolutePath.refine(supervisorPercentOk, 'a literal "%" must be written "%%" (Supervisor expands %(name)s references)').optional(),
    environment: environment.optional(),
    autostart: z.boolean().default(true),
    autorestart: z.union([z.boolean(), z.literal('unexpected')], { error: 'must be true, false or "unexpected"' }).default(true),
    startsecs: count(0).optional(),
    startretries: count(0).optional(),
    stopsignal: z.enum(STOP_SIGNALS, { error: `must be one of ${STOP_SIGNALS.join(', ')}` }).optional(),
    stopwaitsecs: count(0).optional(),
    stopasgroup: z.boolean().optional(),
    killasgroup: z.boolean().optional(),
    priority: count(0).optional(),
    redirect_stderr: z.boolean().optional(),
    stdout_logfile: logFile.optional(),
    stdout_logfile_maxbytes: byteSize.optional(),
    stdout_logfile_backups: count(0).optional(),
    stderr_logfile: logFile.optional(),
    state: z.enum(['present', 'absent'], { error: 'must be "present" or "absent"' }).default('present'),
    /** Shown as hashes in every output, never as values; its files default to a private mode (README: Secrets). */
    sensitive: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.numprocs > 1 && v.process_name !== undefined && !v.process_name.includes('%(process_num)')) {
      ctx.addIssue({ code: 'custom', path: ['process_name'], message: 'must contain %(process_num)02d (or another %(process_num) format) when numprocs > 1' });
    }
    if (v.redirect_stderr === true && v.stderr_logfile !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['stderr_logfile'], message: 'is not used when redirect_stderr is true (stderr goes to stdout_logfile)' });
    }
  });

export type SupervisorProgramSpec = z.output<typeof supervisorProgramSchema>;

/** Supervisor's process_name default, made explicit. */
export function processName(spec: SupervisorProgramSpec): string {
  return spec.process_name ?? (spec.numprocs > 1 ? '%(program_name)s_%(process_num)02d' : '%(program_name)s');
}

/** `KEY="value",…`, sorted by key; "%" doubled so that values are literal. */
export function environmentValue(env: Record<string, string>): string {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}="${(env[k] ?? '').replace(/%/g, '%%')}"`)
    .join(',');
}

export const SUPERVISOR_HEADER = '; managed by lanes — changes made here will be overwritten';

/** The directives of the program section in file order (undefined = not written). */
function directives(spec: SupervisorProgramSpec): Array<[string, string | undefined]> {
  const s = (v: string | number | boolean | undefined) => (v === undefined ? undefined : String(v));
  return [
    ['command', spec.command],
    ['process_name', processName(spec)],
    ['numprocs', s(spec.numprocs)],
    ['directory', spec.directory],
    ['user', spec.user],
    ['environment', spec.environment && Object.keys(spec.environment).length ? environmentValue(spec.environment) : undefined],
    ['autostart', s(spec.autostart)],
    ['autorestart', s(spec.autorestart)],
    ['startsecs', s(spec.startsecs)],
    ['startretries', s(spec.startretries)],
    ['stopsignal', spec.stopsignal],
    ['stopwaitsecs', s(spec.stopwaitsecs)],
    ['stopasgroup', s(spec.stopasgroup)],
    ['killasgroup', s(spec.killasgroup)],
    ['priority', s(spec.priority)],
    ['redirect_stderr', s(spec.redirect_stderr)],
    ['stdout_logfile', spec.stdout_logfile],
    ['stdout_logfile_maxbytes', spec.stdout_logfile_maxbytes],
    ['stdout_logfile_backups', s(spec.stdout_logfile_backups)],
    ['stderr_logfile', spec.stderr_logfile],
  ];
}

export function renderProgram(spec: SupervisorProgramSpec): string {
  const lines = directives(spec)
    .filter((d): d is [string, string] => d[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`);
  return `${SUPERVISOR_HEADER}\n[program:${spec.name}]\n${lines.join('\n')}\n`;
}

/**
 * The `[program:NAME]` directives of an existing file as configparser reads them: keys lower-cased,
 * inline comments (" ;", " #") and surrounding blanks removed. Other sections are ignored.
 */
export function parseProgram(text: string, name: string): Map<string, string> {
  const out = new Map<string, string>();
  let inside = false;
  let last: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*$/.test(raw) || /^\s*[;#]/.test(raw)) continue;
    const sec = /^\[([^\]]+)\]/.exec(raw);
    if (sec) {
      inside = sec[1]?.trim() === `program:${name}`;
      last = undefined;
      continue;
    }
    if (!inside) continue;
    // An indented line continues the previous value (configparser multi-line values).
    if (/^\s/.test(raw) && last !== undefined) {
      out.set(last, `${out.get(last) ?? ''}\n${raw.trim()}`);
      continue;
    }
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw);
    if (!m) continue;
    last = (m[1] ?? '').toLowerCase();
    out.set(last, (m[2] ?? '').replace(/\s[;#].*$/, '').trim());
  }
  return out;
}

/** Supervisor's KEY=value,KEY2="value 2" list → map (quotes stripped as Supervisor does). */
export function parseEnvironment(value: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /\s*([^=,\s]+)\s*=\s*("[^"]*"|'[^']*'|[^,]*?)\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) {
    if (m[0] === '') break;
    out.set(m[1] ?? '', (m[2] ?? '').replace(/^['"]+|['"]+$/g, ''));
  }
  return out;
}

/** before → after per directive; environment per variable (`environment.APP_ENV`). */
export function programFields(before: Map<string, string> | undefined, after: Map<string, string>): FieldChange[] {
  const fields: FieldChange[] = [];
  const keys = [...after.keys(), ...[...(before?.keys() ?? [])].filter((k) => !after.has(k))];
  for (const key of keys) {
    const b = before?.get(key);
    const a = after.get(key);
    if (b === a) continue;
    if (key === 'environment') {
      // Shown as the program sees them: "%%" is a literal "%".
      const literal = (m: Map<string, string>) => new Map([...m].map(([k, v]) => [k, v.replace(/%%/g, '%')]));
      const be = literal(parseEnvironment(b ?? ''));
      const ae = literal(parseEnvironment(a ?? ''));
      const names = [...new Set([...ae.keys(), ...be.keys()])].sort();
      for (const n of names) {
        if (be.get(n) !== ae.get(n)) fields.push({ name: `environment.${n}`, before: be.get(n), after: ae.get(n) });
      }
      continue;
    }
    fields.push({ name: key, before: b, after: a });
  }
  return fields;
}

/** Where the host's supervisord includes program files from; throws when Supervisor is missing. */
export function programPath(name: string, actual: ActualState, ctx: PlanContext): string | undefined {
  const sup = actual.facts.supervisor;
  if (!sup.installed) return undefined;
  if (!sup.includeDir || !sup.includeExt) {
    throw new LanesError(`supervisor_program[${name}]: supervisord on ${ctx.host} has no [include] files = DIR/*.EXT line, so lanes does not know where program files go`, {
      kind: 'input',
      location: ctx.source,
      host: ctx.host,
      hint: 'add "[include] files = /etc/supervisor/conf.d/*.conf" to supervisord.conf',
    });
  }
  return `${sup.includeDir}/${name}${sup.includeExt}`;
}

function summarize(fields: FieldChange[], max = 3): string {
  const shown = fields.slice(0, max).map((f) => `${f.name} ${f.before ?? '(unset)'} → ${f.after ?? '(unset)'}`);
  return fields.length > max ? `${shown.join(', ')}, … (${fields.length - max} more)` : shown.join(', ');
}

export const supervisorProgramResource: ResourceType<SupervisorProgramSpec> = {
  type: 'supervisor_program',
  schema: supervisorProgramSchema,
  id: (spec) => spec.name,
  probes: (spec): Probe[] => [
    { kind: 'file', path: `/etc/supervisor/conf.d/${spec.name}.conf` },
    { kind: 'file', path: `/etc/supervisord.d/${spec.name}.ini` },
    { kind: 'supervisor' },
  ],
  plan(spec, actual, ctx): Change[] {
    const resource = `supervisor_program[${spec.name}]`;
    const path = programPath(spec.name, actual, ctx);
    if (path === undefined) {
      if (spec.state === 'absent') return [];
      throw new LanesError(`${resource}: Supervisor is not installed on ${ctx.host}`, {
        kind: 'input',
        location: ctx.source,
        host: ctx.host,
        hint: 'install it first (package "supervisor")',
      });
    }
    const notes =
      actual.supervisor === undefined
        ? ['supervisord is not running (supervisorctl status failed): `supervisorctl reread` will fail and the file will be restored — start supervisord first']
        : undefined;
    const have = actual.files.get(path);

    if (spec.state === 'absent') {
      if (!have) return [];
      return [
        {
          resource,
          action: 'delete',
          summary: `remove program ${spec.name} (${path}); supervisorctl update stops it`,
          diff: have.content !== undefined ? unifiedDiff(path, have.content, '') : undefined,
          operations: [{ op: 'remove', path }],
          validators: [{ kind: 'supervisor-reread' }],
          handlers: [{ kind: 'supervisor-update' }],
          notes,
        },
      ];
    }

    const content = renderProgram(spec);
    // supervisord reads program files as root: one carrying environment values is root's alone to read.
    const mode = (spec.environment && Object.keys(spec.environment).length) || spec.sensitive || ctx.sensitive ? '0640' : '0644';
    const cmp = compareFile({ path, content, owner: 'root', group: 'root', mode }, actual);
    if (!cmp.action) return notRunning(spec, actual, resource);

    const after = parseProgram(content, spec.name);
    const before = have?.type === 'file' && have.content !== undefined ? parseProgram(have.content, spec.name) : undefined;
    const fields = [...programFields(before, after), ...cmp.fields];
    const summary =
      cmp.action === 'create'
        ? `create program ${spec.name} (${path})`
        : cmp.contentChanged
          ? `program ${spec.name}: ${summarize(programFields(before, after)) || `update ${path}`}`
          : `program ${spec.name}: change ${cmp.fields.map((f) => f.name).join(', ')} of ${path}`;
    return [
      {
        resource,
        action: cmp.action,
        summary,
        fields: fields.length ? fields : undefined,
        diff: cmp.diff,
        operations: cmp.operations,
        // Mode/owner-only changes need no reread: supervisord reads the file as root either way.
        validators: cmp.contentChanged ? [{ kind: 'supervisor-reread' }] : undefined,
        handlers: cmp.contentChanged ? [{ kind: 'supervisor-update' }] : undefined,
        notes,
      },
    ];
  },
};

/**
 * A converged program that should run (autostart) but does not — stopped by hand, or FATAL after
 * too many quick exits — is started. Its processes are `NAME` or, in a group, `NAME:NAME_00`….
 */
function notRunning(spec: SupervisorProgramSpec, actual: ActualState, resource: string): Change[] {
  if (!spec.autostart || actual.supervisor === undefined) return [];
  const procs = [...actual.supervisor.values()].filter((p) => p.name === spec.name || p.name.startsWith(`${spec.name}:`));
  const down = procs.filter((p) => p.state !== 'RUNNING' && p.state !== 'STARTING');
  if (procs.length > 0 && down.length === 0) return [];
  const program = procs.some((p) => p.name.includes(':')) ? `${spec.name}:*` : spec.name;
  const states = down.length ? [...new Set(down.map((p) => p.state))].join('/') : 'not loaded';
  return [
    {
      resource,
      action: 'update',
      summary: `program ${spec.name}: ${states} → RUNNING`,
      fields: [{ name: 'state', before: states, after: 'RUNNING' }],
      operations: [],
      handlers: procs.length ? [{ kind: 'supervisor-start', program }] : [{ kind: 'supervisor-update' }],
    },
  ];
}
