/**
 * Shell snippets shared by the host facts that read the filesystem and the package database instead
 * of starting a program (a Python or PHP start-up costs far more host CPU than a lookup).
 */

/**
 * systemd's system unit search path (systemd.unit(5)), in its order: `systemctl list-unit-files`
 * lists the unit files found in these directories, so globbing them gives the same names without
 * a systemctl call (or a D-Bus round trip).
 */
const UNIT_DIRS = [
  '/etc/systemd/system.control',
  '/run/systemd/system.control',
  '/run/systemd/transient',
  '/run/systemd/generator.early',
  '/etc/systemd/system',
  '/etc/systemd/system.attached',
  '/run/systemd/system',
  '/run/systemd/system.attached',
  '/run/systemd/generator',
  '/usr/local/lib/systemd/system',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
  '/run/systemd/generator.late',
];

/**
 * `unit NAME` for every unit file whose name matches `pattern` (a shell glob of constant text), only
 * where systemctl exists (as list-unit-files did). A name can repeat (merged /usr): parsers dedupe.
 */
export function unitFilesCommand(pattern: string, dirs: readonly string[] = UNIT_DIRS): string {
  return [
    'if command -v systemctl >/dev/null 2>&1; then',
    `  for u in ${dirs.map((d) => `${d}/${pattern}`).join(' ')}; do`,
    '    [ -e "$u" ] || [ -L "$u" ] || continue',
    '    printf "unit %s\\n" "${u##*/}"',
    '  done',
    'fi',
  ].join('\n');
}

/**
 * Sets `v` to the version of the installed package that owns the file at "$b" (dpkg: the full
 * Debian version, e.g. `2:8.2.28-1~deb12u1`; rpm: `%{VERSION}`), or to empty when no package
 * database knows the file (then the caller asks the program itself).
 */
export const OWNER_VERSION_COMMAND = [
  'v=',
  'if command -v dpkg-query >/dev/null 2>&1; then',
  // `dpkg-query -S` prints `package: path` (diversions print other lines: then no version).
  '  o=$(dpkg-query -S "$b" 2>/dev/null)',
  '  case $o in',
  '    *"',
  '"*) ;;',
  '    *": $b") p=${o%%: *}; case $p in *[!A-Za-z0-9.+:-]*|"") ;; *) v=$(dpkg-query -W -f=\'${Version}\' "$p" 2>/dev/null) ;; esac ;;',
  '  esac',
  'elif command -v rpm >/dev/null 2>&1; then',
  // An unowned file prints "file … is not owned by any package" and exits 1.
  '  v=$(rpm -qf --qf \'%{VERSION}\\n\' "$b" 2>/dev/null) || v=',
  'fi',
  // Two owners print two versions: no single answer, so the program is asked.
  'case $v in *"',
  '"*) v= ;; esac',
].join('\n');

/** The upstream part of a package version: without the Debian epoch (`2:`) and revision (`-1~deb12u1`). */
export function upstreamVersion(packageVersion: string): string {
  return packageVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}
