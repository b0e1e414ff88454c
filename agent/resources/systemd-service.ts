/**
 * systemd_service: a service unit lanes writes, e.g. a queue worker or a scheduler in a low-priority
 * slice.
 *
 *   systemd:
 *     services:
 *       scheduler:
 *         ExecStart: /usr/bin/php /srv/app/current/artisan schedule:work
 *         User: app
 *         Slice: workers
 *         Nice: 10
 *
 * → /etc/systemd/system/scheduler.service ([Unit], [Service], [Install]), or the raw `content` of a
 * unit instead of the fields. Checked with `systemd-analyze verify`, then daemon-reload. A running
 * service restarts when a directive it reads at start changed (a new `Slice=` in particular only
 * takes effect with a restart: systemd cannot move a running service); CPUQuota=/MemoryMax= changes
 * are applied live with set-property instead, and Description=/[Install] changes need no restart.
 * `enabled` (default true) and `state` (default started) are reconciled with enable/disable and
 * start/stop; a new unit is enabled and started, never restarted.
 */
import { z } from 'zod';
import type { Change, FieldChange, Handler, Probe, ResourceType } from './types.js';
import { safeName, unixName } from './values.js';
import { pathClaim, unitClaim } from './claims.js';
import {
  changedDirectives,
  compareUnitFile,
  controlDirectives,
  cpuQuota,
  directive,
  directiveFields,
  environmentLine,
  hasControlDropIns,
  isLoaded,
  isRunning,
  liveControl,
  memoryLimit,
  parseUnit,
  renderUnit,
  unitCommand,
  unitEnvironment,
  unitName,
  unitPath,
  unitStatePlan,
  unitText,
  unitValue,
  withSuffix,
} from './unit-file.js';
import { SLICE_PROPERTIES } from './systemd-slice.js';

const timespan = z
  .union([z.number().min(0), z.string().regex(/^(infinity|(\d+(\.\d+)?\s*(us|usec|ms|msec|s|sec|seconds?|m|min|minutes?|h|hr|hours?|d|days?)?\s*)+)$/)], {
    error: 'must be a time span such as 5, "5s", "500ms", "1min 30s" or "infinity"',
  })
  .transform((v) => String(v).trim());

const SIGNAL = /^(SIG)?(TERM|INT|QUIT|KILL|HUP|USR1|USR2|WINCH|CONT|STOP|ABRT)$/;

/** The playbook keys that render into the unit (everything but name, content, enabled and state). */
export const SERVICE_FIELDS = [
  'Description',
  'After',
  'Wants',
  'Type',
  'User',
  'Group',
  'WorkingDirectory',
  'Environment',
  'EnvironmentFile',
  'ExecStart',
  'ExecReload',
  'ExecStop',
  'Restart',
  'RestartSec',
  'TimeoutStopSec',
  'KillMode',
  'KillSignal',
  'Slice',
  'Nice',
  'IOSchedulingClass',
  'CPUQuota',
  'MemoryMax',
  'WantedBy',
] as const;

const ONESHOT_MESSAGE = 'a oneshot service is inactive again once it ran, so "started" would start it on every run: set state: stopped, or give content with RemainAfterExit=yes';

