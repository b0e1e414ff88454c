/** Build ActualState values for resource plan tests: Debian (the lab) and RHEL-family host facts. */
import type { HostFacts } from '../../agent/facts/gather.js';
import type { FpmInstall } from '../../agent/facts/php-fpm.js';
import type { ActualState, FileState } from '../../agent/resources/types.js';

const debianFpm: FpmInstall = {
  version: '8.2',
  fullVersion: '8.2.32',
  binary: '/usr/sbin/php-fpm8.2',
  confFile: '/etc/php/8.2/fpm/php-fpm.conf',
  poolDir: '/etc/php/8.2/fpm/pool.d',
  unit: 'php8.2-fpm.service',
};

const rhelFpm: FpmInstall = {
  version: '8.2',
  fullVersion: '8.2.13',
  binary: '/usr/sbin/php-fpm',
  confFile: '/etc/php-fpm.conf',
  poolDir: '/etc/php-fpm.d',
  unit: 'php-fpm.service',
};

export const debianFacts: HostFacts = {
  os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)', family: 'debian', kernel: 'Linux 6.1.0', arch: 'x86_64' },
  hardware: { cpus: 2, memoryMiB: 4096 },
  php_fpm: { installs: [debianFpm], primary: debianFpm },
  supervisor: { installed: true, version: '4.2.5', includeDir: '/etc/supervisor/conf.d', includeExt: '.conf', unit: 'supervisor.service' },
  systemd: { pid1: true, version: 252, state: 'running' },
  package_manager: { manager: 'apt' },
};

export const rhelFacts: HostFacts = {
  os: { id: 'rocky', versionId: '9.4', prettyName: 'Rocky Linux 9.4 (Blue Onyx)', family: 'redhat', kernel: 'Linux 5.14.0', arch: 'x86_64' },
  hardware: { cpus: 4, memoryMiB: 8192 },
  php_fpm: { installs: [rhelFpm], primary: rhelFpm },
  supervisor: { installed: true, version: '4.2.2', includeDir: '/etc/supervisord.d', includeExt: '.ini', unit: 'supervisord.service' },
  systemd: { pid1: true, version: 252, state: 'running' },
  package_manager: { manager: 'dnf' },
};

export function actualState(facts: HostFacts = debianFacts, parts: Partial<Omit<ActualState, 'facts'>> = {}): ActualState {
  return {
    facts,
    files: parts.files ?? new Map(),
    users: parts.users ?? new Map(),
    groups: parts.groups ?? new Map(),
    packages: parts.packages ?? new Map(),
    units: parts.units ?? new Map(),
    supervisor: parts.supervisor ?? new Map(),
    readings: parts.readings ?? {},
  };
}

/** A regular file as the probe would report it. */
export function fileState(path: string, content: string, attrs: Partial<FileState> = {}): FileState {
  return { path, type: 'file', mode: '0644', owner: 'root', group: 'root', size: Buffer.byteLength(content), content, ...attrs };
}

export function files(...states: FileState[]): Map<string, FileState> {
  return new Map(states.map((s) => [s.path, s]));
}
