/**
 * The independent floor of `npm run bench`: what reading the state playbooks/site.yml manages costs
 * with the fewest processes, written by hand here — NOT generated from lanes' probes or facts, so a
 * costly read script in lanes cannot hide in the floor. One OpenSSH exec per host (run in parallel by
 * the bench), under the same become as lanes (`sudo -n` to root), that runs:
 *
 *   ONE stat     of every path the playbook manages (and the staging globs lanes checks), modes, owners, link targets
 *   ONE tail     printing every managed regular file whole (`tail -n +1` heads each file with its name)
 *   ONE getent   for the users, ONE for the groups
 *   ONE systemctl show -p … for all units with the properties lanes compares
 *   ONE supervisorctl status
 *   ONE dpkg-query for the versions lanes' facts report (php-fpm, supervisor, nginx), and os-release by `cat`
 *
 * The issue that asked for this floor named `supervisorctl status` as the cheapest way to read
 * Supervisor. It is not: it is a Python start-up importing Supervisor (~0.3 s of host CPU, two thirds
 * of the whole floor), and lanes asks supervisord's XML-RPC socket directly instead (~0.03 s). So the
 * bench also runs the floor with that one line replaced by a hand-written raw XML-RPC request
 * (`floorScript('xmlrpc')`), and prints lanes against both: the cheaper floor is the honest one.
 *
 * `uncoveredProbes` checks that the list still covers what lanes' plan reads (a unit test and the
 * bench's start both run it), so the floor cannot silently drift from the playbook.
 */
import type { Probe } from '../agent/resources/types.js';
import { shq } from '../agent/transport/quote.js';

/** Directories and links the playbook manages (stat only). */
const MANAGED_DIRS_AND_LINKS = [
  '/var/www/app',
  '/var/www/app/releases',
  '/var/www/app/releases/bootstrap',
  '/var/www/app/releases/bootstrap/public',
  '/var/www/app/shared',
  '/var/www/app/shared/',
  '/var/www/app/shared/storage',
  '/var/www/app/current',
  '/var/lib/php/sessions/web_public',
  '/var/lib/php/sessions/web_session',
  '/var/lib/php/sessions/api',
  '/var/log/php-fpm',
  '/etc/nginx/sites-enabled/lanes-lab',
  // The pools' listen sockets (lanes checks nothing else stands there).
  '/run/php/php-fpm-web_public.sock',
  '/run/php/php-fpm-web_session.sock',
  '/run/php/php-fpm-api.sock',
];

/** Regular files the playbook manages: stat and read whole. Debian and RHEL layouts both (lanes reads both before it knows which). */
const MANAGED_FILES = [
  '/etc/nginx/sites-enabled/app.conf',
  '/var/www/app/releases/bootstrap/public/index.php',
  '/var/www/app/releases/bootstrap/worker.php',
  '/var/www/app/releases/bootstrap/scheduler.php',
  '/etc/php/*/fpm/php-fpm.conf',
  '/etc/php/*/fpm/pool.d/web_public.conf',
  '/etc/php/*/fpm/pool.d/web_session.conf',
  '/etc/php/*/fpm/pool.d/api.conf',
  '/etc/php/*/fpm/pool.d/www.conf',
  '/etc/php-fpm.conf',
  '/etc/php-fpm.d/web_public.conf',
  '/etc/php-fpm.d/web_session.conf',
  '/etc/php-fpm.d/api.conf',
  '/etc/php-fpm.d/www.conf',
  '/etc/supervisor/conf.d/app-queue.conf',
  '/etc/supervisord.d/app-queue.ini',
  '/etc/systemd/system/app-scheduler.service',
  '/etc/systemd/system/workers.slice',
];

/** Directories whose leftovers of an interrupted apply (`*.lanes-*`, `.*.lanes-*`) lanes looks for. */
const STAGING_DIRS = [
  '/etc',
  '/etc/nginx/sites-enabled',
  '/etc/php-fpm.d',
  '/etc/supervisor/conf.d',
  '/etc/supervisord.d',
  '/etc/systemd/system',
  '/run/php',
  '/var/lib/php/sessions',
  '/var/log',
  '/var/www',
  '/var/www/app',
  '/var/www/app/releases',
  '/var/www/app/releases/bootstrap',
  '/var/www/app/releases/bootstrap/public',
  '/var/www/app/shared',
];

