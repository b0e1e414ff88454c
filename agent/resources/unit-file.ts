/**
 * systemd unit files, shared by systemd_slice, systemd_service and service: value rules for the
 * playbook schemas, deterministic rendering, a parser for existing files (so a plan can show
 * `Slice a → b` instead of only a diff), the conversions between declared resource-control values
 * and what `systemctl show` prints, and the enable/start/stop decisions.
 *
 * Formats follow systemd 252 (Debian 12, RHEL 9), as seen in a booted Debian 12 container:
 *  - `systemctl show` prints *USec properties with format_timespan(usec, 0): "600ms", "1.500000s",
 *    "1min 40s", "infinity" (the unit tests compare with `systemd-analyze timespan`, same function);
 *  - CPUQuota=N% is stored as CPUQuotaPerSecUSec = N × 10 000 µs;
 *  - MemoryMax/MemoryHigh are printed in bytes (1024-based suffixes, "1G" → 1073741824) or
 *    "infinity", TasksMax as a number or "infinity", CPUWeight/IOWeight as a number or "[not set]";
 *    percentages ("50%" of RAM or of the task limit) are resolved on the host and not compared;
 *  - `systemctl set-property --runtime UNIT KEY=` (empty) resets a property to its default, and the
 *    runtime drop-in it writes (/run/systemd/system.control/UNIT.d/50-KEY.conf, listed in DropInPaths)
 *    overrides the unit file even after daemon-reload.
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import { compareFile } from './managed-file.js';
import type { ActualState, FieldChange, Handler, PlanContext } from './types.js';

// ---------------------------------------------------------------------------------------------
// Value rules

const oneLine = (s: string) => !/[\r\n\0]/.test(s);

/** Any single-line unit value: no newline, and no trailing backslash (systemd would join the next line). */
export const unitValue = z
  .union([z.string(), z.number(), z.boolean()])
  .transform((v) => String(v))
  .pipe(
    z
      .string()
      .refine(oneLine, 'must be on one line (no newline characters)')
      .refine((s) => !s.endsWith('\\'), 'must not end with a backslash (systemd would join the next line)'),
  );

/** Every "%" outside a specifier (%n, %i, %h…) must be doubled: systemd expands them in these directives. */
export function specifiersOk(s: string): boolean {
  return !/%(?![A-Za-z%])/.test(s.replace(/%%/g, ''));
}
const specifierMessage = 'a literal "%" must be written "%%" (systemd expands %-specifiers such as %n or %i here)';

/** A value systemd runs specifier expansion on (Description, Exec*, paths). */
export const unitText = unitValue.refine(specifiersOk, specifierMessage);

/** A command line for ExecStart= and friends. */
export const unitCommand = unitText.refine((s) => s.trim() !== '', 'must not be empty');

export const unitPath = z
  .string()
  .regex(/^\/[^\0\n\r]*$/, 'must be an absolute path (starting with "/", without newlines)')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".." components')
  .refine(specifiersOk, specifierMessage)
  .refine((s) => !s.endsWith('\\'), 'must not end with a backslash');

/** Unit names as used in After=, Wants=, WantedBy=, Slice=. */
export const unitName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@:-]*\.[a-z]+$/, 'must be a unit name with its suffix, e.g. "network-online.target"');

export const cpuQuota = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .pipe(
    z
      .string()
      .regex(/^\d+%$/, 'must be a percentage of one CPU such as "60%" (200% = two CPUs)')
      .refine((s) => !/^\d+%$/.test(s) || Number.parseInt(s, 10) > 0, 'must be more than 0%'),
  );

/** MemoryMax=/MemoryHigh=: bytes with an optional 1024-based K/M/G/T suffix, a share of RAM ("50%"), or infinity. */
export const memoryLimit = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .pipe(
    z
      .string()
      .regex(/^(\d+[KMGT]?|\d+%|infinity)$/, 'must be bytes with an optional K, M, G or T suffix (1024-based, e.g. "512M"), a share of RAM such as "50%", or "infinity"')
      .refine((s) => !/^\d+%$/.test(s) || Number.parseInt(s, 10) <= 100, 'must be at most 100%'),
  );

/** CPUWeight=/IOWeight=: 1…10000 (100 is the default of every unit). */
export const cgroupWeight = z
  .union([z.number(), z.string().regex(/^\d+$/, 'must be a whole number from 1 to 10000').transform(Number)])
  .pipe(z.number().int('must be a whole number from 1 to 10000').min(1, 'must be a whole number from 1 to 10000').max(10000, 'must be a whole number from 1 to 10000'))
  .transform((n) => String(n));

