/**
 * `release`: the play's release block. As a resource it reconciles what every release relies on —
 * `releases/` and `shared/` (with the shared paths) under the application root — and makes sure
 * PHP-FPM lets requests in flight finish during a reload: with Debian's `process_control_timeout = 0`
 * a reload kills them (8 of 190 requests failed in a test), so when neither the host nor the play
 * sets a non-zero value, it is set to 10s here and the plan says why. The rollout itself
 * (`lanes release`) reads the same spec.
 *
 *   release:
 *     path: /var/www/app
 *     keep: 5
 *     shared: [storage, .env]
 *     workers: { supervisor: [app-queue], systemd: [app-scheduler] }
 *     pools: [web_public, web_session, api]
 *     health: { http: { url: "http://127.0.0.1/", expect_release: true }, timeout: 30s }
 *     serial: [1, "100%"]
 */
import { z } from 'zod';
import { LanesError, formatLocation } from '../errors.js';
import { claimsOf, pathClaim } from './claims.js';
import { directoryResource } from './directory.js';
import { fileResource } from './file.js';
import { symlinkResource } from './symlink.js';
import { templateResource } from './template.js';
import { editGlobalSettings, readGlobalSetting } from './fpm-global.js';
import { fpmDuration } from './fpm-ini.js';
import { fpmInstallFor } from './fpm-pool.js';
import { fileChange } from './managed-file.js';
import type { ActualState, Change, DesiredResource, PlanContext, Probe, ResourceType } from './types.js';
import { absolutePath, octalMode, safeName, unixName } from './values.js';
import { ConfigText } from './config-text.js';
import { ENV_NAME } from '../remote/command.js';

/** An environment value: any text (it travels on stdin, never on a command line). */
const lineOrText = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

const relativeEntry = z
  .string()
  .regex(/^[A-Za-z0-9_.@-][A-Za-z0-9_.@/-]*$/, 'must be a relative path inside the release (letters, digits, ".", "_", "-", "/")')
  .refine((p) => !p.split('/').includes('..') && !p.endsWith('/'), 'must not contain ".." or end with "/"');

// config: one per-release configuration file (issue 9), rendered per host at compile time. The
// compiler renders `src` into `content` (agent/playbook/compile.ts refuses both given); the
// content is held as a ConfigText so it never reaches an output.
const configEntry = z.strictObject({
  dest: relativeEntry.refine((d) => !['.lanes-release', '.lanes-config'].includes(d), 'is a name lanes keeps for itself in every release'),
  src: z.string().min(1).optional(),
  content: z
    .string()
    .refine((s) => !s.includes('\0'), 'must not contain a NUL byte')
    .transform((s) => new ConfigText(s))
    .optional(),
  mode: octalMode.default('0640'),
  sensitive: z.boolean().default(false),
}).refine((c) => c.content !== undefined, 'needs src (a template file) or content');

const serialItem = z.union([
  z.number().int().positive(),
  z.string().regex(/^(\d+|\d+(\.\d+)?%)$/, 'must be a number of hosts or a percentage such as "25%"'),
]);

/** A command run on a host at one point of a release (agent/rollout/hooks.ts says when and where). */
const hookObject = z.strictObject({
  run: z.string().min(1, 'must be a shell command'),
  user: unixName.optional(),
  env: z
    .record(z.string(), lineOrText)
    .superRefine((env, ctx) => {
      for (const name of Object.keys(env)) {
        if (!ENV_NAME.test(name) || name.startsWith('lanes_')) {
          ctx.addIssue({ code: 'custom', path: [name], message: 'must be an environment variable name (letters, digits, "_"; not starting with a digit nor "lanes_")' });
        }
      }
    })
    .default({}),
  timeout: fpmDuration.default('10m'),
  hosts: z.string().min(1).optional(),
  sensitive: z.boolean().default(false),
});
const hookEntry = z.preprocess(
  (v) => (typeof v === 'string' ? { run: v } : v),
  z.custom<unknown>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a command (a string) or a map with run, and optionally user, env, timeout, hosts, sensitive').pipe(hookObject),
);
const hookList = z.array(hookEntry).default([]);
export const hooksSchema = z
  .strictObject({ build: hookList, once: hookList, before_switch: hookList, after_switch: hookList, after_release: hookList, on_rollback: hookList })
  .default({ build: [], once: [], before_switch: [], after_switch: [], after_release: [], on_rollback: [] });
