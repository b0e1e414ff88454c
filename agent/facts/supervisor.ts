/** Supervisor: installed or not, its version, and the directory it includes program files from. */
import { keyLines, type Fact } from './fact.js';

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
    'if command -v supervisord >/dev/null 2>&1; then',
    '  printf "version %s\\n" "$(supervisord --version 2>/dev/null)"',
    '  for c in /etc/supervisor/supervisord.conf /etc/supervisord.conf; do',
    '    [ -f "$c" ] && sed -n "/^\\[include\\]/,/^\\[/{s/^files *= *\\(.*\\)$/files \\1/p}" "$c"',
    '  done',
    '  systemctl list-unit-files --no-legend --no-pager "supervisor*.service" 2>/dev/null | awk \'{ print "unit " $1 }\'',
    'fi',
  ].join('\n'),
  parse(output) {
    const kv = keyLines(output);
    const version = kv.find(([k]) => k === 'version')?.[1];
    if (!version) return { installed: false };
    const files = kv.find(([k]) => k === 'files')?.[1]?.split(/\s+/)[0];
    // `files = /etc/supervisor/conf.d/*.conf` (Debian) or `supervisord.d/*.ini` relative to /etc (RHEL).
    const abs = files ? (files.startsWith('/') ? files : `/etc/${files}`) : undefined;
    const m = abs ? /^(.*)\/\*(\.\w+)$/.exec(abs) : null;
    return {
      installed: true,
      version,
      includeDir: m?.[1],
      includeExt: m?.[2],
      unit: kv.find(([k]) => k === 'unit')?.[1],
    };
  },
};