export const tasksMax = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .pipe(
    z
      .string()
      .regex(/^([1-9]\d*|\d+%|infinity)$/, 'must be a number of tasks (at least 1), a percentage of the system limit such as "50%", or "infinity"')
      .refine((s) => !/^\d+%$/.test(s) || Number.parseInt(s, 10) <= 100, 'must be at most 100%'),
  );

export const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `Environment=` map: names as in a shell, single-line values. */
export const unitEnvironment = z.record(z.string(), unitValue).superRefine((env, ctx) => {
  for (const key of Object.keys(env)) {
    if (!envName.test(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'must be an environment variable name: letters, digits and "_", not starting with a digit' });
    }
  }
});

/** `Environment="KEY=value"`: inside quotes systemd C-unescapes (\\ and \") and expands specifiers (%%). */
export function environmentLine(key: string, value: string): string {
  const escaped = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  return `"${key}=${escaped}"`;
}

/** Accepts "workers" or "workers.slice"; returns the unit name with its suffix. */
export function withSuffix(name: string, suffix: string): string {
  return name.endsWith(suffix) ? name : `${name}${suffix}`;
}

// ---------------------------------------------------------------------------------------------
// Rendering and parsing

export type UnitSection = [section: string, entries: Array<[key: string, value: string | undefined]>];

export const UNIT_HEADER = '# managed by lanes — changes made here will be overwritten';

/** The UNIT_HEADER comment, then each non-empty section; entries with an undefined value are left out. */
export function renderUnit(sections: UnitSection[]): string {
  const blocks: string[] = [];
  for (const [section, entries] of sections) {
    const lines = entries.filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
    if (lines.length) blocks.push([`[${section}]`, ...lines].join('\n'));
  }
  return `${UNIT_HEADER}\n${blocks.join('\n\n')}\n`;
}

/**
 * Directives of a unit file keyed `Section.Key`, in file order. Repeated keys accumulate (Environment=,
 * After=); an empty assignment resets the list, as systemd does. Comments, blank lines and line
 * continuations (trailing backslash) are handled.
 */
export function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    let line = raw[i] ?? '';
    while (line.endsWith('\\') && i + 1 < raw.length) line = `${line.slice(0, -1)} ${raw[++i] ?? ''}`;
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) continue;
    const sec = /^\[([^\]]+)\]$/.exec(t);
    if (sec) {
      section = sec[1] ?? '';
      continue;
    }
    const eq = t.indexOf('=');
    if (eq < 0) continue;
    const key = `${section}.${t.slice(0, eq).trim()}`;
    const value = t.slice(eq + 1).trim();
    if (value === '') {
      out.set(key, []);
      continue;
    }
    const list = out.get(key) ?? [];
    list.push(value);
    out.set(key, list);
  }
  return out;
}

/** The value of one directive as a single string (repeated entries joined by a space), or undefined. */
export function directive(parsed: Map<string, string[]>, key: string): string | undefined {
  const v = parsed.get(key);
  return v && v.length ? v.join(' ') : undefined;
}

/** `before → after` per directive that differs; names are the bare key unless it occurs in two sections. */
export function directiveFields(before: Map<string, string[]> | undefined, after: Map<string, string[]>): FieldChange[] {
  const keys = [...after.keys(), ...[...(before?.keys() ?? [])].filter((k) => !after.has(k))];
  const bare = (k: string) => k.slice(k.indexOf('.') + 1);
  const count = new Map<string, number>();
  for (const k of keys) count.set(bare(k), (count.get(bare(k)) ?? 0) + 1);
  const fields: FieldChange[] = [];
  for (const k of keys) {
    const b = before ? directive(before, k) : undefined;
    const a = directive(after, k);
    if (b === a) continue;
    fields.push({ name: (count.get(bare(k)) ?? 0) > 1 ? k : bare(k), before: b, after: a });
  }
  return fields;
}

/** Keys (`Section.Key`) whose value differs between two parsed files. */
export function changedDirectives(before: Map<string, string[]> | undefined, after: Map<string, string[]>): string[] {
  const keys = new Set([...after.keys(), ...(before?.keys() ?? [])]);
  return [...keys].filter((k) => (before ? directive(before, k) : undefined) !== directive(after, k));
}

