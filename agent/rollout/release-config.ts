/**
 * `release.config` (issue 9): configuration files rendered per host at compile time (a `.env` from a
 * template with inventory and vault values) and written into `releases/<id>/` right after the
 * artifact is unpacked, before anything else runs in the release. Their content is part of the
 * release id, so a rollback returns code and configuration together.
 *
 *   releaseIdWithConfig   the fleet's release id: the artifact's own id when no host has config
 *                         (existing ids never change), else a digest over the artifact and every
 *                         host's files
 *   writeConfigScript     the framed script writing one host's files; contents travel base64 inside
 *                         the script, which goes on the exec's stdin (never in an argument, so never
 *                         in `ps`), and reach the writer through a pipe from a shell builtin
 *   writeReleaseConfig    runs it over a host's connection; one sentence on failure, never content
 *   configLines           what `--dry-run` shows of them: dest, mode, size or "(sensitive)"
 */
import { createHash } from 'node:crypto';
import { LanesError } from '../errors.js';
import { parseFrames } from '../remote/frame.js';
import { ATTRS_SHELL, STDIN_SCRIPT_COMMAND, framedScript, type FramedScript } from '../remote/sh.js';
import { secrets } from '../report/mask.js';
import { shq } from '../transport/quote.js';
import { releaseDir, type ReleaseConfigFile, type ReleaseSpec } from './types.js';

/** Written last into a release whose configuration is complete: a release that has it is never rewritten. */
export const CONFIG_MARKER = '.lanes-config';

