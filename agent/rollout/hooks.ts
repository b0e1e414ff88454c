/**
 * Release hooks: the commands a play runs at fixed points of a release (`release.hooks`), e.g.
 * `composer install` in every new release, `php artisan migrate --force` once for the fleet.
 *
 * Where each point sits in the release is said by the step table (agent/rollout/steps.ts); this file
 * says what a hook is, on which hosts it runs, and how one is run: through the one remote command
 * runner (agent/remote/command.ts) — in a process group of its own, as `release.user` (or the hook's
 * own `user`), with the release environment, killed at its timeout or when the run is cancelled.
 */
import { LanesError, type SourceLocation } from '../errors.js';
import { InventoryData } from '../inventory/data.js';
import { selectHosts, type Inventory } from '../inventory/index.js';
import { resolveInventory } from '../inventory/resolve.js';
import { REMOTE_COMMAND_LINE, remoteCommandInput } from '../remote/command.js';
import { secrets } from '../report/mask.js';
import type { HookEntry, ReleaseBlock } from '../resources/release.js';
import type { DesiredResource } from '../resources/types.js';
import { CancelledError, cancelledBy } from '../run/cancel.js';
import type { HostSession } from '../run/fleet.js';
import { durationMs } from './duration.js';

export const HOOK_POINTS = ['build', 'once', 'before_switch', 'after_switch', 'after_release', 'on_rollback'] as const;
export type HookPoint = (typeof HOOK_POINTS)[number];

/** Hook points that run on one host for the whole run (the once host), not per host. */
const FLEET_POINTS: readonly HookPoint[] = ['once', 'after_release'];

export interface Hook {
  point: HookPoint;
  /** Position in its list (for messages: `once[0]`). */
  index: number;
  run: string;
  user: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** A host pattern: the hook runs only on the run's hosts it matches. */
  hosts?: string;
  /** Command and output are never shown (the masker hides its env values everywhere else). */
  sensitive: boolean;
}

export type Hooks = Record<HookPoint, Hook[]>;

/** The hooks of a release block, with their defaults filled in (user: release.user, else owner). */
export function hooksOf(block: Pick<ReleaseBlock, 'hooks' | 'user' | 'owner'>): Hooks {
  const user = block.user ?? block.owner;
  const out = {} as Hooks;
  for (const point of HOOK_POINTS) {
    out[point] = (block.hooks[point] as HookEntry[]).map((h, index) => {
      if (h.sensitive) for (const v of Object.values(h.env)) if (v.length >= 4) secrets.add(v);
      return {
        point,
        index,
        run: h.run,
        user: h.user ?? user,
        env: h.env,
        timeoutMs: durationMs(h.timeout),
        ...(h.hosts !== undefined ? { hosts: h.hosts } : {}),
        sensitive: h.sensitive,
      };
    });
  }
  return out;
}

export function hookLabel(h: Pick<Hook, 'point' | 'index'>): string {
  return `${h.point}[${h.index}]`;
}

/** The hook's command for people: itself, or "(sensitive)". */
export function hookText(h: Pick<Hook, 'run' | 'sensitive'>): string {
  return h.sensitive ? '(sensitive command)' : h.run.replace(/\s+/g, ' ').trim();
}

/** What decides where hooks run: the hosts of the run in batch order, and the inventory for patterns. */
export interface HookHosts {
  /** The run's hosts, first batch first. */
  order: string[];
  inventory: Inventory;
}

/** Of the run's hosts, those a hook runs on (its `hosts:` pattern; all of them without one). */
export function hostsOfHook(h: Pick<Hook, 'hosts'>, where: HookHosts): string[] {
  if (h.hosts === undefined) return where.order;
  const matched = new Set(selectHosts(where.inventory, h.hosts));
  return where.order.filter((n) => matched.has(n));
}

/**
 * The host the `once` hooks (and `after_release`) run on: the first host of the first batch, or the
 * first one (in batch order) that `once_host` matches. Deterministic, shown by --dry-run.
 */
export function onceHostOf(onceHost: string | undefined, where: HookHosts): string | undefined {
  if (onceHost === undefined) return where.order[0];
  const matched = new Set(selectHosts(where.inventory, onceHost));
  return where.order.find((n) => matched.has(n));
}

/**
 * Everything about hooks that can be wrong, found before any connection, each error at the
 * file:line:column of what is wrong: a `hosts:` that matches none of the run's hosts, a `hosts:` on a
 * once-for-the-fleet point, a `once_host` that matches none of the run's hosts (e.g. excluded by
 * --limit) while there are hooks to run there.
 */