// ---------------------------------------------------------------------------------------------
// Time spans and sizes as systemd prints them

const USEC_PER_SEC = 1_000_000n;
const TIMESPAN_TABLE: Array<[suffix: string, usec: bigint]> = [
  ['y', 31_557_600n * USEC_PER_SEC],
  ['month', 2_629_800n * USEC_PER_SEC],
  ['w', 604_800n * USEC_PER_SEC],
  ['d', 86_400n * USEC_PER_SEC],
  ['h', 3_600n * USEC_PER_SEC],
  ['min', 60n * USEC_PER_SEC],
  ['s', USEC_PER_SEC],
  ['ms', 1_000n],
  ['us', 1n],
];

/** systemd's format_timespan(t, accuracy 0), as `systemctl show` prints *USec properties. */
export function formatTimespan(usec: bigint | number): string {
  let t = BigInt(usec);
  if (t <= 0n) return '0';
  const parts: string[] = [];
  for (const [suffix, unit] of TIMESPAN_TABLE) {
    if (t <= 0n) break;
    if (t < unit) continue;
    const a = t / unit;
    const b = t % unit;
    // Below one minute, a remainder is shown as decimals of the largest unit ("1.500000s", "333.333ms").
    if (t < 60n * USEC_PER_SEC && b > 0n) {
      const digits = String(unit).length - 1;
      parts.push(`${a}.${String(b).padStart(digits, '0')}${suffix}`);
      t = 0n;
      break;
    }
    parts.push(`${a}${suffix}`);
    t = b;
  }
  return parts.join(' ');
}

/** Parses what formatTimespan prints (and plain "600ms", "1.5s"…) back to microseconds; undefined if it cannot. */
export function parseTimespan(text: string): bigint | undefined {
  const units = new Map(TIMESPAN_TABLE);
  let total = 0n;
  const words = text.trim().split(/\s+/);
  if (!words.length || words[0] === '') return undefined;
  for (const w of words) {
    const m = /^(\d+)(?:\.(\d+))?([a-z]+)$/.exec(w);
    const unit = m ? units.get(m[3] ?? '') : undefined;
    if (!m || unit === undefined) return undefined;
    total += BigInt(m[1] ?? '0') * unit;
    if (m[2]) {
      const frac = m[2];
      total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    }
  }
  return total;
}

/** CPUQuota=60% → the CPUQuotaPerSecUSec `systemctl show` prints: "600ms" (150% → "1.500000s"). */
export function cpuQuotaToPerSecUSec(quota: string): string {
  const m = /^(\d+)%$/.exec(quota);
  if (!m) throw new Error(`not a CPU quota: ${quota}`);
  return formatTimespan(BigInt(m[1] ?? '0') * 10_000n);
}

/** CPUQuotaPerSecUSec as printed → "60%"; "infinity" → "infinity"; undefined if unparseable. */
export function perSecUSecToCpuQuota(shown: string): string | undefined {
  if (shown === 'infinity') return 'infinity';
  const usec = parseTimespan(shown);
  if (usec === undefined) return undefined;
  const whole = usec / 10_000n;
  const rest = usec % 10_000n;
  return rest === 0n ? `${whole}%` : `${whole}.${String(rest).padStart(4, '0').replace(/0+$/, '')}%`;
}

const SIZE_SUFFIX: Array<[string, bigint]> = [
  ['T', 1024n ** 4n],
  ['G', 1024n ** 3n],
  ['M', 1024n ** 2n],
  ['K', 1024n],
];

/** "1G" → "1073741824", "512" → "512", "infinity" → "infinity"; percentages have no fixed byte value (undefined). */
export function memoryToBytes(value: string): string | undefined {
  if (value === 'infinity') return 'infinity';
  const m = /^(\d+)([KMGT]?)$/.exec(value);
  if (!m) return undefined;
  const factor = SIZE_SUFFIX.find(([s]) => s === m[2])?.[1] ?? 1n;
  return String(BigInt(m[1] ?? '0') * factor);
}

/** "1073741824" → "1G" (largest exact suffix), else the bytes as they are. */
export function bytesToMemory(shown: string): string {
  if (!/^\d+$/.test(shown)) return shown;
  const n = BigInt(shown);
  if (n === 0n) return '0';
  for (const [s, f] of SIZE_SUFFIX) if (n % f === 0n) return `${n / f}${s}`;
  return shown;
}