export const systemdServiceSchema = z
  .strictObject({
    name: safeName,
    content: z
      .string()
      .refine((s) => !s.includes('\0'), 'must not contain NUL characters')
      .refine((s) => /^\s*\[Service\]\s*$/m.test(s), 'must be a unit file with a [Service] section')
      .optional(),
    Description: unitText.optional(),
    After: z.array(unitName).optional(),
    Wants: z.array(unitName).optional(),
    Type: z.enum(['simple', 'exec', 'forking', 'oneshot', 'dbus', 'notify', 'idle'], { error: 'must be one of simple, exec, forking, oneshot, dbus, notify, idle' }).optional(),
    User: unixName.optional(),
    Group: unixName.optional(),
    WorkingDirectory: unitPath.optional(),
    Environment: unitEnvironment.optional(),
    EnvironmentFile: z
      .string()
      .refine((s) => unitPath.safeParse(s.replace(/^-/, '')).success, 'must be an absolute path, optionally prefixed with "-" (ignored when missing)')
      .optional(),
    ExecStart: unitCommand.optional(),
    ExecReload: unitCommand.optional(),
    ExecStop: unitCommand.optional(),
    Restart: z
      .enum(['no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always'], {
        error: 'must be one of no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always',
      })
      .optional(),
    RestartSec: timespan.optional(),
    TimeoutStopSec: timespan.optional(),
    KillMode: z.enum(['control-group', 'mixed', 'process', 'none'], { error: 'must be one of control-group, mixed, process, none' }).optional(),
    KillSignal: unitValue.refine((s) => SIGNAL.test(s), 'must be a signal name such as SIGTERM, SIGINT or SIGQUIT').optional(),
    Slice: safeName.transform((s) => withSuffix(s, '.slice')).optional(),
    Nice: z.number({ error: 'must be a whole number from -20 to 19' }).int('must be a whole number from -20 to 19').min(-20, 'must be a whole number from -20 to 19').max(19, 'must be a whole number from -20 to 19').optional(),
    IOSchedulingClass: z.enum(['realtime', 'best-effort', 'idle'], { error: 'must be one of realtime, best-effort, idle' }).optional(),
    CPUQuota: cpuQuota.optional(),
    MemoryMax: memoryLimit.optional(),
    WantedBy: z.array(unitName).optional(),
    enabled: z.boolean().default(true),
    state: z.enum(['started', 'stopped'], { error: 'must be "started" or "stopped"' }).default('started'),
    /** Shown as hashes in every output, never as values; its files default to a private mode (README: Secrets). */
    sensitive: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    if (v.content !== undefined) {
      for (const key of SERVICE_FIELDS) {
        if (v[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'cannot be combined with "content": write the directive into content instead' });
      }
      // Not a service unit at all: the content rule above already says so.
      if (!/^\s*\[Service\]\s*$/m.test(v.content)) return;
      const parsed = parseUnit(v.content);
      const installable = ['Install.WantedBy', 'Install.RequiredBy', 'Install.UpheldBy', 'Install.Alias'].some((k) => directive(parsed, k) !== undefined);
      if (v.enabled && !installable) {
        ctx.addIssue({ code: 'custom', path: ['enabled'], message: 'content has no [Install] WantedBy= to enable the unit for: add one, or set enabled: false' });
      }
      if (directive(parsed, 'Service.ExecStart') === undefined && directive(parsed, 'Service.Type') !== 'oneshot') {
        ctx.addIssue({ code: 'custom', path: ['content'], message: 'must set ExecStart= in [Service]' });
      }
      const remains = /^(yes|true|on|1)$/i.test(directive(parsed, 'Service.RemainAfterExit') ?? '');
      if (directive(parsed, 'Service.Type') === 'oneshot' && !remains && v.state === 'started') {
        ctx.addIssue({ code: 'custom', path: ['state'], message: ONESHOT_MESSAGE });
      }
      return;
    }
    if (v.Type === 'oneshot' && v.state === 'started') {
      ctx.addIssue({ code: 'custom', path: ['state'], message: ONESHOT_MESSAGE });
    }
    if (v.ExecStart === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ExecStart'], message: 'is required (or give the whole unit as "content")' });
    }
    if (v.enabled && v.WantedBy !== undefined && v.WantedBy.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['enabled'], message: 'needs a WantedBy= target to enable the unit for: set WantedBy, or enabled: false' });
    }
  });

export type SystemdServiceSpec = z.output<typeof systemdServiceSchema>;

export function serviceUnit(spec: SystemdServiceSpec): string {
  return withSuffix(spec.name, '.service');
}

export function servicePath(spec: SystemdServiceSpec): string {
  return `/etc/systemd/system/${serviceUnit(spec)}`;
}

