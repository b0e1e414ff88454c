/**
 * Which hosts of a run will have their key accepted without any check, decided before connecting.
 *
 * `StrictHostKeyChecking no` / `accept-new` (or --accept-new-host-keys) accepts the key of a host
 * that no known_hosts file mentions. With `UserKnownHostsFile /dev/null` (a common inventory
 * setting), `none`, or a known_hosts file that does not outlive the run (a fresh CI runner), that
 * is trust-on-first-use on every run: a changed key — a man-in-the-middle — is never caught. The
 * run says so once, naming the hosts, and `--strict-host-keys` refuses instead before any host is
 * contacted.
 */
import { LanesError } from '../errors.js';
import { hostMatches, knownHostsName, loadKnownHosts, type KnownHostsEntry } from './known-hosts.js';
import type { HostTarget } from './target.js';

/** The inventory hosts (and jump hosts, as `host (jump host j)`) whose key would go unchecked, in order. */
export async function uncheckedHostKeys(targets: HostTarget[]): Promise<string[]> {
  const cache = new Map<string, Promise<KnownHostsEntry[]>>();
  const entriesOf = (files: string[]) => {
    const key = JSON.stringify(files);
    let p = cache.get(key);
    if (!p) cache.set(key, (p = loadKnownHosts(files)));
    return p;
  };
  const unchecked = async (t: HostTarget): Promise<boolean> => {
    if (!t.acceptNewHostKeys) return false; // an unknown key is refused: nothing goes unchecked
    const name = knownHostsName(t.address, t.port);
    const entries = await entriesOf(t.knownHostsFiles);
    return !entries.some((e) => e.marker === undefined && hostMatches(e.hosts, name));
  };
  const out: string[] = [];
  for (const t of targets) {
    for (const j of t.jumps) {
      const label = `${t.name} (jump host ${j.name})`;
      if ((await unchecked(j)) && !out.includes(label)) out.push(label);
    }
    if (await unchecked(t)) out.push(t.name);
  }
  return out;
}

export interface HostKeyNotice {
  hosts: string[];
  text: string;
}

/**
 * Before a run connects: undefined when every key will be checked; otherwise the warning to show
 * once — or, with `strict`, a refusal naming the hosts (nothing has run anywhere yet).
 */
export async function hostKeyPreflight(targets: HostTarget[], strict: boolean): Promise<HostKeyNotice | undefined> {
  const hosts = await uncheckedHostKeys(targets);
  if (hosts.length === 0) return undefined;
  const list = hosts.join(', ');
  if (strict) {
    throw new LanesError(
      `refusing to connect: the host keys of ${list} would be accepted without being checked (StrictHostKeyChecking no/accept-new and no known_hosts entry)`,
      { kind: 'hostkey', hint: 'add their keys to a known_hosts file (ssh-keyscan, after checking the fingerprints) and pass it with --known-hosts or UserKnownHostsFile' },
    );
  }
  return {
    hosts,
    text: `host keys NOT checked for ${list}: no known_hosts entry and StrictHostKeyChecking no/accept-new, so whatever key they present is accepted and a changed key is never caught (--strict-host-keys refuses this)`,
  };
}
