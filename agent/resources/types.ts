/**
 * The contract every resource type follows (one file per type in this folder):
 *
 *   schema    — zod schema of the desired state as written in a playbook (after templating);
 *   probes    — what must be read from the host to know the actual state (read for ALL resources of a
 *               host in ONE exec, one batched fact per kind, see agent/facts/probe-kind.ts);
 *   plan      — PURE: (desired, actual, context) → changes, each with a diff or before→after fields
 *               and the declarative operations, validators and handlers that make it so.
 *
 * Nothing here does I/O. The apply engine (agent/apply/) turns operations into one shell script per
 * host: staged atomic writes, validation before any reload, restore on failed validation, handlers.
 */
import type { z } from 'zod';
import type { SourceLocation } from '../errors.js';
import type { HostFacts } from '../facts/gather.js';

// ---------------------------------------------------------------------------------------------
// Probes: what is read from the host

/**
 * The shape of each kind of probe, by kind. Open: a new kind of state augments this interface from its
 * own file (`declare module`) beside its ProbeKind (agent/facts/probe-kind.ts), so Probe grows with it.
 */
export interface ProbeShapes {
  /** stat + content of a path. `path` may contain shell glob characters (`*`): every match is read. */
  file: { path: string };
  /** `getent passwd NAME` + its groups as `id -Gn` reports them (NSS). */
  user: { name: string };
  /** `getent group NAME`. */
  group: { name: string };
  /** Installed version of a package (dpkg or rpm). */
  package: { name: string };
  /** `systemctl show` of a unit: the listed properties (always also LoadState, ActiveState, SubState,
   *  UnitFileState, FragmentPath, NeedDaemonReload). All units of a host are read by one call. */
  unit: { name: string; properties?: string[] };
  /** The state of every Supervisor program (one probe covers them all): supervisord's XML-RPC getAllProcessInfo, or `supervisorctl status`. */
  supervisor: Record<never, never>;
}

/** What must be read from a host for one resource: plain data (saved plans store it). */
export type Probe = { [K in keyof ProbeShapes]: { kind: K } & ProbeShapes[K] }[keyof ProbeShapes];

export interface FileState {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'other';
  /** Octal, four digits: "0644". */
  mode: string;
  owner: string;
  group: string;
  size: number;
  /** Regular files: hex sha256 of the content. */
  sha256?: string;
  /** Regular files up to 512 KiB: the content (utf8). Larger files have only sha256. */
  content?: string;
  /** Symlinks: the link target as stored (readlink). */
  target?: string;
}

export interface UserState {
  name: string;
  uid: number;
  gid: number;
  /** Primary group name. */
  group: string;
  /** Supplementary group names, sorted. */
  groups: string[];
  home: string;
  shell: string;
  comment: string;
}

export interface GroupState {
  name: string;
  gid: number;
  members: string[];
}

export interface PackageState {
  name: string;
  /** Installed version, undefined when not installed. */
  version?: string;
}

export interface UnitState {
  name: string;
  /** Every property read, verbatim from `systemctl show` (e.g. LoadState: "loaded", CPUQuotaPerSecUSec: "600ms"). */
  props: Record<string, string>;
}

export interface SupervisorProcessState {
  /** `group:name` for numprocs > 1 or a named group, else `name`. */
  name: string;
  /** RUNNING, STOPPED, STARTING, BACKOFF, FATAL, EXITED… */
  state: string;
}