export function renderService(spec: SystemdServiceSpec): string {
  if (spec.content !== undefined) return spec.content.endsWith('\n') ? spec.content : `${spec.content}\n`;
  const list = (l: string[] | undefined) => (l && l.length ? l.join(' ') : undefined);
  const env = Object.keys(spec.Environment ?? {})
    .sort()
    .map((k): [string, string] => ['Environment', environmentLine(k, spec.Environment?.[k] ?? '')]);
  return renderUnit([
    ['Unit', [['Description', spec.Description ?? spec.name], ['After', list(spec.After)], ['Wants', list(spec.Wants)]]],
    [
      'Service',
      [
        ['Type', spec.Type],
        ['User', spec.User],
        ['Group', spec.Group],
        ['WorkingDirectory', spec.WorkingDirectory],
        ...env,
        ['EnvironmentFile', spec.EnvironmentFile],
        ['ExecStart', spec.ExecStart],
        ['ExecReload', spec.ExecReload],
        ['ExecStop', spec.ExecStop],
        ['Restart', spec.Restart],
        ['RestartSec', spec.RestartSec],
        ['TimeoutStopSec', spec.TimeoutStopSec],
        ['KillMode', spec.KillMode],
        ['KillSignal', spec.KillSignal],
        ['Slice', spec.Slice],
        ['Nice', spec.Nice === undefined ? undefined : String(spec.Nice)],
        ['IOSchedulingClass', spec.IOSchedulingClass],
        ['CPUQuota', spec.CPUQuota],
        ['MemoryMax', spec.MemoryMax],
      ],
    ],
    ['Install', [['WantedBy', list(spec.WantedBy ?? ['multi-user.target'])]]],
  ]);
}

/** Directives a running service picks up without a restart: daemon-reload is enough for these. */
const NO_RESTART = /^(Unit\.(Description|Documentation)|Install\..*)$/;
/** Resource-control directives applied live with set-property instead of a restart. */
const LIVE = /^Service\.(CPUQuota|CPUWeight|MemoryMax|MemoryHigh|IOWeight|TasksMax)$/;

export const SERVICE_PROPERTIES = ['ActiveState', 'UnitFileState', 'Slice', 'NeedDaemonReload', 'FragmentPath', 'ControlGroup', 'DropInPaths', ...SLICE_PROPERTIES];

/** The slice a running unit's processes are in: the innermost `*.slice` of its ControlGroup ("/workers.slice/x.service"). */
export function runningSlice(controlGroup: string | undefined): string | undefined {
  if (!controlGroup) return undefined;
  const slices = controlGroup.split('/').filter((p) => p.endsWith('.slice'));
  return slices.length ? slices[slices.length - 1] : '-.slice';
}

