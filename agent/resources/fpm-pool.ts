/**
 * fpm_pool: one PHP-FPM pool file, `<poolDir>/<name>.conf`, rendered whole from the playbook.
 *
 * The plan compares the rendered file with the one on the host (text diff) and also the directives
 * parsed from both (structured before → after), because "pm.max_children 8 → 12" is what an operator
 * needs to read. Most changes need only a graceful reload; a reload keeps the listening socket it
 * inherited, so changed listen.owner/group/mode/backlog need a restart (see PHP-OPS-NOTES).
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import type { FpmInstall } from '../facts/php-fpm.js';
import { compareFile, normalizeMode, unifiedDiff } from './managed-file.js';
import { envName, fpmDirectiveName, fpmDuration, iniFlag, iniValue, phpIniKey, readIniSections, renderIniValue, type IniValueContext } from './fpm-ini.js';
import type { ActualState, FieldChange, PlanContext, ResourceType } from './types.js';
import { absolutePath, lineValue, octalMode, safeName, unixName } from './values.js';

// ---------------------------------------------------------------------------------------------
// Schema

const LISTEN_ADDRESS = /^(?:(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):)?(\d{1,5})$/;
const LISTEN_FORMS = 'an absolute socket path (e.g. "/run/php/web.sock"), "host:port" or a port number';

const listenAddress = z
  .union([z.number().int(), z.string()])
  .transform((v) => String(v))
  .pipe(z.string().refine((s) => validPort(LISTEN_ADDRESS.exec(s)?.[1]), 'must be "host:port", "[ipv6]:port" or a port number (1-65535)'));

/** `listen: /run/php/x.sock` or `listen: "127.0.0.1:9001"` — the short form of the object below. */
const listenShort = z
  .union([z.number().int(), z.string()])
  .transform((v) => String(v))
  .pipe(
    z.string().superRefine((s, ctx) => {
      if (s.startsWith('/')) {
        const p = absolutePath.safeParse(s);
        if (!p.success) ctx.addIssue({ code: 'custom', message: p.error.issues[0]?.message ?? 'invalid socket path' });
      } else if (!validPort(LISTEN_ADDRESS.exec(s)?.[1])) {
        ctx.addIssue({ code: 'custom', message: `must be ${LISTEN_FORMS}` });
      }
    }),
  );