// ---------------------------------------------------------------------------------------------
// Resource control: declared values against `systemctl show`

/** Resource-control directives lanes manages, with the property `systemctl show` reports them as. */
export const RESOURCE_CONTROL: Record<string, string> = {
  CPUQuota: 'CPUQuotaPerSecUSec',
  CPUWeight: 'CPUWeight',
  MemoryHigh: 'MemoryHigh',
  MemoryMax: 'MemoryMax',
  IOWeight: 'IOWeight',
  TasksMax: 'TasksMax',
};

/** What `systemctl show` prints for a declared value; undefined when it depends on the host (percentages of RAM or of the task limit). */
export function expectedShown(directiveName: string, declared: string): string | undefined {
  switch (directiveName) {
    case 'CPUQuota':
      return /^\d+%$/.test(declared) ? cpuQuotaToPerSecUSec(declared) : undefined;
    case 'MemoryMax':
    case 'MemoryHigh':
      return memoryToBytes(declared);
    case 'CPUWeight':
    case 'IOWeight':
      return /^\d+$/.test(declared) ? declared : undefined;
    case 'TasksMax':
      return /^(\d+|infinity)$/.test(declared) ? declared : undefined;
    default:
      return undefined;
  }
}

/** A shown value in the form it is declared in ("600ms" → "60%", "1073741824" → "1G"). */
export function shownAsDeclared(directiveName: string, shown: string): string {
  if (directiveName === 'CPUQuota') return perSecUSecToCpuQuota(shown) ?? shown;
  if (directiveName === 'MemoryMax' || directiveName === 'MemoryHigh') return bytesToMemory(shown);
  return shown;
}

export interface LiveControlPlan {
  /** For a set-property handler: declared values, or "" to reset a directive the file no longer sets. */
  properties: Record<string, string>;
  fields: FieldChange[];
}

/**
 * Which resource-control properties must be applied live. `declared` maps directive → value from the
 * new file, `previous` the same from the file on the host (undefined when there is none). A property
 * goes into set-property when the running value (`systemctl show`) differs from the declared one, or
 * — for values `systemctl show` cannot be compared with (percentages) and for directives removed from
 * the file — when the file changes it.
 */
export function liveControl(
  declared: Record<string, string | undefined>,
  previous: Record<string, string | undefined> | undefined,
  props: Record<string, string>,
): LiveControlPlan {
  const properties: Record<string, string> = {};
  const fields: FieldChange[] = [];
  for (const [name, prop] of Object.entries(RESOURCE_CONTROL)) {
    const want = declared[name];
    const before = previous?.[name];
    const shown = props[prop];
    if (want === undefined) {
      if (before !== undefined) {
        properties[name] = '';
        fields.push({ name: `${name} (running)`, before: shown !== undefined ? shownAsDeclared(name, shown) : before, after: '(default)' });
      }
      continue;
    }
    const expected = expectedShown(name, want);
    if (expected !== undefined && shown !== undefined) {
      if (shown !== expected) {
        properties[name] = want;
        fields.push({ name: `${name} (running)`, before: shownAsDeclared(name, shown), after: want });
      }
    } else if (previous !== undefined && before !== want) {
      properties[name] = want;
      fields.push({ name: `${name} (running)`, before: before ?? (shown !== undefined ? shownAsDeclared(name, shown) : undefined), after: want });
    }
  }
  return { properties, fields };
}