export const systemdServiceResource: ResourceType<SystemdServiceSpec> = {
  type: 'systemd_service',
  schema: systemdServiceSchema,
  id: (spec) => serviceUnit(spec),
  claims: (spec) => [unitClaim(serviceUnit(spec)), pathClaim(servicePath(spec))],
  probes: (spec): Probe[] => [
    { kind: 'file', path: servicePath(spec) },
    { kind: 'unit', name: serviceUnit(spec), properties: SERVICE_PROPERTIES },
  ],
  plan(spec, actual, ctx): Change[] {
    const unit = serviceUnit(spec);
    const resource = `systemd_service[${unit}]`;
    const path = servicePath(spec);
    const { cmp, props, have, afterParsed, beforeParsed } = compareUnitFile(actual, ctx, resource, unit, path, renderService(spec));
    const running = isRunning(props);
    // The file on disk is not what systemd has loaded: changed since, or never loaded (not-found).
    const staleLoad = !cmp.contentChanged && (props.NeedDaemonReload === 'yes' || (have?.type === 'file' && props.LoadState === 'not-found'));
    const reload = cmp.contentChanged || staleLoad;

    const changed = cmp.contentChanged ? changedDirectives(beforeParsed, afterParsed) : [];
    const restartFor = changed.filter((k) => !NO_RESTART.test(k) && !LIVE.test(k));
    const state = unitStatePlan(unit, { enabled: spec.enabled, state: spec.state }, props, ctx, resource, true);
    // `systemctl show -p Slice` follows the loaded file; the slice a service runs in is its ControlGroup.
    const declaredSlice = directive(afterParsed, 'Service.Slice') ?? 'system.slice';
    const currentSlice = running ? runningSlice(props.ControlGroup) : undefined;
    const wrongSlice = currentSlice !== undefined && currentSlice !== declaredSlice;
    const sliceChanged = changed.includes('Service.Slice');
    const restart = running && spec.state === 'started' && (restartFor.length > 0 || staleLoad || wrongSlice);

    // Live resource control: for a running service that is not restarted anyway, and whenever a
    // set-property drop-in would otherwise override the file (also across the restart).
    const live =
      isLoaded(props) && ((running && spec.state === 'started' && !restart) || hasControlDropIns(props))
        ? liveControl(controlDirectives(afterParsed, 'Service'), cmp.contentChanged && beforeParsed ? controlDirectives(beforeParsed, 'Service') : undefined, props)
        : { properties: {}, fields: [] };
    const setLive = Object.keys(live.properties).length > 0;

    if (!cmp.action && !reload && !setLive && !state.enable && !state.run && !restart) return [];

    const notes: string[] = [];
    const bare = (k: string) => k.slice(k.indexOf('.') + 1);
    const sliceBefore = currentSlice ?? (beforeParsed ? directive(beforeParsed, 'Service.Slice') : undefined) ?? 'system.slice';
    if (restart && (sliceChanged || wrongSlice)) {
      notes.push(
        `Slice= ${sliceChanged ? 'changed' : 'differs from where the service runs'} (${sliceBefore} → ${declaredSlice}): a running service moves to another slice only when it restarts, so ${unit} restarts`,
      );
    } else if (restart && staleLoad) {
      notes.push(`${unit} changed on disk since systemd loaded it: daemon-reload, and a restart so that the running service uses it`);
    } else if (restart) {
      notes.push(`${unit} is running: it restarts to apply ${restartFor.map(bare).join(', ')}`);
    }
    if (running && spec.state === 'started' && !restart && changed.some((k) => LIVE.test(k))) {
      notes.push(`${changed.filter((k) => LIVE.test(k)).map(bare).join(', ')} applied live with set-property: no restart needed`);
    }
    if (cmp.action === 'create' && props.FragmentPath && props.FragmentPath !== path) {
      notes.push(`${path} overrides the unit loaded from ${props.FragmentPath}`);
    }
    if (changed.some((k) => k.startsWith('Install.')) && spec.enabled && props.UnitFileState === 'enabled') {
      notes.push('[Install] changed: symlinks made for the old targets stay until `systemctl reenable`');
    }

    const handlers: Handler[] = [];
    if (reload) handlers.push({ kind: 'daemon-reload' });
    if (setLive) handlers.push({ kind: 'set-property', unit, properties: live.properties });
    if (state.enable) handlers.push(state.enable);
    if (state.run) handlers.push(state.run);
    else if (restart) handlers.push({ kind: 'unit', unit, action: 'restart' });

    const fileFields: FieldChange[] = cmp.contentChanged
      ? directiveFields(beforeParsed, afterParsed).map((f) => (cmp.action === 'create' ? { name: f.name, after: f.after } : f))
      : [];
    const liveFields = live.fields.filter((l) => !fileFields.some((f) => `${f.name} (running)` === l.name && f.before === l.before && f.after === l.after));
    const sliceField: FieldChange[] = wrongSlice && !sliceChanged && restart ? [{ name: 'Slice (running)', before: currentSlice, after: declaredSlice }] : [];
    const fields = [...fileFields, ...cmp.fields, ...liveFields, ...sliceField, ...state.fields];

    const parts: string[] = [];
    if (cmp.action === 'create') parts.push(`create ${path}`);
    else if (cmp.contentChanged) parts.push(`update ${path}${changed.length ? ` (${changed.map(bare).join(', ')})` : ''}`);
    else if (cmp.action) parts.push(`change ${cmp.fields.map((f) => f.name).join(', ')} of ${path}`);
    if (staleLoad) parts.push('daemon-reload (the file on disk is not what systemd loaded)');
    if (wrongSlice && !sliceChanged && restart) parts.push(`move from ${currentSlice} to ${declaredSlice}`);
    if (setLive) parts.push(`set ${Object.keys(live.properties).join(', ')} live`);
    if (state.enable) parts.push(state.enable.kind === 'unit' ? state.enable.action : '');
    if (state.run?.kind === 'unit') parts.push(state.run.action);
    else if (restart) parts.push('restart');

    return [
      {
        resource,
        action: cmp.action === 'create' ? 'create' : 'update',
        summary: `service ${unit}: ${parts.join(', ')}`,
        fields: fields.length ? fields : undefined,
        diff: cmp.diff,
        operations: cmp.operations,
        validators: cmp.contentChanged ? [{ kind: 'systemd-verify', path }] : undefined,
        handlers: handlers.length ? handlers : undefined,
        notes: notes.length ? notes : undefined,
      },
    ];
  },
};
