/** Supervisor: installed or not, its version, and the directory it includes program files from. */
import { keyLines, type Fact } from './fact.js';
import { OWNER_VERSION_COMMAND, unitFilesCommand, upstreamVersion } from './host-files.js';

export interface SupervisorFact {
  installed: boolean;
  version?: string;
  /** Where program files go: Debian `/etc/supervisor/conf.d/*.conf`, RHEL `/etc/supervisord.d/*.ini`. */
  includeDir?: string;
  includeExt?: string;
  unit?: string;
}

export const supervisorFact: Fact<SupervisorFact> = {
  name: 'supervisor',
  command: [
    'if b=$(command -v supervisord 2>/dev/null); then',
    // The version from the package that installed supervisord: `supervisord --version` is a Python
    // start-up (about 0.2 s of host CPU); asked only when no package database knows the file.
    OWNER_VERSION_COMMAND,
    '  if [ -n "$v" ]; then printf "pkgversion %s\\n" "$v"; else printf "version %s\\n" "$(supervisord --version 2>/dev/null)"; fi',
    '  for c in /etc/supervisor/supervisord.conf /etc/supervisord.conf; do',
    '    [ -f "$c" ] && sed -n "/^\\[include\\]/,/^\\[/{s/^files *= *\\(.*\\)$/files \\1/p}" "$c"',
    '  done',
    unitFilesCommand('supervisor*.service'),
    'fi',
  ].join('\n'),
  parse(output) {
    const kv = keyLines(output);
    const pkgVersion = kv.find(([k]) => k === 'pkgversion')?.[1];
    const version = pkgVersion ? upstreamVersion(pkgVersion) : kv.find(([k]) => k === 'version')?.[1];
    if (!version) return { installed: false };
    const files = kv.find(([k]) => k === 'files')?.[1]?.split(/\s+/)[0];
    // `files = /etc/supervisor/conf.d/*.conf` (Debian) or `supervisord.d/*.ini` relative to /etc (RHEL).
    const abs = files ? (files.startsWith('/') ? files : `/etc/${files}`) : undefined;
    const m = abs ? /^(.*)\/\*(\.\w+)$/.exec(abs) : null;
    // Unit names come from several directories: the first by name, as `systemctl list-unit-files` sorts.
    const units = kv.filter(([k]) => k === 'unit').map(([, v]) => v).sort();
    return {
      installed: true,
      version,
      includeDir: m?.[1],
      includeExt: m?.[2],
      unit: units[0],
    };
  },
};