/** Resource-control directives of a parsed unit file (section [Slice] or [Service]). */
export function controlDirectives(parsed: Map<string, string[]>, section: string): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of Object.keys(RESOURCE_CONTROL)) {
    const values = parsed.get(`${section}.${name}`);
    // The last assignment wins for single-valued directives.
    out[name] = values && values.length ? values[values.length - 1] : undefined;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Unit state

export function unitProps(actual: ActualState, unit: string): Record<string, string> {
  return actual.units.get(unit)?.props ?? {};
}

/** active, reloading and activating count as running (a restart or stop is what changes them). */
export function isRunning(props: Record<string, string>): boolean {
  return ['active', 'reloading', 'activating'].includes(props.ActiveState ?? '');
}

export function isLoaded(props: Record<string, string>): boolean {
  return props.LoadState === 'loaded';
}

/** Drop-ins written by `systemctl set-property` (runtime or persistent): they override the unit file. */
export function hasControlDropIns(props: Record<string, string>): boolean {
  return /\/system\.control\//.test(props.DropInPaths ?? '');
}

export function requireSystemd(actual: ActualState, ctx: PlanContext, what: string): void {
  if (!actual.facts.systemd.pid1) {
    throw new LanesError(`${what}: systemd is not PID 1 on ${ctx.host}, so units cannot be managed there`, {
      kind: 'input',
      location: ctx.source,
      host: ctx.host,
    });
  }
}

export interface UnitStateWanted {
  enabled?: boolean;
  state?: 'started' | 'stopped';
}

export interface UnitStatePlan {
  fields: FieldChange[];
  /** enable/disable first, then start/stop. */
  enable?: Handler;
  run?: Handler;
  /** A start or stop was planned (a restart is then not needed). */
  startsOrStops: boolean;
}

/** UnitFileState values that `systemctl enable` cannot turn into "enabled". */
const NOT_ENABLEABLE = ['static', 'indirect', 'generated', 'transient', 'masked', 'masked-runtime', 'bad', 'alias'];

/**
 * enable/disable and start/stop decisions from `systemctl show`. `owned` is true when lanes writes the
 * unit file in the same change (systemd_service): the file's [Install] section is then the new one, so
 * the current UnitFileState (e.g. "static" before the file existed) does not make enabling impossible.
 */
export function unitStatePlan(unit: string, want: UnitStateWanted, props: Record<string, string>, ctx: PlanContext, what: string, owned: boolean): UnitStatePlan {
  const fields: FieldChange[] = [];
  const plan: UnitStatePlan = { fields, startsOrStops: false };
  const fileState = props.UnitFileState ?? '';
  const enabled = fileState === 'enabled';
  if (want.enabled === true && !enabled) {
    if (!owned && NOT_ENABLEABLE.includes(fileState)) {
      throw new LanesError(`${what}: ${unit} cannot be enabled on ${ctx.host} (UnitFileState=${fileState})`, {
        kind: 'input',
        location: ctx.source,
        host: ctx.host,
        hint: fileState.startsWith('masked') ? `unmask it first (systemctl unmask ${unit})` : 'its unit file has no [Install] section to enable; leave "enabled" out',
      });
    }
    fields.push({ name: 'enabled', before: 'false', after: 'true' });
    plan.enable = { kind: 'unit', unit, action: 'enable' };
  } else if (want.enabled === false && (enabled || fileState === 'enabled-runtime')) {
    fields.push({ name: 'enabled', before: 'true', after: 'false' });
    plan.enable = { kind: 'unit', unit, action: 'disable' };
  }
  const running = isRunning(props);
  if (want.state === 'started' && !running) {
    if (!owned && (props.LoadState === 'masked' || fileState.startsWith('masked'))) {
      throw new LanesError(`${what}: ${unit} is masked on ${ctx.host} and cannot be started`, {
        kind: 'input',
        location: ctx.source,
        host: ctx.host,
        hint: `unmask it first (systemctl unmask ${unit})`,
      });
    }
    fields.push({ name: 'state', before: props.ActiveState || 'inactive', after: 'active' });
    plan.run = { kind: 'unit', unit, action: 'start' };
    plan.startsOrStops = true;
  } else if (want.state === 'stopped' && running) {
    fields.push({ name: 'state', before: props.ActiveState ?? 'active', after: 'inactive' });
    plan.run = { kind: 'unit', unit, action: 'stop' };
    plan.startsOrStops = true;
  }
  return plan;
}

/**
 * What every unit-file resource compares first: the rendered file against the one on disk, the
 * unit's properties as systemd reports them, and both files parsed into directives.
 */
export function compareUnitFile(actual: ActualState, ctx: PlanContext, resource: string, unit: string, path: string, content: string) {
  requireSystemd(actual, ctx, resource);
  // systemd reads unit files as root: one with Environment= values (or marked sensitive) is root's alone to read.
  const mode = ctx.sensitive || /^[ \t]*Environment[ \t]*=/m.test(content) ? '0640' : '0644';
  const cmp = compareFile({ path, content, owner: 'root', group: 'root', mode }, actual);
  const have = actual.files.get(path);
  return {
    cmp,
    props: unitProps(actual, unit),
    have,
    afterParsed: parseUnit(content),
    beforeParsed: have?.type === 'file' && have.content !== undefined ? parseUnit(have.content) : undefined,
  };
}
