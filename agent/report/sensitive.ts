/**
 * Sensitive values never leave the host they are for. A resource is sensitive when the playbook marks
 * it (`sensitive: true`) or when its desired state carries a value registered in the secret registry
 * (agent/report/mask.ts: become passwords, Ansible Vault values, a play's `sensitive_vars`). Its changes
 * are shown — in plan text, `--json`, saved plans, the apply report and errors — as
 *
 *   content: (sensitive, changed) sha256:1f2e3d4c → sha256:9a8b7c6d
 *
 * never as a value or a diff line; owner, group, mode, state and the like stay exact. Contents the
 * apply needs are replaced by a placeholder carrying their full sha256, which `lanes apply PLANFILE`
 * fills again from the re-compiled playbook (agent/plan/sealed.ts). The masker stays the last net
 * over every output: a registered value is `********` wherever it would still appear.
 */
import type { LanesEvent } from './events.js';
import { secrets, type SecretMasker } from './mask.js';
import { sha256Hex } from '../resources/managed-file.js';
import type { ActualState, Change, DesiredResource, FieldChange, Operation } from '../resources/types.js';

/** Fields and spec keys that describe a resource, not its secrets: shown exactly even when it is sensitive. */
const PLAIN_NAMES =
  /^(path|dest|src|name|owner|group|mode|type|state|enabled|user|sensitive|validate|reload|restart|numprocs|process_name|directory|autostart|autorestart|startsecs|startretries|stopsignal|stopwaitsecs|stopasgroup|killasgroup|priority|redirect_stderr|stdout_logfile.*|stderr_logfile.*|php_version|pm(\..*)?|listen(\..*)?|Slice.*|Type|User|Group|WantedBy|After|Wants|Requires)$/;

/** `(sensitive) sha256:<hex>`: what a saved plan or `--json` holds instead of a sensitive text. */
export function placeholderOf(text: string): string {
  return `(sensitive) sha256:${sha256Hex(text)}`;
}

const PLACEHOLDER = /^\(sensitive\) sha256:([0-9a-f]{64})$/;

/** The full hex sha256 a placeholder stands for, or undefined when `s` is not one. */
export function placeholderHash(s: unknown): string | undefined {
  return typeof s === 'string' ? PLACEHOLDER.exec(s)?.[1] : undefined;
}

/** `sha256:1f2e3d4c`: enough for a reviewer to see that two values differ, nothing to recover them from. */
export function shortHash(hex: string): string {
  return `sha256:${hex.slice(0, 8)}`;
}

/** Is this desired resource sensitive: marked, or carrying a registered secret anywhere in its spec? */
export function isSensitiveSpec(spec: unknown, masker: SecretMasker = secrets): boolean {
  return (typeof spec === 'object' && spec !== null && (spec as { sensitive?: unknown }).sensitive === true) || masker.containsIn(spec);
}

/**
 * The change marked sensitive (with the hashes of the content it replaces and writes) when its
 * resource is, or when anything it would show or write carries a registered secret (a php-fpm.conf
 * edited in place, a file whose old content holds one). planHost calls this on every change.
 */
export function markSensitive(change: Change, actual: ActualState, resourceSensitive: boolean, masker: SecretMasker = secrets): Change {
  const sensitive = resourceSensitive || masker.containsIn([change.summary, change.diff, change.fields, change.operations, change.notes]);
  if (!sensitive) return change;
  const hashes: { before?: string; after?: string } = {};
  let touchesContent = false;
  for (const o of change.operations) {
    if (o.op !== 'write' && o.op !== 'remove') continue;
    touchesContent = true;
    const have = actual.files.get(o.path);
    if (have?.type === 'file' && have.sha256 && hashes.before === undefined) hashes.before = have.sha256;
    if (o.op === 'write') hashes.after = sha256Hex(o.content);
  }
  // A delete change shows what goes away.
  if (!touchesContent && change.diff !== undefined) touchesContent = true;
  return { ...change, sensitive: true, ...(touchesContent ? { contentHash: hashes } : {}) };
}

/** What a reviewer (or a machine, or a plan file) may see of a change: values of a sensitive one become hashes. */
export function redactChange(change: Change, masker: SecretMasker = secrets): Change {
  if (!change.sensitive && !masker.containsIn([change.summary, change.diff, change.fields, change.operations])) return change;
  const hidden: string[] = [];
  const fields: FieldChange[] = [];
  if (change.diff !== undefined || change.contentHash) {
    const h = change.contentHash ?? {};
    fields.push({ name: 'content', before: `(sensitive, changed) ${h.before ? shortHash(h.before) : '(none)'}`, after: h.after ? shortHash(h.after) : '(none)' });
  }
  for (const f of change.fields ?? []) {
    if (PLAIN_NAMES.test(f.name) && !masker.containsIn([f.before, f.after])) {
      fields.push(f);
      continue;
    }
    for (const v of [f.before, f.after]) if (v !== undefined && v.length >= 2) hidden.push(v);
    fields.push({ name: f.name, before: `(sensitive, changed) ${hashOrNone(f.before)}`, after: hashOrNone(f.after) });
  }
  const leaks = masker.contains(change.summary) || hidden.some((v) => change.summary.includes(v));
  const names = fields.filter((f) => f.before?.startsWith('(sensitive')).map((f) => f.name);
  const { diff: _diff, ...rest } = change;
  return {
    ...rest,
    summary: leaks ? `${change.resource}: ${names.join(', ') || 'values'} changed (sensitive)` : change.summary,
    ...(fields.length ? { fields } : {}),
    operations: change.operations.map(redactOperation),
  };
}

function hashOrNone(v: string | undefined): string {
  return v === undefined ? '(none)' : shortHash(sha256Hex(v));
}

function redactOperation(o: Operation): Operation {
  return o.op === 'write' ? { ...o, content: placeholderOf(o.content) } : o;
}

/** A desired resource as shown or saved: in a sensitive one, every value but the plain attributes is a placeholder. */
export function redactDesired(d: DesiredResource, masker: SecretMasker = secrets): DesiredResource {
  if (!isSensitiveSpec(d.spec, masker)) return d;
  if (typeof d.spec !== 'object' || d.spec === null || Array.isArray(d.spec)) return { ...d, spec: hideStrings(d.spec) };
  const spec: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d.spec)) spec[k] = PLAIN_NAMES.test(k) && !masker.containsIn(v) ? v : hideStrings(v);
  return { ...d, spec };
}

function hideStrings(v: unknown): unknown {
  if (typeof v === 'string') return placeholderOf(v);
  if (Array.isArray(v)) return v.map(hideStrings);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hideStrings(x)]));
  return v;
}

/**
 * The event as an output may carry it: the changes and desired resources of a host's result
 * (`host-end` data of plan and apply) redacted. Renderers call this before masking.
 */
export function redactEvent(e: LanesEvent, masker: SecretMasker = secrets): LanesEvent {
  if (e.type !== 'host-end' || typeof e.data !== 'object' || e.data === null) return e;
  const data = e.data as { changes?: unknown; desired?: unknown };
  if (!Array.isArray(data.changes) && !Array.isArray(data.desired)) return e;
  return {
    ...e,
    data: {
      ...data,
      ...(Array.isArray(data.changes) ? { changes: (data.changes as Change[]).map((c) => redactChange(c, masker)) } : {}),
      ...(Array.isArray(data.desired) ? { desired: (data.desired as DesiredResource[]).map((d) => redactDesired(d, masker)) } : {}),
    },
  };
}
