/** What the lab needs from the machine: root, and a few Debian packages it installs when missing. */
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { LanesError } from '../errors.js';
import { runChecked, toolEnv } from './exec.js';

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function requireRoot(action: string): void {
  if (!isRoot()) {
    throw new LanesError(`\`${action}\` needs root: the lab mounts overlays and boots hosts with systemd-nspawn`, {
      kind: 'lab',
      hint: `run it as root, e.g. \`sudo lanes ${action}\``,
    });
  }
}

async function exists(file: string, mode = constants.F_OK): Promise<boolean> {
  try {
    await access(file, mode);
    return true;
  } catch {
    return false;
  }
}

export async function findTool(name: string): Promise<string | undefined> {
  for (const dir of (toolEnv().PATH ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (await exists(candidate, constants.X_OK)) return candidate;
  }
  return undefined;
}

/** Tool → the Debian package that provides it. */
const TOOLS: Record<string, string> = {
  debootstrap: 'debootstrap',
  'systemd-nspawn': 'systemd-container',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  nsenter: 'util-linux',
  chroot: 'coreutils',
  mount: 'mount',
  umount: 'mount',
};

let checked = false;

/**
 * Install debootstrap, systemd-container and openssh-client (and the Debian archive keyring) when
 * any of them is missing, as on a fresh CI machine.
 */
export async function ensureTools(onProgress?: (message: string) => void): Promise<void> {
  if (checked) return;
  const missing: string[] = [];
  for (const tool of Object.keys(TOOLS)) if (!(await findTool(tool))) missing.push(tool);
  const needKeyring = !(await exists(DEBIAN_KEYRING));
  if (missing.length > 0 || needKeyring) {
    if (!(await findTool('apt-get'))) {
      throw new LanesError(`missing tools: ${[...missing, ...(needKeyring ? [DEBIAN_KEYRING] : [])].join(', ')}`, {
        kind: 'lab',
        hint: 'the lab needs a Debian-family machine with apt-get; install debootstrap, systemd-container and openssh-client',
      });
    }
    const packages = new Set(['debootstrap', 'systemd-container', 'openssh-client']);
    for (const tool of missing) packages.add(TOOLS[tool]!);
    if (needKeyring) packages.add('debian-archive-keyring');
    onProgress?.(`installing ${[...packages].join(' ')} (missing: ${[...missing, ...(needKeyring ? ['debian-archive-keyring'] : [])].join(', ')})`);
    const env = toolEnv({ DEBIAN_FRONTEND: 'noninteractive' });
    const hint = 'check that apt can reach its mirrors (`apt-get update`)';
    await runChecked('installing the lab tools: apt-get update', 'apt-get', ['update'], { env, hint, timeoutMs: 600_000 });
    await runChecked('installing the lab tools: apt-get install', 'apt-get', ['install', '-y', ...packages], { env, hint, timeoutMs: 900_000 });
    for (const tool of missing) {
      if (!(await findTool(tool))) throw new LanesError(`${tool} is still missing after installing ${TOOLS[tool]}`, { kind: 'lab' });
    }
  }
  checked = true;
}