/** Everything read from one host: host facts plus the probe results, keyed for lookup. */
export interface ActualState {
  facts: HostFacts;
  /** Keyed by the real path (glob probes contribute one entry per match). Absent = does not exist. */
  files: Map<string, FileState>;
  users: Map<string, UserState>;
  groups: Map<string, GroupState>;
  packages: Map<string, PackageState>;
  units: Map<string, UnitState>;
  /** undefined when supervisorctl is not available or supervisord is not running. */
  supervisor?: Map<string, SupervisorProcessState>;
  /**
   * Every value read, by key (`fact:os`, `unit:x.service`, `file:/etc/x`…): what the saved-plan
   * fingerprint hashes, so anything a probe reads is covered by drift detection.
   */
  readings: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Operations: what apply does, in phases (see agent/apply/script.ts for the order)

export type Operation =
  /** Run a command before any file is written (create users, groups, install packages). Not rolled back. */
  | { op: 'run'; phase: 'prepare'; script: string; describe: string }
  /** Create a directory (and parents) with owner/group/mode. */
  | { op: 'mkdir'; path: string; owner?: string; group?: string; mode?: string }
  /** Atomic write: temp file in the same directory, owner/group/mode, rename. The old file is kept
   *  until validation passed, and restored if it fails. */
  | { op: 'write'; path: string; content: string; owner?: string; group?: string; mode?: string }
  /** Change owner/group/mode of an existing path without touching its content. */
  | { op: 'attrs'; path: string; owner?: string; group?: string; mode?: string }
  /** Atomic symlink switch: `ln -s target tmp && mv -T tmp path`. */
  | { op: 'symlink'; path: string; target: string }
  /** Remove a file (kept in the backup until validation passed). */
  | { op: 'remove'; path: string };

/** Checks that run after files are in place and before any handler; failure restores the files. */
export type Validator =
  | { kind: 'fpm-test'; binary: string }
  | { kind: 'nginx-test' }
  | { kind: 'supervisor-reread' }
  | { kind: 'systemd-verify'; path: string }
  /** A file's own validator, e.g. `visudo -cf %s`: `%s` is the path of the new file. */
  | { kind: 'command'; command: string; path?: string };

/** What must happen after the change set so running services pick it up. Deduplicated per host. */
export type Handler =
  | { kind: 'daemon-reload' }
  /** Apply resource-control properties of a running unit live (runtime drop-in; the unit file stays the source of truth). */
  | { kind: 'set-property'; unit: string; properties: Record<string, string> }
  | { kind: 'unit'; unit: string; action: 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable' }
  /** supervisorctl reread + update restarts exactly the changed programs, each once. */
  | { kind: 'supervisor-update' }
  /** Start a program (or `name:*` group) whose file is converged but which is not running. */
  | { kind: 'supervisor-start'; program: string }
  /** Graceful FPM reload (SIGUSR2); then the master must be alive and every pool socket must answer. */
  | { kind: 'fpm-reload'; unit: string; binary: string; confFile: string; sockets: string[] }
  /** Only for settings a reload ignores (listen owner/group/mode/backlog): the reason is shown in the plan. */
  | { kind: 'fpm-restart'; unit: string; binary: string; confFile: string; sockets: string[]; reason: string }
  | { kind: 'nginx-reload' };

// ---------------------------------------------------------------------------------------------
// Plans

export interface FieldChange {
  name: string;
  before?: string;
  after?: string;
}

export interface Change {
  /** `type[id]`, e.g. `fpm_pool[web_session]`. */
  resource: string;
  action: 'create' | 'update' | 'delete';
  /** One line, e.g. "pool web_session: pm.max_children 8 → 12". */
  summary: string;
  /** Structured before → after for attributes (users, units, programs, modes…). */
  fields?: FieldChange[];
  /** Unified diff of file content (from the `diff` package), when content changes. */
  diff?: string;
  operations: Operation[];
  validators?: Validator[];
  handlers?: Handler[];
  /** Why something unusual happens, e.g. "listen.mode changed: a reload ignores it, so php-fpm restarts". */
  notes?: string[];
  /**
   * Set by planHost for a resource marked `sensitive: true` or whose content carries a registered
   * secret (agent/report/mask.ts): output shows hashes instead of its values (agent/report/sensitive.ts).
   */
  sensitive?: boolean;
  /** Sensitive changes of file content: the hex sha256 of the content before (absent: no file) and after (absent: removed). */
  contentHash?: { before?: string; after?: string };
}

export interface PlanContext {
  host: string;
  /** Where the resource was declared, for messages. */
  source?: SourceLocation;
  /** Every desired resource of this host (e.g. fpm_pool removal of undeclared pools needs the full set). */
  all: DesiredResource[];
  /** The resource is sensitive (marked, or carrying a registered secret): files it writes default to a private mode. */
  sensitive?: boolean;
}

export interface ResourceType<S> {
  /** Playbook key and change prefix: 'fpm_pool'. */
  type: string;
  schema: z.ZodType<S>;
  /** Unique id within a host, e.g. the pool name or the path. */
  id(spec: S): string;
  /**
   * What on the host this resource owns, as `kind:name` (`path:/etc/x`, `unit:x.service`,
   * `program:app-queue`, `pool:web`). Two resources of a host claiming the same thing are a
   * plan-time error naming both places, unless they are the same declaration twice (same type, same
   * spec). Default: `<type>:<id>`. See agent/resources/claims.ts.
   */
  claims?(spec: S): string[];
  probes(spec: S): Probe[];
  /** Pure. Throws LanesError (with ctx.source) when the desired state cannot be realised on this host,
   *  e.g. no php-fpm installed. Returns no changes when converged. */
  plan(spec: S, actual: ActualState, ctx: PlanContext): Change[];
}

/** One resource instance for one host, after variables and templates were applied. */
export interface DesiredResource {
  type: string;
  id: string;
  spec: unknown;
  source?: SourceLocation;
  /**
   * Where a part of the spec was written (a path into it, e.g. ['hooks', 'once', 0, 'hosts']), for checks
   * made after compiling; set by the compiler (not enumerable: plans and comparisons ignore it).
   */
  at?: (path: readonly PropertyKey[]) => SourceLocation | undefined;
}