function bytesOf(content: Buffer | string): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The digest of every host's configuration (hosts and files sorted), or undefined when no host has any. */
export function configDigest(artifactSha256: string, specs: ReadonlyMap<string, Pick<ReleaseSpec, 'config'>>): string | undefined {
  const hosts = [...specs.entries()].filter(([, s]) => (s.config?.length ?? 0) > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (hosts.length === 0) return undefined;
  const lines = ['lanes release config 1', `artifact ${artifactSha256}`];
  for (const [host, spec] of hosts) {
    lines.push(`host ${JSON.stringify(host)}`);
    const files = [...(spec.config ?? [])].sort((a, b) => (a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0));
    for (const f of files) lines.push(`file ${JSON.stringify(f.dest)} ${f.mode} ${sha256(bytesOf(f.content))}`);
  }
  return sha256(`${lines.join('\n')}\n`);
}

/**
 * The release id of an artifact shipped with these hosts' configurations: `artifact.id` when no host
 * has a `release.config` (so every existing release id stays what it was), otherwise `r` + 12 hex
 * digits of a digest over the artifact's sha256 and each host's files (dest, mode, content) sorted by
 * host — one id for the fleet, which changes when any host's configuration changes.
 */
export function releaseIdWithConfig(artifact: { id: string; sha256: string }, specs: ReadonlyMap<string, Pick<ReleaseSpec, 'config'>>): string {
  const digest = configDigest(artifact.sha256, specs);
  return digest === undefined ? artifact.id : `r${digest.slice(0, 12)}`;
}

/**
 * Writes one file below the current directory without following a symbolic link anywhere: each
 * parent is lstat'ed, entered, and proved to be the directory lstat saw (a link swapped in between
 * is caught); missing parents are created 0700 and only then given root:GROUP 0755; the content goes
 * to a new file (O_EXCL|O_NOFOLLOW, 0600) beside the destination, gets root:GROUP and its mode
 * through the descriptor, and is renamed over the destination — rename(2) replaces a link planted
 * there instead of following it, and a destination that already is a link or a directory is refused.
 * Arguments: GID MODE SIZE RELEASE_DIR DEST; the content on stdin (its size is checked).
 */
const PUT_PERL = `use strict; use Fcntl;
my ($gid, $mode, $size, $rel, $dest) = @ARGV;
my @parts = split m{/}, $dest; my $name = pop @parts;
binmode STDIN; my $data = do { local $/; <STDIN> }; $data = '' unless defined $data;
die "the content of $dest arrived incomplete\\n" unless length($data) == $size;
my @l = lstat $rel or die "cannot read $rel: $!\\n";
die "$rel is not a directory\\n" if -l _ || ! -d _;
chdir $rel or die "cannot enter $rel: $!\\n";
my @s = stat "."; die "$rel was replaced while lanes wrote $dest\\n" unless $s[0] == $l[0] && $s[1] == $l[1];
my $at = "";
for my $p (@parts) {
  $at = $at eq "" ? $p : "$at/$p";
  my $made = 0;
  my @d = lstat $p;
  unless (@d) { mkdir $p, 0700 or die "cannot create $at in the release: $!\\n"; $made = 1; @d = lstat $p or die "cannot read $at: $!\\n"; }
  die "$at is a symbolic link in the release: lanes does not write $dest through it\\n" if -l _;
  die "$at is not a directory in the release: cannot write $dest below it\\n" unless -d _;
  chdir $p or die "cannot enter $at: $!\\n";
  my @c = stat "."; die "$at was replaced while lanes wrote $dest\\n" unless $c[0] == $d[0] && $c[1] == $d[1];
  if ($made) { chown(0, $gid, ".") && chmod(0755, ".") or die "cannot set the owner and mode of $at: $!\\n"; }
}
if (lstat $name) {
  die "$dest is a symbolic link in the release: refused (lanes does not write through a link)\\n" if -l _;
  die "$dest is a directory in the release: refused\\n" if -d _;
}
my $tmp = ".$name.lanes-$$";
sysopen(my $fh, $tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600) or die "cannot create a file beside $dest: $!\\n";
binmode $fh;
unless ((print {$fh} $data) && chown(0, $gid, $fh) && chmod(oct($mode), $fh) && close($fh)) { my $e = "$!"; unlink $tmp; die "cannot write $dest: $e\\n"; }
rename($tmp, $name) or do { my $e = "$!"; unlink $tmp; die "cannot put $dest in place: $e\\n"; };
`;

/** sh: `lanes_config_put GID MODE SIZE RELEASE_DIR DEST` (content on stdin); perl, or a check-then-act fallback. */
const PUT_SHELL = `
lanes_config_put() {
  if command -v perl >/dev/null 2>&1; then
    perl -e ${shq(PUT_PERL)} "$@"
    return
  fi
  # No perl: links are still refused, with a check-then-act window only a release owned by
  # someone other than root has.
  _d=$4; _r=$5; _at=
  while :; do
    case $_r in
      */*)
        _p=\${_r%%/*}; _r=\${_r#*/}; _d=$_d/$_p; _at=\${_at:+$_at/}$_p
        if [ -L "$_d" ]; then echo "$_at is a symbolic link in the release: lanes does not write $5 through it" >&2; return 1; fi
        if [ ! -e "$_d" ]; then mkdir -m 0755 "$_d" && chown -h "0:$1" "$_d" || return 1
        elif [ ! -d "$_d" ]; then echo "$_at is not a directory in the release: cannot write $5 below it" >&2; return 1; fi ;;
      *) break ;;
    esac
  done
  if [ -L "$_d/$_r" ]; then echo "$5 is a symbolic link in the release: refused (lanes does not write through a link)" >&2; return 1; fi
  if [ -d "$_d/$_r" ]; then echo "$5 is a directory in the release: refused" >&2; return 1; fi
  _t=$(mktemp "$_d/.lanes-config.XXXXXX") || return 1
  cat >"$_t" && [ "$(wc -c <"$_t" | tr -d ' ')" = "$3" ] && lanes_attrs 0 "$1" "$2" "$_t" && mv -f "$_t" "$_d/$_r" || { rm -f "$_t"; echo "cannot write $5" >&2; return 1; }
}
`;

/**
 * The script (as root) writing a host's `release.config` files into `releases/<id>/`: frames
 * `config exists` when the release already has its complete configuration (nothing is rewritten:
 * same id, same content), else `written <b64 dest>` per file and `config done` after the marker.
 * A failure is one sentence on stderr (paths only), exit 1.
 */
export function writeConfigScript(spec: Pick<ReleaseSpec, 'path' | 'group' | 'config'>, id: string): FramedScript {
  const rel = releaseDir(spec, id);
  const files = spec.config ?? [];
  const put = (dest: string, mode: string, data: Buffer, label: string) => [
    // printf is a shell builtin: the base64 goes through a pipe, never through an argument.
    `printf '%s' ${shq(data.length === 0 ? '' : data.toString('base64'))} | base64 -d | lanes_config_put "$gid" ${shq(mode)} ${data.length} "$rel" ${shq(dest)} || exit 1`,
    `lanes_say written ${shq(label)}`,
  ];
  const digest = configDigest('-', new Map([['host', { config: files }]])) ?? '-';
  return framedScript(
    [
      `rel=${shq(rel)}`,
      `if [ -L "$rel" ] || [ ! -d "$rel" ]; then echo ${shq(`release directory ${rel} does not exist`)} >&2; exit 1; fi`,
      `if [ -f "$rel"/${CONFIG_MARKER} ] && [ ! -L "$rel"/${CONFIG_MARKER} ]; then lanes_say config exists; exit 0; fi`,
      `gid=$(lanes_gid ${shq(spec.group)}) || { echo ${shq(`group ${spec.group} does not exist`)} >&2; exit 1; }`,
      ...files.flatMap((f) => put(f.dest, f.mode, bytesOf(f.content), Buffer.from(f.dest).toString('base64'))),
      ...put(CONFIG_MARKER, '0644', Buffer.from(`config=${digest}\n`), 'marker'),
      'lanes_say config done',
    ],
    { doneKind: 'config', tmpName: 'config', extra: [ATTRS_SHELL, PUT_SHELL] },
  );
}

export type ConfigOutcome = 'none' | 'exists' | 'written';

/**
 * Write a host's configuration into `releases/<id>` (after the unpack). The script goes on stdin:
 * `STDIN_SCRIPT_COMMAND` is the only argument the host ever sees.
 */
export async function writeReleaseConfig(
  exec: (command: string, stdin: Buffer) => Promise<{ code: number | null; stdout: string; stderr: string }>,
  spec: Pick<ReleaseSpec, 'path' | 'group' | 'config'>,
  id: string,
  host: string,
): Promise<ConfigOutcome> {
  if ((spec.config?.length ?? 0) === 0) return 'none';
  const script = writeConfigScript(spec, id);
  const r = await exec(STDIN_SCRIPT_COMMAND, Buffer.from(script.text, 'utf8'));
  const frames = parseFrames(r.stdout, script.nonce);
  if (r.code === 0 && frames.some((f) => f.kind === 'config' && f.fields[0] === 'exists')) return 'exists';
  if (r.code === 0 && frames.some((f) => f.kind === 'config' && f.fields[0] === 'done')) return 'written';
  const why = secrets.mask(
    r.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('@@'))
      .slice(-1)[0] ?? `exit ${r.code ?? 'unknown'}`,
  );
  throw new LanesError(`writing the configuration files of release ${id} failed: ${why}`, { kind: 'exec', host });
}

/** `--dry-run`: one line per file — dest, mode, and its size or "(sensitive)"; never content. */
export function configLines(files: readonly ReleaseConfigFile[]): string[] {
  return files.map((f) => `${f.dest}  ${f.mode}  ${f.sensitive ? '(sensitive)' : `${bytesOf(f.content).length} bytes`}`);
}
