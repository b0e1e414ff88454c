/**
 * File probes: lstat + content of a path (or of every match of a glob), base64-framed so nothing in a
 * path or a file can break the framing. All file probes of a host are one fact.
 */
import { createHash } from 'node:crypto';
import type { FileState } from '../resources/types.js';
import { shq } from '../transport/quote.js';
import { perProbeFact, type ProbeKind } from './probe-kind.js';

/** Files larger than this are compared by checksum only. */
export const MAX_CONTENT_BYTES = 512 * 1024;

/** A path pattern for the shell: `*` expands, everything else is quoted literally. */
export function globWord(pattern: string): string {
  return pattern
    .split('*')
    .map((part) => (part === '' ? '' : shq(part)))
    .join('*');
}

/**
 * One `F` line per matching path. The content is read through ONE descriptor whose object must be the
 * one lstat sees as a regular file (same device and inode): in a directory another user can write, the
 * file may be swapped for a symbolic link between the type check and the read, and root would then
 * read (and a plan would print) whatever the link points to. A file swapped for a link reads as
 * that link (which the plan replaces by the file, never following it).
 *
 * The descriptor is opened first, then ONE stat reports both the path (lstat, line 1) and the object
 * the descriptor holds (operand `-`, fstat of stdin, line 2): two processes per regular file, not three.
 * Device:inode of both must match and lstat must see a regular file (raw mode `%f` 8xxx).
 * Whatever was at the path when the descriptor was opened, only a regular file that is the very object
 * lstat then finds at the path is read. A stat without `-` (old coreutils) is asked twice instead.
 */
const ATTRS = '"%a %U %G %s %d:%i %f"';

function fileCommand(path: string): string {
  return [
    `for f in ${globWord(path)}; do`,
    '  [ -e "$f" ] || [ -L "$f" ] || continue',
    // A literal path's base64 is known here: one fork less per file (reads of many files add up).
    path.includes('*') ? '  p=$(printf %s "$f" | base64 -w0)' : `  p=${Buffer.from(path, 'utf8').toString('base64')}`,
    '  if [ -L "$f" ]; then t=symlink; elif [ -d "$f" ]; then t=directory; elif [ -f "$f" ]; then t=file; else t=other; fi',
    // Every variable set: the apply script's verify re-read runs this under `set -u`.
    '  sum=-; body=-; target=-; a=; ok=',
    '  if [ $t = file ]; then',
    // A brace group, not `exec`: a failed redirection of `exec` would end the shell.
    `    { a=$(stat -c ${ATTRS} -- "$f" - <&3 2>/dev/null) || a=$(stat -c ${ATTRS} -- "$f" && stat -L -c ${ATTRS} /dev/fd/3)`,
    '      set -- $a',
    // Same object (device:inode), and lstat sees a regular file (raw mode 8xxx): never a directory swapped in.
    '      [ -n "${11:-}" ] && [ "${11}" = "$5" ] && case $6 in 8???) true ;; *) false ;; esac && ok=1 &&',
    // A small file's checksum is computed by the controller from its content (one read, fewer forks).
    `      if [ "$4" -le ${MAX_CONTENT_BYTES} ]; then body=$(base64 -w0 <&3); [ -n "$body" ] || body=.`,
    '      else sum=$(sha256sum <&3 | cut -d" " -f1); fi; } 3< "$f"',
    '    if [ -z "$ok" ]; then sum=-; body=-; if [ -L "$f" ]; then t=symlink; else t=other; fi; fi',
    '  fi',
    // Not a regular file, or the descriptor could not be opened: the path alone (gone by now: absent).
    '  if [ -z "$ok" ] || [ $t != file ]; then case $a in ?*) ;; *) a=$(stat -c ' + ATTRS + ' -- "$f") || continue ;; esac; set -- $a; fi',
    '  [ $t = symlink ] && target=$(readlink -- "$f" | base64 -w0)',
    '  printf "F %s %s %s %s %s %s %s %s %s\\n" "$p" $t "$1" "$2" "$3" "$4" "$sum" "$target" "$body"',
    'done',
  ].join('\n');
}

/** sha256 (hex) of the bytes a base64 text carries. */
function sha256(base64: string): string {
  return createHash('sha256').update(Buffer.from(base64, 'base64')).digest('hex');
}

function b64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}

export function parseFiles(out: string): FileState[] {
  const files: FileState[] = [];
  for (const line of out.split('\n')) {
    const parts = line.split(' ');
    if (parts[0] !== 'F' || parts.length < 10) continue;
    const [, p, type, mode, owner, group, size, sum, target, body] = parts as string[];
    files.push({
      path: b64(p!),
      type: type as FileState['type'],
      mode: mode!.padStart(4, '0'),
      owner: owner!,
      group: group!,
      size: Number(size),
      ...(sum !== '-' ? { sha256: sum } : body !== undefined && body !== '-' ? { sha256: sha256(body === '.' ? '' : body) } : {}),
      ...(body !== '-' ? { content: body === '.' ? '' : b64(body!) } : {}),
      // readlink ends its output with one newline that is not part of the target.
      ...(target !== '-' ? { target: b64(target!).replace(/\n$/, '') } : {}),
    });
  }
  return files;
}

/** Readings: `file:<probed path or glob>` → every file it matched (none: an empty list). */
export const fileProbes: ProbeKind<'file', FileState[]> = {
  kind: 'file',
  key: (p) => `file:${p.path}`,
  fact: (probes) =>
    perProbeFact(
      'files',
      probes,
      (p) => fileProbes.key(p),
      (p) => fileCommand(p.path),
      (out) => parseFiles(out),
    ),
  assemble(readings, state) {
    for (const files of Object.values(readings)) for (const f of files) state.files.set(f.path, f);
  },
};