export const FLOOR_USERS = ['deploy', 'queueuser'];
export const FLOOR_GROUPS = ['app', 'deploy', 'queueuser'];
export const FLOOR_UNITS = ['app-scheduler.service', 'nginx.service', 'php8.2-fpm.service', 'supervisor.service', 'workers.slice'];
/** The properties lanes compares, for all units in one `systemctl show`. */
const FLOOR_UNIT_PROPS = [
  'Id', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'FragmentPath', 'NeedDaemonReload', 'Slice', 'ControlGroup',
  'DropInPaths', 'CPUQuotaPerSecUSec', 'CPUWeight', 'MemoryMax', 'MemoryHigh', 'IOWeight', 'TasksMax',
];
const FLOOR_PACKAGES = ['php8.2-fpm', 'supervisor', 'nginx'];

const stagingGlobs = STAGING_DIRS.flatMap((d) => [`${d}/*.lanes-*`, `${d}/.*.lanes-*`]);

/** Every file-probe path the floor reads (literal paths and globs, as lanes' probes name them). */
export const FLOOR_PATHS: readonly string[] = [...MANAGED_DIRS_AND_LINKS, ...MANAGED_FILES, ...stagingGlobs];

/** A path for sh: `*` expands, the rest is quoted. */
function word(p: string): string {
  return p.split('*').map((part) => (part === '' ? '' : shq(part))).join('*');
}

/**
 * The hand-written XML-RPC floor for Supervisor: one python3 without site packages sends
 * getAllProcessInfo to the lab's socket and prints the raw HTTP answer (no parsing at all).
 */
const SUPERVISOR_XMLRPC =
  'python3 -I -S -c \'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect("/var/run/supervisor.sock"); ' +
  'b = b"<?xml version=\\"1.0\\"?><methodCall><methodName>supervisor.getAllProcessInfo</methodName></methodCall>"; ' +
  's.sendall(b"POST /RPC2 HTTP/1.0\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(b) + b); ' +
  '[sys.stdout.buffer.write(d) for d in iter(lambda: s.recv(65536), b"")]\'';

export type FloorSupervisor = 'supervisorctl' | 'xmlrpc';

/** The floor's script: six processes (stat, tail, 2× getent, systemctl, supervisorctl or python3, dpkg-query) and one cat. */
export function floorScript(supervisor: FloorSupervisor = 'supervisorctl'): string {
  return [
    'exec 2>/dev/null',
    `stat -c '%n|%F|%a|%U|%G|%s|%N' -- ${FLOOR_PATHS.map(word).join(' ')}`,
    `tail -n +1 -- ${MANAGED_FILES.map(word).join(' ')}`,
    `getent passwd ${FLOOR_USERS.map(shq).join(' ')}`,
    `getent group ${FLOOR_GROUPS.map(shq).join(' ')}`,
    `systemctl show --no-pager -p ${shq(FLOOR_UNIT_PROPS.join(','))} -- ${FLOOR_UNITS.map(shq).join(' ')}`,
    supervisor === 'xmlrpc' ? SUPERVISOR_XMLRPC : 'supervisorctl status',
    `dpkg-query -W -f='\${Package} \${db:Status-Abbrev} \${Version}\\n' ${FLOOR_PACKAGES.map(shq).join(' ')}`,
    'cat /etc/os-release',
    'exit 0',
  ].join('\n');
}

/** The remote command: the floor script under `sudo -n` to root, as lanes becomes on the lab. */
export function floorCommand(supervisor: FloorSupervisor = 'supervisorctl'): string {
  return `sudo -n /bin/sh -c ${shq(floorScript(supervisor))}`;
}

/** What lanes' plan reads that the floor does not: empty when the hand-written list still covers it. */
export function uncoveredProbes(probes: readonly Probe[]): string[] {
  const paths = new Set(FLOOR_PATHS);
  const missing: string[] = [];
  for (const p of probes) {
    if (p.kind === 'file' && !paths.has(p.path)) missing.push(`file ${p.path}`);
    if (p.kind === 'user' && !FLOOR_USERS.includes(p.name)) missing.push(`user ${p.name}`);
    if (p.kind === 'group' && !FLOOR_GROUPS.includes(p.name)) missing.push(`group ${p.name}`);
    if (p.kind === 'package' && !FLOOR_PACKAGES.includes(p.name)) missing.push(`package ${p.name}`);
    if (p.kind === 'unit') {
      if (!FLOOR_UNITS.includes(p.name)) missing.push(`unit ${p.name}`);
      for (const prop of p.properties ?? []) if (!FLOOR_UNIT_PROPS.includes(prop)) missing.push(`unit property ${p.name} ${prop}`);
    }
  }
  return [...new Set(missing)];
}
