/** From the compiled play (the `release` resource and the fpm pools it names) to a ReleaseSpec. */
import { LanesError } from '../errors.js';
import type { DesiredResource } from '../resources/types.js';
import type { ReleaseBlock } from '../resources/release.js';
import { secrets } from '../report/mask.js';
import type { ReleasePool, ReleaseSpec } from './types.js';
import { durationMs } from './duration.js';
import { hooksOf } from './hooks.js';

export { durationMs };

interface PoolSpec {
  name: string;
  listen?: { path?: string; address?: string };
  ping?: { path: string; response?: string };
  pm?: { status_path?: string };
}

export function releaseSpecFor(host: string, desired: DesiredResource[]): ReleaseSpec {
  const block = desired.find((d) => d.type === 'release');
  if (!block) {
    throw new LanesError(`no play for ${host} has a release: block`, {
      host,
      hint: 'add release: { path: /var/www/app, … } to the play (see playbooks/site.yml)',
    });
  }
  const r = block.spec as ReleaseBlock;
  const pools: ReleasePool[] = r.pools.map((name) => {
    const pool = desired.find((d) => d.type === 'fpm_pool' && (d.spec as PoolSpec).name === name)?.spec as PoolSpec | undefined;
    const listen = pool?.listen?.path ?? pool?.listen?.address;
    if (!pool || !listen) {
      throw new LanesError(`release.pools names "${name}", which is not a pool of this play (fpm.pools)`, { location: block.source, host });
    }
    return {
      name,
      listen,
      ...(pool.ping ? { ping: { path: pool.ping.path, response: pool.ping.response ?? 'pong' } } : {}),
      ...(pool.pm?.status_path ? { statusPath: pool.pm.status_path } : {}),
    };
  });
  return {
    path: r.path,
    keep: r.keep,
    shared: r.shared,
    owner: r.owner,
    group: r.group,
    workers: {
      supervisor: r.workers.supervisor,
      systemd: r.workers.systemd.map((u) => (/\.(service|target)$/.test(u) ? u : `${u}.service`)),
    },
    pools,
    reload: r.reload,
    health: {
      ...(r.health.http ? { http: { url: r.health.http.url, expect: r.health.http.expect } } : {}),
      timeoutMs: durationMs(r.health.timeout),
    },
    serial: Array.isArray(r.serial) ? r.serial : [r.serial],
    maxFail: r.max_fail,
    lockTtlMs: durationMs(r.lock_ttl),
    user: r.user ?? r.owner,
    hooks: hooksOf(r),
    ...(r.once_host !== undefined ? { onceHost: r.once_host } : {}),
    notify: r.notify,
    // config: a file carrying a registered secret (vault value, sensitive_vars) is sensitive by itself.
    config: r.config.map((c) => {
      const content = c.content?.text ?? '';
      return { dest: c.dest, content, mode: c.mode, sensitive: c.sensitive || secrets.contains(content) };
    }),
  };
}

/** Whether the HTTP health check must also find the release id in the body. */
export function expectsRelease(desired: DesiredResource[]): boolean {
  const block = desired.find((d) => d.type === 'release')?.spec as ReleaseBlock | undefined;
  return block?.health.http?.expect_release === true;
}
