/**
 * Installed PHP-FPM versions and where each keeps its configuration. Debian installs side by side
 * (`/usr/sbin/php-fpm8.2`, `/etc/php/8.2/fpm/`, unit `php8.2-fpm`); RHEL-family hosts have one
 * (`/usr/sbin/php-fpm`, `/etc/php-fpm.conf`, `/etc/php-fpm.d/`, unit `php-fpm`).
 */
import { keyLines, type Fact } from './fact.js';
import { OWNER_VERSION_COMMAND, unitFilesCommand, upstreamVersion } from './host-files.js';

export interface FpmInstall {
  /** Major.minor, e.g. "8.2". */
  version: string;
  /** Full version as `php-fpm -v` prints it, e.g. "8.2.28" (read from the package database when it knows the binary). */
  fullVersion: string;
  binary: string;
  confFile: string;
  poolDir: string;
  unit: string;
}

export interface PhpFpmFact {
  installs: FpmInstall[];
  /** The newest install, which lanes manages unless a play names a version. */
  primary?: FpmInstall;
}

export const phpFpmFact: Fact<PhpFpmFact> = {
  name: 'php_fpm',
  command: [
    'for b in /usr/sbin/php-fpm* /usr/sbin/php*-fpm; do',
    '  [ -x "$b" ] || continue',
    // The version from the package that installed the binary (no PHP start-up per binary); `-v`
    // only for a binary no package database knows.
    OWNER_VERSION_COMMAND,
    '  case $v in [0-9]*.[0-9]*.[0-9]*|[0-9]*:[0-9]*.[0-9]*.[0-9]*) printf "pkgbin %s %s\\n" "$b" "$v" ;;',
    '    *) printf "bin %s %s\\n" "$b" "$("$b" -v 2>/dev/null | head -n 1)" ;; esac',
    'done',
    'for d in /etc/php/*/fpm/pool.d /etc/php-fpm.d; do [ -d "$d" ] && printf "pooldir %s\\n" "$d"; done',
    'for f in /etc/php/*/fpm/php-fpm.conf /etc/php-fpm.conf; do [ -f "$f" ] && printf "conf %s\\n" "$f"; done',
    unitFilesCommand('php*fpm*.service'),
  ].join('\n'),
  parse(output) {
    const lines = keyLines(output);
    const pick = (key: string) => lines.filter(([k]) => k === key).map(([, v]) => v);
    const poolDirs = pick('pooldir');
    const confs = pick('conf');
    const units = pick('unit');
    const seen = new Set<string>();
    const installs: FpmInstall[] = [];
    // `bin PATH <php -v's first line>` or `pkgbin PATH <package version>`, in the shell's glob order.
    const bins = lines.filter(([k]) => k === 'bin' || k === 'pkgbin');
    for (const [kind, line] of bins) {
      const [binary = '', ...rest] = line.split(' ');
      const m = kind === 'bin' ? /PHP (\d+)\.(\d+)\.(\S+)/.exec(rest.join(' ')) : /^(\d+)\.(\d+)\.(\S+)/.exec(upstreamVersion(rest.join(' ')));
      if (!m) continue;
      const version = `${m[1]}.${m[2]}`;
      if (seen.has(version)) continue; // php-fpm and php-fpm8.2 can be the same program (alternatives)
      seen.add(version);
      const debianDir = `/etc/php/${version}/fpm`;
      const debian = poolDirs.includes(`${debianDir}/pool.d`);
      installs.push({
        version,
        fullVersion: `${m[1]}.${m[2]}.${m[3]!.replace(/[^0-9].*$/, '')}`,
        binary,
        confFile: debian ? `${debianDir}/php-fpm.conf` : (confs.find((c) => c === '/etc/php-fpm.conf') ?? '/etc/php-fpm.conf'),
        poolDir: debian ? `${debianDir}/pool.d` : (poolDirs.find((d) => d === '/etc/php-fpm.d') ?? '/etc/php-fpm.d'),
        unit: units.find((u) => u === `php${version}-fpm.service`) ?? units.find((u) => u === 'php-fpm.service') ?? `php${version}-fpm.service`,
      });
    }
    installs.sort((a, b) => compareVersions(b.version, a.version));
    return { installs, primary: installs[0] };
  },
};

function compareVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}