export function checkHooks(release: DesiredResource, where: HookHosts): void {
  const block = release.spec as ReleaseBlock;
  const at = (path: PropertyKey[]): SourceLocation | undefined => release.at?.(path) ?? release.source;
  const hooks = hooksOf(block);
  for (const point of HOOK_POINTS) {
    for (const h of hooks[point]) {
      if (h.hosts === undefined) continue;
      const path = ['hooks', point, h.index, 'hosts'];
      if (FLEET_POINTS.includes(point)) {
        throw new LanesError(`release.hooks.${hookLabel(h)}.hosts: a ${point} hook runs once for the fleet, on the once host`, {
          location: at(path),
          hint: 'choose that host with release.once_host: PATTERN',
        });
      }
      let matched: string[];
      try {
        matched = hostsOfHook(h, where);
      } catch (err) {
        throw new LanesError(`release.hooks.${hookLabel(h)}.hosts: ${err instanceof Error ? err.message : String(err)}`, { location: at(path) });
      }
      if (matched.length === 0) {
        throw new LanesError(`release.hooks.${hookLabel(h)}.hosts: "${h.hosts}" matches none of the hosts of this run (${where.order.join(', ')})`, {
          location: at(path),
          hint: 'a host pattern of the inventory: a host, a group, web*, a:b, a:&b, a:!b',
        });
      }
    }
  }
  const needsOnceHost = hooks.once.length > 0 || hooks.after_release.length > 0;
  if (block.once_host !== undefined && needsOnceHost && onceHostOf(block.once_host, where) === undefined) {
    throw new LanesError(`release.once_host: "${block.once_host}" matches none of the hosts of this run (${where.order.join(', ')}): the once hooks would run nowhere`, {
      location: at(['once_host']),
      hint: 'widen --limit to include that host, or change once_host',
    });
  }
}

/** Where and as what a hook runs on one host. */
export interface HookContext {
  host: string;
  releaseId: string;
  /** The release directory: the hook runs in it (LANES_RELEASE_DIR). */
  releaseDir: string;
  previous?: string;
  signal?: AbortSignal;
  /** Show the output of hooks that passed too (-v). */
  verbose?: boolean;
}

/** A hook that ran and failed: the message says which, how, and the last lines of its output. */
export class HookFailed extends LanesError {
  constructor(
    host: string,
    readonly hook: Hook,
    readonly output: string,
    why: string,
  ) {
    const tail = hook.sensitive ? '(output hidden: the hook is sensitive)' : lastLines(output, 3);
    super(`hook ${hookLabel(hook)} \`${shortText(hookText(hook))}\` ${why}${tail ? `: ${tail}` : ''}`, { kind: 'exec', host });
    this.name = 'HookFailed';
  }
}

/**
 * Run one hook on one host as a step named after it. Its output (stdout and stderr, in order of
 * arrival per stream) goes to the run's output on failure, and with `verbose` also on success.
 */
export async function runHook(s: HostSession, h: Hook, ctx: HookContext): Promise<void> {
  const env: Record<string, string> = {
    ...h.env,
    LANES_RELEASE_ID: ctx.releaseId,
    LANES_RELEASE_DIR: ctx.releaseDir,
    LANES_PREVIOUS_RELEASE: ctx.previous ?? '',
    LANES_HOST: ctx.host,
  };
  await s.ctx.step(`hook ${hookLabel(h)}: ${shortText(hookText(h))}`, async () => {
    const by = cancelledBy(ctx.signal);
    if (by) throw new CancelledError(by, ctx.host, 'stopped before the hook');
    let r;
    try {
      r = await s.ctx.conn.exec(REMOTE_COMMAND_LINE, {
        become: true,
        stdin: remoteCommandInput({ shell: h.run, cwd: ctx.releaseDir, user: h.user, env }),
        holdStdin: true,
        timeoutMs: h.timeoutMs,
        signal: ctx.signal,
      });
    } catch (err) {
      if (err instanceof LanesError && err.kind === 'timeout') {
        throw new HookFailed(ctx.host, h, '', `was killed at its timeout (${Math.round(h.timeoutMs / 1000)}s) with its process group`);
      }
      throw err;
    }
    const output = [r.stdout, r.stderr].filter((t) => t.trim() !== '').join('\n');
    const stopped = cancelledBy(ctx.signal);
    if (stopped) throw new CancelledError(stopped, ctx.host, `hook ${hookLabel(h)} stopped, its process group killed`);
    const failed = r.code !== 0;
    if ((failed || ctx.verbose) && !h.sensitive && output.trim() !== '') s.ctx.bus.emit({ type: 'host-output', host: ctx.host, text: output });
    if (failed) throw new HookFailed(ctx.host, h, output, r.code === null ? `was killed (${r.signal ?? 'signal'})` : `failed (exit ${r.code})`);
  });
}

function shortText(t: string): string {
  return t.length > 60 ? `${t.slice(0, 57)}…` : t;
}

function lastLines(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}

/** A release without hooks. */
export function noHooks(): Hooks {
  return { build: [], once: [], before_switch: [], after_switch: [], after_release: [], on_rollback: [] };
}

/** Host patterns without an inventory (a library caller that has only host names): names, `all`, `ungrouped`. */
export function namesOnlyInventory(names: string[]): Inventory {
  const data = new InventoryData();
  for (const name of names) data.addHost(name, 'ungrouped', undefined);
  return resolveInventory(data, [], []);
}

/**
 * Where the hooks of a run go — its hosts in batch order and the inventory for patterns — after
 * checking every host's release block against them (checkHooks): the one place the release and
 * its dry-run get it from, before any connection.
 */
export function hookHostsFor(desired: Map<string, DesiredResource[]>, order: string[], inventory?: Inventory): HookHosts {
  const where: HookHosts = { order, inventory: inventory ?? namesOnlyInventory(order) };
  for (const host of order) {
    const block = (desired.get(host) ?? []).find((d) => d.type === 'release');
    if (block) checkHooks(block, where);
  }
  return where;
}