const listenFull = z
  .strictObject({
    path: absolutePath.optional(),
    address: listenAddress.optional(),
    owner: unixName.optional(),
    group: unixName.optional(),
    mode: octalMode.optional(),
    /** -1 = the kernel's maximum (somaxconn). */
    backlog: z.number().int().min(-1).optional(),
    allowed_clients: lineValue.pipe(z.string().regex(/^[0-9A-Fa-f:.]+(,\s*[0-9A-Fa-f:.]+)*$/, 'must be a comma-separated list of IP addresses')).optional(),
  })
  .superRefine((l, ctx) => {
    if ((l.path === undefined) === (l.address === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of path (a Unix socket) or address ("host:port")', path: [] });
    }
    if (l.allowed_clients !== undefined && l.address === undefined) {
      ctx.addIssue({ code: 'custom', path: ['allowed_clients'], message: 'applies only to a TCP address; a Unix socket is restricted by owner, group and mode' });
    }
    if (l.address !== undefined) {
      for (const k of ['owner', 'group', 'mode'] as const) {
        if (l[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `applies only to a Unix socket (path), not to address ${l.address}` });
      }
    }
  });

type Listen = z.output<typeof listenFull>;

const count = z.number().int().positive();
const urlPath = z.string().regex(/^\/[A-Za-z0-9._~/-]*$/, 'must be a URL path starting with "/" (letters, digits, ".", "_", "~", "-" and "/")');

const pmSchema = z
  .strictObject({
    mode: z.enum(['static', 'dynamic', 'ondemand']),
    max_children: count,
    start_servers: count.optional(),
    min_spare_servers: count.optional(),
    max_spare_servers: count.optional(),
    /** 0 = never recycle children (php-fpm's default). */
    max_requests: z.number().int().nonnegative().optional(),
    process_idle_timeout: fpmDuration.optional(),
    status_path: urlPath.optional(),
  })
  .superRefine((pm, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (pm.mode !== 'dynamic') {
      for (const k of ['start_servers', 'min_spare_servers', 'max_spare_servers'] as const) {
        if (pm[k] !== undefined) issue(k, `${k} applies only to mode dynamic (mode is ${pm.mode})`);
      }
    }
    if (pm.mode !== 'ondemand' && pm.process_idle_timeout !== undefined) issue('process_idle_timeout', `process_idle_timeout applies only to mode ondemand (mode is ${pm.mode})`);
    if (pm.mode !== 'dynamic') return;
    // The rules php-fpm checks at start (fpm_conf.c), so a playbook fails at load time instead of at reload.
    const { max_children: maxChildren, start_servers: start, min_spare_servers: min, max_spare_servers: max } = pm;
    if (min === undefined) issue('min_spare_servers', 'min_spare_servers is required with mode dynamic (php-fpm refuses a dynamic pool without it)');
    if (max === undefined) issue('max_spare_servers', 'max_spare_servers is required with mode dynamic (php-fpm refuses a dynamic pool without it)');
    if (min === undefined || max === undefined) return;
    if (max > maxChildren) issue('max_spare_servers', `max_spare_servers (${max}) must not exceed max_children (${maxChildren})`);
    if (min > max) issue('min_spare_servers', `min_spare_servers (${min}) must not exceed max_spare_servers (${max})`);
    else if (start !== undefined && (start < min || start > max)) {
      issue('start_servers', `start_servers (${start}) must be between min_spare_servers (${min}) and max_spare_servers (${max})`);
    }
  });

/** A map whose keys follow `keyRule`, checked here so the message names the key (zod's own says only "Invalid key"). */
function keyed<V extends z.ZodType>(keyRule: z.ZodString, value: V) {
  return z.record(z.string(), value).superRefine((rec, ctx) => {
    for (const key of Object.keys(rec)) {
      const r = keyRule.safeParse(key);
      if (!r.success) ctx.addIssue({ code: 'custom', path: [key], message: `key ${JSON.stringify(key)} ${r.error.issues[0]?.message ?? 'is invalid'}` });
    }
  });
}

/** Directives with their own key in the spec; `extra` must not set them a second time. */
const MODELLED = new Set([
  ...['user', 'group', 'listen', 'listen.owner', 'listen.group', 'listen.mode', 'listen.backlog', 'listen.allowed_clients'],
  ...['pm', 'pm.max_children', 'pm.start_servers', 'pm.min_spare_servers', 'pm.max_spare_servers', 'pm.max_requests'],
  ...['pm.process_idle_timeout', 'pm.status_path', 'ping.path', 'ping.response', 'slowlog', 'request_slowlog_timeout'],
  ...['request_terminate_timeout', 'catch_workers_output', 'clear_env'],
  'include', // would pull other files into this pool
]);

export const fpmPoolSchema = z
  .strictObject({
    name: safeName,
    state: z.enum(['present', 'absent']).default('present'),
    php_version: z
      .union([z.number(), z.string()])
      .transform((v) => String(v))
      .pipe(z.string().regex(/^\d+\.\d+$/, 'must be a PHP version "major.minor" in quotes, e.g. "8.2"'))
      .optional(),
    user: unixName.optional(),
    group: unixName.optional(),
    // Normalised after the union: a transform inside an option would make zod report only "Invalid input".
    listen: z
      .union([listenShort, listenFull])
      .transform((l): Listen => (typeof l !== 'string' ? l : l.startsWith('/') ? { path: l } : { address: l }))
      .optional(),
    pm: pmSchema.optional(),
    ping: z.strictObject({ path: urlPath, response: iniValue.optional() }).optional(),
    slowlog: z.strictObject({ path: absolutePath, timeout: fpmDuration }).optional(),
    request_terminate_timeout: fpmDuration.optional(),
    catch_workers_output: z.boolean().optional(),
    clear_env: z.boolean().optional(),
    env: keyed(envName, iniValue).optional(),
    php_value: keyed(phpIniKey, iniValue).optional(),
    php_admin_value: keyed(phpIniKey, iniValue).optional(),
    php_flag: keyed(phpIniKey, iniFlag).optional(),
    php_admin_flag: keyed(phpIniKey, iniFlag).optional(),
    /** Escape hatch: raw pool directives lanes does not model (pm.max_spawn_rate, access.log, …). */
    extra: keyed(fpmDirectiveName, iniValue)
      .superRefine((rec, ctx) => {
        for (const key of Object.keys(rec)) {
          if (MODELLED.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: `${key} has its own key in the pool spec; extra is only for directives lanes does not model` });
        }
      })
      .optional(),
    /** Shown as hashes in every output, never as values; its files default to a private mode (README: Secrets). */
    sensitive: z.boolean().optional(),
  })
  .superRefine((s, ctx) => {
    if (s.state === 'absent') return; // only the name matters for removal; other keys may stay in the playbook
    for (const k of ['user', 'listen', 'pm'] as const) {
      if (s[k] === undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} is required for a pool with state present` });
    }
  });

export type FpmPoolSpec = z.output<typeof fpmPoolSchema>;

// ---------------------------------------------------------------------------------------------
// Rendering

export const MANAGED_HEADER = '; managed by lanes — changes made here will be overwritten';

interface Directive {
  key: string;
  /** The value php-fpm reads (unquoted), for before → after fields. */
  value: string;
  context: IniValueContext;
}

/** The pool's directives in file order, in groups that the file separates with a blank line. */
export function poolDirectives(spec: FpmPoolSpec): Directive[][] {
  const { user, listen, pm } = requirePresent(spec);
  const d = (key: string, value: string | number | boolean | undefined, context: IniValueContext = 'directive'): Directive[] =>
    value === undefined ? [] : [{ key, value: typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value), context }];
  const map = (prefix: string, rec: Record<string, string> | undefined, context: IniValueContext): Directive[] =>
    Object.keys(rec ?? {})
      .sort()
      .flatMap((k) => d(`${prefix}[${k}]`, rec![k], context));
  return [
    [...d('user', user), ...d('group', spec.group ?? user)],
    [
      ...d('listen', listen.path ?? listen.address),
      ...d('listen.owner', listen.owner),
      ...d('listen.group', listen.group),
      ...d('listen.mode', listen.mode),
      ...d('listen.backlog', listen.backlog),
      ...d('listen.allowed_clients', listen.allowed_clients),
    ],
    [
      ...d('pm', pm.mode),
      ...d('pm.max_children', pm.max_children),
      ...d('pm.start_servers', pm.start_servers),
      ...d('pm.min_spare_servers', pm.min_spare_servers),
      ...d('pm.max_spare_servers', pm.max_spare_servers),
      ...d('pm.process_idle_timeout', pm.process_idle_timeout),
      ...d('pm.max_requests', pm.max_requests),
      ...d('pm.status_path', pm.status_path),
      ...d('ping.path', spec.ping?.path),
      // The response is a literal string: a bare "yes" would answer "1".
      ...d('ping.response', spec.ping?.response, 'env'),
    ],
    [
      ...d('slowlog', spec.slowlog?.path),
      ...d('request_slowlog_timeout', spec.slowlog?.timeout),
      ...d('request_terminate_timeout', spec.request_terminate_timeout),
    ],
    [...d('catch_workers_output', spec.catch_workers_output), ...d('clear_env', spec.clear_env)],
    map('env', spec.env, 'env'),
    [
      ...map('php_value', spec.php_value, 'php'),
      ...map('php_flag', spec.php_flag, 'directive'),
      ...map('php_admin_value', spec.php_admin_value, 'php'),
      ...map('php_admin_flag', spec.php_admin_flag, 'directive'),
    ],
    Object.keys(spec.extra ?? {})
      .sort()
      .flatMap((k) => d(k, spec.extra![k])),
  ].filter((group) => group.length > 0);
}

export function renderPool(spec: FpmPoolSpec): string {
  const groups = poolDirectives(spec).map((g) => g.map((x) => `${x.key} = ${renderIniValue(x.value, x.context)}\n`).join(''));
  return `${MANAGED_HEADER}\n[${spec.name}]\n${groups.join('\n')}`;
}

function requirePresent(spec: FpmPoolSpec): FpmPoolSpec & { user: string; listen: Listen; pm: NonNullable<FpmPoolSpec['pm']> } {
  const { user, listen, pm } = spec;
  if (user === undefined || listen === undefined || pm === undefined) throw new Error(`fpm_pool[${spec.name}]: spec was not validated by fpmPoolSchema`);
  return { ...spec, user, listen, pm };
}

// ---------------------------------------------------------------------------------------------
// Plan

/** The install a resource manages: the declared version, else the host's primary one. */
export function fpmInstallFor(resource: string, phpVersion: string | undefined, actual: ActualState, ctx: PlanContext): FpmInstall {
  const { installs, primary } = actual.facts.php_fpm;
  const install = phpVersion === undefined ? primary : installs.find((i) => i.version === phpVersion);
  if (install) return install;
  const have = installs.length ? `installed: ${installs.map((i) => `php-fpm ${i.version}`).join(', ')}` : 'no php-fpm is installed';
  const wanted = phpVersion === undefined ? 'php-fpm' : `php-fpm ${phpVersion}`;
  throw new LanesError(`${resource}: ${wanted} is not installed on ${ctx.host} (${have})`, {
    kind: 'input',
    location: ctx.source,
    host: ctx.host,
    hint: 'install it first (package resource), or set php_version to an installed version',
  });
}

/** Settings a graceful reload does not apply to an inherited socket. */
const RESTART_KEYS = ['listen.owner', 'listen.group', 'listen.mode', 'listen.backlog'];

export const fpmPoolResource: ResourceType<FpmPoolSpec> = {
  type: 'fpm_pool',
  schema: fpmPoolSchema,
  id: (spec) => spec.name,
  probes(spec) {
    const socket = spec.listen?.path;
    return [
      { kind: 'file', path: `/etc/php/*/fpm/pool.d/${spec.name}.conf` },
      { kind: 'file', path: `/etc/php-fpm.d/${spec.name}.conf` },
      ...(socket ? [{ kind: 'file' as const, path: socket }] : []),
    ];
  },
  plan(spec, actual, ctx) {
    const resource = `fpm_pool[${spec.name}]`;
    const install = fpmInstallFor(resource, spec.php_version, actual, ctx);
    const path = `${install.poolDir}/${spec.name}.conf`;
    const existing = actual.files.get(path);
    const before = existing?.content !== undefined ? existingDirectives(existing.content, spec.name) : undefined;
    const validators = [{ kind: 'fpm-test' as const, binary: install.binary }];

    if (spec.state === 'absent') {
      if (!existing) return [];
      const socket = before?.get('listen');
      return [
        {
          resource,
          action: 'delete',
          summary: `pool ${spec.name}: remove ${path}${socket ? `; its socket ${socket} goes away` : ''}`,
          diff: existing.content !== undefined ? unifiedDiff(path, existing.content, '') : undefined,
          operations: [{ op: 'remove', path }],
          validators,
          handlers: [{ kind: 'fpm-reload', unit: install.unit, binary: install.binary, confFile: install.confFile, sockets: [] }],
        },
      ];
    }

    assertUniqueListen(spec, ctx, resource);
    const listen = requirePresent(spec).listen;
    const socket = listen.path ?? listen.address!;
    // The php-fpm master reads pool files as root: one with env[] values (or marked sensitive) is root's alone to read.
    const mode = (spec.env && Object.keys(spec.env).length) || spec.sensitive || ctx.sensitive ? '0640' : '0644';
    const cmp = compareFile({ path, content: renderPool(spec), owner: 'root', group: 'root', mode }, actual);
    if (!cmp.action) return [];

    const after = new Map(poolDirectives(spec).flat().map((x) => [x.key, x.value]));
    const fields = before ? [...directiveFields(before, after), ...cmp.fields] : cmp.fields;
    const notes: string[] = [];
    // A socket found by the probe means php-fpm runs this pool now; missing on an update means it does not.
    if (listen.path && !actual.files.has(listen.path) && existing) notes.push(`socket ${listen.path} does not exist now: php-fpm is stopped or this pool failed to start`);

    const restart = before ? restartReason(before, after) : undefined;
    const handler = restart
      ? { kind: 'fpm-restart' as const, unit: install.unit, binary: install.binary, confFile: install.confFile, sockets: [socket], reason: restart }
      : { kind: 'fpm-reload' as const, unit: install.unit, binary: install.binary, confFile: install.confFile, sockets: [socket] };
    if (restart) notes.push(`${restart}, so ${install.unit} restarts: every pool stops at once (requests in flight are cut) and the sockets are recreated`);

    return [
      {
        resource,
        action: cmp.action,
        summary: summarize(spec, path, cmp.action, fields, listen, cmp.contentChanged),
        fields: fields.length ? fields : undefined,
        diff: cmp.diff,
        operations: cmp.operations,
        // Owner/group/mode of the pool file do not matter to a running php-fpm: no test, no reload.
        validators: cmp.contentChanged ? validators : undefined,
        handlers: cmp.contentChanged ? [handler] : undefined,
        notes: notes.length ? notes : undefined,
      },
    ];
  },
};

/** The directives of the pool's section in an existing file (the first section if none has the name). */
function existingDirectives(content: string, name: string): Map<string, string> {
  const sections = readIniSections(content).filter((s) => s.name !== undefined);
  return (sections.find((s) => s.name === name) ?? sections[0])?.entries ?? new Map();
}

function directiveFields(before: Map<string, string>, after: Map<string, string>): FieldChange[] {
  const fields: FieldChange[] = [];
  for (const [name, value] of after) {
    if (before.get(name) !== value) fields.push({ name, before: before.get(name), after: value });
  }
  for (const [name, value] of before) if (!after.has(name)) fields.push({ name, before: value });
  return fields;
}

/** Why a reload is not enough, or undefined. A changed listen address gets a fresh socket on reload. */
function restartReason(before: Map<string, string>, after: Map<string, string>): string | undefined {
  if (before.get('listen') !== after.get('listen')) return undefined;
  const norm = (k: string, v: string | undefined) => (v !== undefined && k === 'listen.mode' ? normalizeMode(v) : v);
  const changed = RESTART_KEYS.filter((k) => norm(k, before.get(k)) !== norm(k, after.get(k)));
  if (!changed.length) return undefined;
  return `${changed.map((k) => `${k} ${before.get(k) ?? '(unset)'} → ${after.get(k) ?? '(unset)'}`).join(', ')}: a reload keeps the old socket`;
}

function summarize(spec: FpmPoolSpec, path: string, action: 'create' | 'update', fields: FieldChange[], listen: Listen, contentChanged: boolean): string {
  if (action === 'create') return `pool ${spec.name}: create ${path} (listen ${listen.path ?? listen.address}, pm ${spec.pm!.mode} max_children ${spec.pm!.max_children})`;
  const shown = fields.slice(0, 4).map((f) => `${f.name} ${f.before ?? '(unset)'} → ${f.after ?? '(unset)'}`);
  if (fields.length > 4) shown.push(`${fields.length - 4} more`);
  if (!shown.length && contentChanged) shown.push(`rewrite ${path} (comments or layout only)`);
  return `pool ${spec.name}: ${shown.join(', ')}`;
}

/** Two pools on one socket: php-fpm would refuse to start, so say which ones at plan time. */
function assertUniqueListen(spec: FpmPoolSpec, ctx: PlanContext, resource: string): void {
  const mine = spec.listen?.path ?? spec.listen?.address;
  for (const other of ctx.all) {
    if (other.type !== 'fpm_pool' || other.id === spec.name) continue;
    const parsed = fpmPoolSchema.safeParse(other.spec);
    if (!parsed.success || parsed.data.state === 'absent' || (parsed.data.php_version ?? '') !== (spec.php_version ?? '')) continue;
    if ((parsed.data.listen?.path ?? parsed.data.listen?.address) === mine) {
      throw new LanesError(`${resource}: pool ${other.id} on ${ctx.host} listens on ${mine} as well; each pool needs its own socket`, {
        kind: 'input',
        location: ctx.source,
        host: ctx.host,
      });
    }
  }
}

function validPort(port: string | undefined): boolean {
  return port !== undefined && Number(port) >= 1 && Number(port) <= 65535;
}
