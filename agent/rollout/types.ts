/**
 * Types shared by the release machinery (agent/rollout/): the play's `release:` block after
 * templating, and what each step reports. Remote work is done by shell scripts built by pure
 * functions here and run over the host's one SSH connection.
 */
import type { Hooks } from './hooks.js';

/** The play's `release:` block (see agent/playbook/sections.ts for the YAML form). */
export interface ReleaseSpec {
  /** Application root: `releases/<id>/`, `shared/`, `current` live under it. */
  path: string;
  /** How many releases to keep (the live one and the previous one are never pruned). */
  keep: number;
  /** Paths inside a release that are symlinks into `shared/` (e.g. storage, .env). */
  shared: string[];
  /** Owner and group of unpacked release files. */
  owner: string;
  group: string;
  /** Workers drained before the switch and started after it. */
  workers: { supervisor: string[]; systemd: string[] };
  /** FPM pools (names declared in fpm.pools) that serve the release: reloaded and health-checked. */
  pools: ReleasePool[];
  /** 'reload': graceful FPM reload (default); 'opcache-reset': no reload, OPcache reset per pool over FastCGI. */
  reload: 'reload' | 'opcache-reset';
  health: {
    /** Optional HTTP check through Nginx on the host: GET path on `address`, expecting `expect` in the body. */
    http?: { url: string; expect?: string };
    /** How long the health gate may retry before the host fails, ms. */
    timeoutMs: number;
  };
  /** Batches, as Ansible's serial: [1, '50%', '100%']. */
  serial: (number | string)[];
  /** How many hosts may fail before the rollout stops (default 0). */
  maxFail: number;
  /** Lock lease length, ms. */
  lockTtlMs: number;
  /** Who runs the hooks unless a hook names its own user (release.user, else owner). */
  user: string;
  /** Commands run at fixed points of the release (agent/rollout/hooks.ts, steps.ts). */
  hooks: Hooks;
  /** Pattern choosing the host of the once hooks (default: the first host of the first batch). */
  onceHost?: string;
  /** Webhook URLs told about the release (agent/rollout/notify.ts); may carry tokens: never printed. */
  notify: string[];
  /** config: files rendered for this host into every release (agent/rollout/release-config.ts); part of the release id. */
  config?: ReleaseConfigFile[];
}

/** A `release.config` file as rendered for one host. Its content never goes to any output. */
export interface ReleaseConfigFile {
  /** Relative path inside the release. */
  dest: string;
  content: Buffer | string;
  /** Octal, e.g. "0640"; owner root, group the release's group. */
  mode: string;
  /** Marked `sensitive: true`, or carrying a registered secret (vault value, sensitive_vars). */
  sensitive: boolean;
}

export interface ReleasePool {
  name: string;
  /** Unix socket path or host:port. */
  listen: string;
  ping?: { path: string; response: string };
  statusPath?: string;
}

/** Where a release lives on a host. */
export function releaseDir(spec: Pick<ReleaseSpec, 'path'>, id: string): string {
  return `${spec.path}/releases/${id}`;
}
