/**
 * systemd_slice: a slice unit with resource-control limits, e.g. a low-priority lane for queue
 * workers and the scheduler so that they cannot starve PHP-FPM.
 *
 *   systemd:
 *     slices:
 *       workers: { CPUQuota: 60%, MemoryMax: 1G, IOWeight: 50 }
 *
 * → /etc/systemd/system/workers.slice, checked with `systemd-analyze verify`, then daemon-reload.
 * The running values are compared as well (`systemctl show`): when the slice is running and a value
 * differs from the declared one — because the file changed, or because someone ran set-property —
 * the declared values are applied live with `systemctl set-property --runtime` (the unit file stays
 * the source of truth; runtime drop-ins vanish at reboot). Runtime drop-ins also override the file
 * for a slice that is not running, so they are corrected whenever `systemctl show` lists one.
 */
import { z } from 'zod';
import type { Change, Handler, Probe, ResourceType } from './types.js';
import { safeName } from './values.js';
import { pathClaim, unitClaim } from './claims.js';
import {
  cgroupWeight,
  compareUnitFile,
  controlDirectives,
  cpuQuota,
  directiveFields,
  hasControlDropIns,
  isLoaded,
  isRunning,
  liveControl,
  memoryLimit,
  renderUnit,
  tasksMax,
  unitText,
  withSuffix,
} from './unit-file.js';

export const SLICE_PROPERTIES = ['CPUQuotaPerSecUSec', 'CPUWeight', 'MemoryMax', 'MemoryHigh', 'IOWeight', 'TasksMax'];

export const systemdSliceSchema = z
  .strictObject({
    name: safeName.refine((n) => n !== '-' && n !== '-.slice', 'must not be the root slice "-"'),
    Description: unitText.optional(),
    CPUQuota: cpuQuota.optional(),
    CPUWeight: cgroupWeight.optional(),
    MemoryMax: memoryLimit.optional(),
    MemoryHigh: memoryLimit.optional(),
    IOWeight: cgroupWeight.optional(),
    TasksMax: tasksMax.optional(),
  })
  .transform((v) => ({ ...v, name: v.name.replace(/\.slice$/, '') }));

export type SystemdSliceSpec = z.output<typeof systemdSliceSchema>;

export function sliceUnit(spec: SystemdSliceSpec): string {
  return withSuffix(spec.name, '.slice');
}

export function slicePath(spec: SystemdSliceSpec): string {
  return `/etc/systemd/system/${sliceUnit(spec)}`;
}

export function renderSlice(spec: SystemdSliceSpec): string {
  return renderUnit([
    ['Unit', [['Description', spec.Description ?? `${spec.name} slice (lanes)`]]],
    [
      'Slice',
      [
        ['CPUQuota', spec.CPUQuota],
        ['CPUWeight', spec.CPUWeight],
        ['MemoryHigh', spec.MemoryHigh],
        ['MemoryMax', spec.MemoryMax],
        ['IOWeight', spec.IOWeight],
        ['TasksMax', spec.TasksMax],
      ],
    ],
  ]);
}

export const systemdSliceResource: ResourceType<SystemdSliceSpec> = {
  type: 'systemd_slice',
  schema: systemdSliceSchema,
  id: (spec) => sliceUnit(spec),
  claims: (spec) => [unitClaim(sliceUnit(spec)), pathClaim(slicePath(spec))],
  probes: (spec): Probe[] => [
    { kind: 'file', path: slicePath(spec) },
    // DropInPaths tells whether a set-property drop-in (system.control) overrides the file.
    { kind: 'unit', name: sliceUnit(spec), properties: [...SLICE_PROPERTIES, 'DropInPaths'] },
  ],
  plan(spec, actual, ctx): Change[] {
    const unit = sliceUnit(spec);
    const resource = `systemd_slice[${unit}]`;
    const path = slicePath(spec);
    const { cmp, props, afterParsed, beforeParsed } = compareUnitFile(actual, ctx, resource, unit, path, renderSlice(spec));

    // Live values: only for a loaded slice that is running or carries set-property drop-ins; any other
    // slice takes the file's values at daemon-reload (or when it is first loaded).
    const live =
      isLoaded(props) && (isRunning(props) || hasControlDropIns(props))
        ? liveControl(controlDirectives(afterParsed, 'Slice'), cmp.contentChanged && beforeParsed ? controlDirectives(beforeParsed, 'Slice') : undefined, props)
        : { properties: {}, fields: [] };
    const setLive = Object.keys(live.properties).length > 0;
    const setProperty: Handler[] = setLive ? [{ kind: 'set-property', unit, properties: live.properties }] : [];
    const reloadNeeded = cmp.contentChanged || props.NeedDaemonReload === 'yes';

    if (!cmp.action) {
      if (!setLive && !reloadNeeded) return [];
      const parts: string[] = [];
      if (reloadNeeded) parts.push('reload the unit (changed on disk since systemd loaded it)');
      if (setLive) parts.push(`running values differ from the unit file: ${live.fields.map((f) => `${f.name.replace(' (running)', '')} ${f.before ?? '?'} → ${f.after}`).join(', ')} (set live)`);
      return [
        {
          resource,
          action: 'update',
          summary: `slice ${unit}: ${parts.join('; ')}`,
          fields: live.fields.length ? live.fields : undefined,
          operations: [],
          handlers: [...(reloadNeeded ? [{ kind: 'daemon-reload' as const }] : []), ...setProperty],
        },
      ];
    }

    const fileFields = directiveFields(beforeParsed, afterParsed).map((f) => (cmp.action === 'create' ? { name: f.name, after: f.after } : f));
    // A running value is worth its own field only when it is not what the file said before.
    const liveFields = live.fields.filter((l) => !fileFields.some((f) => `${f.name} (running)` === l.name && f.before === l.before && f.after === l.after));
    const fields = [...fileFields, ...cmp.fields, ...liveFields];
    const notes: string[] = [];
    if (setLive && hasControlDropIns(props) && !isRunning(props)) {
      notes.push('a set-property drop-in (system.control) overrides the unit file, so the declared values are also set with set-property');
    }
    return [
      {
        resource,
        action: cmp.action,
        summary:
          cmp.action === 'create'
            ? `create slice ${unit} (${path})`
            : `slice ${unit}: ${cmp.contentChanged ? `update ${path}` : `change ${cmp.fields.map((f) => f.name).join(', ')} of ${path}`}${setLive ? ', set live' : ''}`,
        fields: fields.length ? fields : undefined,
        diff: cmp.diff,
        operations: cmp.operations,
        validators: cmp.contentChanged ? [{ kind: 'systemd-verify', path }] : undefined,
        handlers: reloadNeeded || setLive ? [...(reloadNeeded ? [{ kind: 'daemon-reload' as const }] : []), ...setProperty] : undefined,
        notes: notes.length ? notes : undefined,
      },
    ];
  },
};
