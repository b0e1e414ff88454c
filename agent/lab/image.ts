/**
 * The base image: a Debian bookworm root built once with debootstrap and customised in a chroot,
 * cached outside the repository at `<cache>/lab/images/bookworm-<recipe hash>`. Every host is an
 * overlay on top of it, so it is never changed after it is built. It is built into a temporary
 * directory and renamed into place, under a lock, so a half-built image is never used.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { LanesError } from '../errors.js';
import { lastLine, run } from './exec.js';
import { removeTree, unmountUnder } from './fsutil.js';
import { withLock } from './lock.js';
import { detectMirror } from './mirror.js';
import { DEBIAN_KEYRING, ensureTools } from './prereq.js';

export const SUITE = 'bookworm';
export const VARIANT = 'minbase';
export const PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'openssh-server',
  'php8.2-fpm',
  'php8.2-cli',
  'supervisor',
  'nginx-light',
  'sudo',
  'iproute2',
  'procps',
  'libfcgi-bin',
  'curl',
  'python3-minimal',
  'ca-certificates',
  // The sample application's build hook (`composer install`, offline: it has no dependencies) and its
  // migration (an SQLite database in shared storage).
  'composer',
  'php8.2-sqlite3',
] as const;

/** Services every host runs. */
export const SERVICES = ['ssh', 'php8.2-fpm', 'supervisor', 'nginx'] as const;

/**
 * Units that fail or only slow the boot of a container sharing the machine's network namespace.
 * (None of bookworm's units in this package set fails under nspawn today; this is where they go.)
 */
export const MASKED_UNITS: readonly string[] = [];

/** Run inside the new root with chroot; part of the recipe hash, so changing it builds a new image. */
export const CUSTOMISE_SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin
# Every host gets its own Nginx site on its own address; the default one would take 0.0.0.0:80.
rm -f /etc/nginx/sites-enabled/default
# The user lanes connects as: key-only SSH, passwordless sudo.
id lanes >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --comment 'lanes lab user' lanes
printf '%s\\n' 'lanes ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/lanes
chmod 0440 /etc/sudoers.d/lanes
visudo -cf /etc/sudoers.d/lanes
install -d -m 0700 -o lanes -g lanes /home/lanes/.ssh
cat > /etc/ssh/sshd_config.d/10-lanes.conf <<'EOF'
# lanes lab: key-only logins, no root, no reverse DNS
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
EOF
# Each host gets its own host keys and machine id.
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
systemctl enable ${SERVICES.map((s) => `${s}.service`).join(' ')}
${MASKED_UNITS.length > 0 ? `systemctl mask ${MASKED_UNITS.join(' ')}` : ': no units to mask'}
apt-get clean
`;

export function recipeHash(): string {
  const recipe = JSON.stringify({ v: 1, suite: SUITE, variant: VARIANT, packages: PACKAGES, script: CUSTOMISE_SCRIPT });
  return createHash('sha256').update(recipe).digest('hex').slice(0, 12);
}

export function imageDir(imagesDir: string): string {
  return path.join(imagesDir, `${SUITE}-${recipeHash()}`);
}

async function isImage(dir: string): Promise<boolean> {
  try {
    return (await stat(path.join(dir, 'usr/lib/systemd/systemd'))).isFile();
  } catch {
    return false;
  }
}

async function logTail(file: string): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    const errors = text.split('\n').filter((l) => /^(E|W): /.test(l));
    return errors[errors.length - 1] ?? lastLine(text);
  } catch {
    return '';
  }
}

export interface ImageResult {
  dir: string;
  built: boolean;
  seconds: number;
}

/** The base image directory, built first if this recipe has no image yet. */
export async function ensureImage(imagesDir: string, onProgress?: (message: string) => void): Promise<ImageResult> {
  const dir = imageDir(imagesDir);
  if (await isImage(dir)) return { dir, built: false, seconds: 0 };
  return withLock(path.join(imagesDir, '.build.lock'), { timeoutMs: 30 * 60_000, what: 'building the base image', onWait: onProgress }, async () => {
    if (await isImage(dir)) return { dir, built: false, seconds: 0 };
    const started = Date.now();
    await ensureTools(onProgress);
    // We hold the lock, so any temporary tree is the remains of a build that died.
    for (const entry of await readdir(imagesDir)) {
      if (entry.startsWith('.tmp-')) await removeTree(path.join(imagesDir, entry));
    }
    const mirror = await detectMirror(SUITE);
    const tmp = path.join(imagesDir, `.tmp-${path.basename(dir)}-${process.pid}`);
    const log = `${dir}.build.log`;
    const fd = openSync(log, 'w');
    try {
      onProgress?.(`building the base image ${path.basename(dir)} with debootstrap from ${mirror} (about a minute; log: ${log})`);
      const deb = await run(
        'debootstrap',
        [`--variant=${VARIANT}`, `--include=${PACKAGES.join(',')}`, `--keyring=${DEBIAN_KEYRING}`, SUITE, tmp, mirror],
        { outputFd: fd, timeoutMs: 30 * 60_000 },
      );
      if (deb.code !== 0) {
        await removeTree(tmp).catch(() => undefined);
        const why = await logTail(log);
        throw new LanesError(`building the base image failed at debootstrap (exit ${deb.code ?? deb.signal})${why ? `: ${why}` : ''}`, {
          kind: 'lab',
          hint: `see ${log}; check that ${mirror} is reachable`,
        });
      }
      onProgress?.('customising the base image (user lanes, sshd, services)');
      const custom = await run('chroot', [tmp, '/bin/sh', '-c', CUSTOMISE_SCRIPT], { outputFd: fd, timeoutMs: 10 * 60_000 });
      if (custom.code !== 0) {
        await removeTree(tmp).catch(() => undefined);
        throw new LanesError(`building the base image failed at customisation in chroot (exit ${custom.code ?? custom.signal}): ${await logTail(log)}`, {
          kind: 'lab',
          hint: `see ${log}`,
        });
      }
    } finally {
      closeSync(fd);
    }
    // debootstrap unmounts what it mounted, but a tree that is to become a lower layer must be bare.
    await unmountUnder(tmp);
    await rename(tmp, dir);
    const seconds = (Date.now() - started) / 1000;
    onProgress?.(`base image ready in ${seconds.toFixed(0)} s: ${dir}`);
    return { dir, built: true, seconds };
  });
}
