/**
 * A release spec with nothing in it but the layout under `root`: what the artifact scripts need, for
 * the unit tests and the artifact bench that run them outside a playbook. `over` sets the rest.
 */
import { noHooks } from '../../agent/rollout/hooks.js';
import type { ReleaseSpec } from '../../agent/rollout/types.js';

export function bareReleaseSpec(root: string, over: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    path: root,
    keep: 3,
    shared: [],
    owner: '',
    group: '',
    user: 'root',
    hooks: noHooks(),
    workers: { supervisor: [], systemd: [] },
    pools: [],
    reload: 'reload',
    health: { timeoutMs: 1000 },
    serial: [1],
    maxFail: 0,
    lockTtlMs: 60_000,
    notify: [],
    ...over,
  };
}
