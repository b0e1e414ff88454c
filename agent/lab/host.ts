/**
 * One lab host on disk: an overlay of the base image (its own upper dir keeps whatever later work
 * changes) plus the few files that make it that host — hostname, addresses, SSH host keys, the
 * lab's key for user lanes, an Nginx default server.
 */
import { access, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LanesError } from '../errors.js';
import { runChecked } from './exec.js';
import { mkdirInto, removeInto, symlinkInto, unmountUnder, writeInto } from './fsutil.js';
import { mountsUnder, overlayOption, readMountinfo } from './mountinfo.js';
import type { HostPaths } from './paths.js';

/** `mount -t overlay` takes its directories in a comma- and colon-separated option string. */
function assertMountablePath(p: string): void {
  if (/[,:\s\\]/.test(p)) {
    throw new LanesError(`the lab cannot use ${JSON.stringify(p)} for an overlay: it contains a comma, colon, space or backslash`, {
      kind: 'lab',
      hint: 'set LANES_STATE_DIR / LANES_CACHE_DIR to a plain path',
    });
  }
}

export type MountStatus = 'none' | 'ours' | 'other';

/** Whether the host's overlay is mounted, and whether it is the one we would mount now. */
export async function overlayStatus(hp: HostPaths, image: string): Promise<MountStatus> {
  const at = mountsUnder(await readMountinfo(), hp.merged).filter((m) => m.mountPoint === hp.merged);
  const top = at[0];
  if (!top) return 'none';
  const ok = top.fsType === 'overlay' && overlayOption(top, 'lowerdir') === image && overlayOption(top, 'upperdir') === hp.upper;
  return ok && at.length === 1 ? 'ours' : 'other';
}

export async function mountOverlay(hp: HostPaths, image: string): Promise<void> {
  for (const p of [image, hp.upper, hp.work, hp.merged]) assertMountablePath(p);
  await mkdir(hp.upper, { recursive: true, mode: 0o755 });
  await mkdir(hp.work, { recursive: true, mode: 0o700 });
  await mkdir(hp.merged, { recursive: true, mode: 0o755 });
  await runChecked(
    'mounting the host overlay',
    'mount',
    ['-t', 'overlay', 'lanes-lab', '-o', `lowerdir=${image},upperdir=${hp.upper},workdir=${hp.work}`, hp.merged],
    { hint: 'the lab needs overlayfs (modprobe overlay) on a file system that supports it' },
  );
}

/** Unmount whatever is mounted at or below the host's directory (stale overlays included). */
export async function unmountHost(hp: HostPaths): Promise<number> {
  return unmountUnder(hp.dir);
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function userIds(root: string, user: string): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile(path.join(root, 'etc/passwd'), 'utf8');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f[2] && f[3]) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new LanesError(`user ${user} is missing from the base image`, { kind: 'lab', hint: 'remove the image cache directory so that it is rebuilt' });
}

export const HOST_KEY_TYPES = ['ed25519', 'ecdsa', 'rsa'] as const;

export function nginxSite(host: string, address: string): string {
  return `# lanes lab: default server of ${host}, on its own address only (later work replaces this site)
server {
    listen ${address}:80 default_server;
    server_name ${host};
    location / {
        default_type text/plain;
        return 200 "${host}\\n";
    }
}
`;
}

export function etcHosts(host: string, address: string): string {
  return `127.0.0.1\tlocalhost
${address}\t${host}
::1\tlocalhost ip6-localhost ip6-loopback
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
`;
}

export interface PrepareOptions {
  root: string;
  host: string;
  address: string;
  authorizedKey: string;
  /** A new upper dir: also write the files later work may replace (Nginx site, /etc/hosts). */
  fresh: boolean;
}

/** Make the mounted tree at `root` into this host. Safe to repeat on a host that booted before. */
export async function prepareHost(o: PrepareOptions): Promise<void> {
  const { root, host, address } = o;
  await writeInto(root, 'etc/hostname', `${host}\n`);
  await writeInto(root, 'etc/ssh/sshd_config.d/lanes-lab.conf', `# lanes lab: this host's own address\nListenAddress ${address}\n`);
  if (o.fresh) {
    await writeInto(root, 'etc/hosts', etcHosts(host, address));
    await writeInto(root, 'etc/nginx/sites-available/lanes-lab', nginxSite(host, address));
    await symlinkInto(root, 'etc/nginx/sites-enabled/lanes-lab', '../sites-available/lanes-lab');
  }
  // Host keys: made once per host, kept while its upper dir lives (known_hosts stays valid).
  const keyFiles = HOST_KEY_TYPES.map((t) => `etc/ssh/ssh_host_${t}_key`);
  const complete = (await Promise.all(keyFiles.flatMap((k) => [exists(path.join(root, k)), exists(path.join(root, `${k}.pub`))]))).every(Boolean);
  if (!complete) {
    await Promise.all(
      HOST_KEY_TYPES.map(async (type, i) => {
        const rel = keyFiles[i]!;
        await removeInto(root, rel);
        await removeInto(root, `${rel}.pub`);
        const args = ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '3072'] : []), '-N', '', '-C', `root@${host}`, '-f', path.join(root, rel)];
        await runChecked(`generating the ${type} host key`, 'ssh-keygen', args, { host });
      }),
    );
  }
  const { uid, gid } = await userIds(root, 'lanes');
  await mkdirInto(root, 'home/lanes/.ssh', { mode: 0o700, uid, gid });
  await writeInto(root, 'home/lanes/.ssh/authorized_keys', `${o.authorizedKey.trim()}\n`, { mode: 0o600, uid, gid });
}

/** known_hosts lines for one host, from the public host keys in its tree. */
export async function knownHostsLines(root: string, address: string): Promise<string[]> {
  const lines: string[] = [];
  for (const type of HOST_KEY_TYPES) {
    const pub = (await readFile(path.join(root, `etc/ssh/ssh_host_${type}_key.pub`), 'utf8')).trim().split(/\s+/);
    if (pub.length < 2) throw new LanesError(`malformed ${type} host key`, { kind: 'lab', host: address });
    lines.push(`${address} ${pub[0]} ${pub[1]}`);
  }
  return lines;
}