export type HookEntry = z.output<typeof hookObject>;

export const releaseSchema = z.strictObject({
  path: absolutePath,
  keep: z.number().int().min(2, 'must keep at least 2 releases (the live one and the previous one)').default(5),
  shared: z.array(relativeEntry).default([]),
  owner: unixName.default('root'),
  group: unixName.default('root'),
  /** Who runs the hooks (default: owner); build hooks may write the release directory. */
  user: unixName.optional(),
  hooks: hooksSchema,
  /** The host the `once` hooks run on (a pattern; default: the first host of the first batch). */
  once_host: z.string().min(1).optional(),
  workers: z
    .strictObject({
      supervisor: z.array(safeName).default([]),
      systemd: z.array(safeName).default([]),
    })
    .default({ supervisor: [], systemd: [] }),
  /** Names of the play's fpm.pools that serve the application. */
  pools: z.array(safeName).default([]),
  reload: z.enum(['reload', 'opcache-reset']).default('reload'),
  health: z
    .strictObject({
      http: z.strictObject({ url: z.string().regex(/^https?:\/\/[^\s'"]+$/, 'must be an http:// or https:// URL'), expect: z.string().optional(), expect_release: z.boolean().default(false) }).optional(),
      timeout: fpmDuration.default('30s'),
    })
    .default({ timeout: '30s' }),
  serial: z.union([serialItem, z.array(serialItem).min(1)]).default(1),
  max_fail: z.number().int().nonnegative().default(0),
  // A dead controller's lease blocks the hosts this long; a live one renews it every third of it.
  lock_ttl: fpmDuration.default('2m'),
  php_version: z.string().optional(),
  // notify: webhook URLs POSTed on started/finished/failed/rolled-back (agent/rollout/notify.ts); never printed.
  notify: z.array(z.string().regex(/^https?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/, 'must be an http:// or https:// URL')).default([]),
  config: z.array(configEntry).default([]), // config:
}).superRefine(checkConfig); // config:
export type ReleaseBlock = z.output<typeof releaseSchema>;

/** config: a dest is neither another file's, nor a shared path (or inside or above one). */
function checkConfig(r: { shared: string[]; config: { dest: string }[] }, ctx: z.RefinementCtx): void {
  const under = (a: string, b: string) => a === b || a.startsWith(`${b}/`);
  r.config.forEach((c, i) => {
    const shared = r.shared.find((s) => under(c.dest, s) || under(s, c.dest));
    if (shared !== undefined) {
      const how = c.dest === shared ? 'is also a shared path' : under(c.dest, shared) ? `is inside the shared path ${shared}` : `holds the shared path ${shared}`;
      ctx.addIssue({ code: 'custom', path: ['config', i, 'dest'], message: `${how}: a shared file is the same in every release; list it in shared or in config, not both` });
    }
    const other = r.config.findIndex((o, j) => j < i && (under(c.dest, o.dest) || under(o.dest, c.dest)));
    if (other >= 0) {
      const o = r.config[other]!.dest;
      ctx.addIssue({ code: 'custom', path: ['config', i, 'dest'], message: o === c.dest ? `is written twice (also release.config[${other}])` : `overlaps release.config[${other}] (${o})` });
    }
  });
}

/** The value a release needs at least: in-flight requests get this long to finish on a reload. */
export const RELEASE_PROCESS_CONTROL_TIMEOUT = '10s';

export const releaseResource: ResourceType<ReleaseBlock> = {
  type: 'release',
  schema: releaseSchema,
  id: () => 'release',
  probes: (spec) => [
    { kind: 'file', path: `${spec.path}/releases` },
    { kind: 'file', path: `${spec.path}/shared` },
    ...spec.shared.map((s): Probe => ({ kind: 'file', path: `${spec.path}/shared/${parentDir(s)}` })),
    { kind: 'file', path: '/etc/php/*/fpm/php-fpm.conf' },
    { kind: 'file', path: '/etc/php-fpm.conf' },
  ],
  plan(spec, actual, ctx): Change[] {
    const changes: Change[] = [];
    const dirs = [`${spec.path}/releases`, `${spec.path}/shared`, ...spec.shared.filter((s) => s.includes('/')).map((s) => `${spec.path}/shared/${parentDir(s)}`)];
    for (const dir of [...new Set(dirs)]) {
      // What the play declares itself (with its own owner and mode) is the play's: the release block
      // only creates what nobody declared, so the two never disagree about a directory's mode.
      if (declaredByPlay(dir, ctx)) continue;
      if (actual.files.get(dir)?.type === 'directory') continue;
      changes.push({
        resource: `release[${dir}]`,
        action: 'create',
        summary: `create release directory ${dir}`,
        operations: [{ op: 'mkdir', path: dir, owner: spec.owner, group: spec.group, mode: '0755' }],
      });
    }
    changes.push(...processControlTimeout(spec, actual, ctx));
    return changes;
  },
};

/** Whether the play declares `dir`; a declaration of it as anything but a directory is an error. */
function declaredByPlay(dir: string, ctx: PlanContext): boolean {
  const claim = pathClaim(dir);
  const other = ctx.all.find((d) => d.type !== 'release' && resourceClaims(d).includes(claim));
  if (!other) return false;
  if (other.type !== 'directory') {
    throw new LanesError(`release needs ${dir} as a directory, but the play declares it as a ${other.type}${other.source ? ` at ${formatLocation(other.source)}` : ''}`, {
      location: ctx.source,
      host: ctx.host,
      hint: `declare ${dir} under directories: (or drop that ${other.type})`,
    });
  }
  return true;
}

/** The resource types that own paths; their own claims say which (agent/resources/claims.ts). */
const PATH_OWNERS = [directoryResource, fileResource, templateResource, symlinkResource];

function resourceClaims(d: DesiredResource): string[] {
  const rt = PATH_OWNERS.find((t) => t.type === d.type);
  return rt ? claimsOf(rt as Pick<ResourceType<unknown>, 'type' | 'id' | 'claims'>, d.spec) : [];
}

function parentDir(entry: string): string {
  const i = entry.lastIndexOf('/');
  return i < 0 ? '' : entry.slice(0, i);
}

function isZero(value: string | undefined): boolean {
  return value === undefined || /^0+[smhd]?$/.test(value.trim());
}

/** php-fpm.conf must let in-flight requests finish on a reload; set it when nothing else does. */
function processControlTimeout(spec: ReleaseBlock, actual: ActualState, ctx: PlanContext): Change[] {
  const declared = ctx.all.find((d) => d.type === 'fpm_global') as { spec: { settings?: Record<string, string> } } | undefined;
  const fromPlay = declared?.spec.settings?.process_control_timeout;
  if (fromPlay !== undefined) {
    // The play manages it: fpm_global plans the change; a declared 0 would defeat graceful reloads.
    if (isZero(fromPlay)) {
      throw new LanesError(`fpm.global.process_control_timeout is ${fromPlay}: a release's reload would kill requests in flight`, {
        location: ctx.source,
        host: ctx.host,
        hint: `set it to ${RELEASE_PROCESS_CONTROL_TIMEOUT} or more`,
      });
    }
    return [];
  }
  if (actual.facts.php_fpm.installs.length === 0) return [];
  const install = fpmInstallFor('release', spec.php_version, actual, ctx);
  const conf = actual.files.get(install.confFile);
  if (conf?.content === undefined) return [];
  const current = readGlobalSetting(conf.content, 'process_control_timeout');
  if (!isZero(current)) return [];
  const content = editGlobalSettings(conf.content, { process_control_timeout: RELEASE_PROCESS_CONTROL_TIMEOUT });
  return fileChange('release[process_control_timeout]', { path: install.confFile, content, owner: conf.owner, group: conf.group, mode: conf.mode }, actual, {
    summary: `php-fpm ${install.version}: process_control_timeout ${current ?? '(unset, 0)'} → ${RELEASE_PROCESS_CONTROL_TIMEOUT} so a reload lets requests in flight finish`,
    fields: [{ name: 'process_control_timeout', before: current ?? '0', after: RELEASE_PROCESS_CONTROL_TIMEOUT }],
    validators: [{ kind: 'fpm-test', binary: install.binary }],
    handlers: [{ kind: 'fpm-reload', unit: install.unit, binary: install.binary, confFile: install.confFile, sockets: [] }],
    notes: [
      'with 0, a graceful reload kills requests in flight (PHP-FPM waits for no one); php-fpm reads the new value on this reload, so the release reload after it lets them finish',
    ],
  });
}
