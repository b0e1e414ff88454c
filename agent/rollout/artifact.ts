/**
 * The release artifact: one .tar.gz whose sha256 names the release.
 *
 * A directory, or the tree of a git commit (`git:REF`, git-source.ts), is packed in-process and
 * deterministically (pack.ts: sorted names, mtime 0, owner 0:0, normalised modes, gzip header
 * without name or time), so the same content always gives the same bytes and thus the same release
 * id: re-releasing what is already live unpacks nothing (`exists`). A ready .tar.gz/.tgz is used as
 * is (listed in-process too: no `tar` runs on the controller).
 *
 * The remote side is a set of POSIX sh scripts, run as root, built here by pure functions; every
 * value in them goes through `shq`. Layout under `spec.path`:
 *
 *   releases/<id>/          one unpacked artifact, with a `.lanes-release` marker (id, sha256, date)
 *   releases/<id>.tmp-XXXX  work in progress (renamed into place when complete; pruned when stale)
 *   shared/<entry>          what `spec.shared` links every release to (seeded by the first release)
 *   current -> releases/<id> never touched here
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LanesError } from '../errors.js';
import { gitRefOf, readGitTree, type GitSource } from './git-source.js';
import { listTarGz, packEntries, readTree } from './pack.js';
import { b64, frameShell, newNonce, parseFrames, unb64 } from '../remote/frame.js';
import type { FramedScript } from '../remote/sh.js';
import { shq } from '../transport/quote.js';
import { releaseDir, type ReleaseSpec } from './types.js';
import { fetchShell, isArtifactUrl, parseArtifactUrl, type ArtifactUrl } from './artifact-fetch.js';

export interface Artifact {
  /** `r` + the first 12 hex characters of sha256: the release directory name. */
  id: string;
  /** sha256 of `bytes`, hex. */
  sha256: string;
  /** A .tar.gz of the release. */
  bytes: Buffer;
  /** Entries in the tarball that are not directories (regular files, symlinks). */
  files: number;
  /** Every path in the tarball, relative to the release root ("worker.php", "public", "public/index.php"). */
  entries: Set<string>;
  /** Where it came from: a directory or tarball (absolute path), or a git commit. */
  source: ArtifactSource;
  /** A short name for messages on the host: the file or directory name, or `git:REF`. */
  label: string;
}

/** An artifact the hosts download themselves (artifact-fetch.ts): the controller never has its bytes. */
export interface UrlArtifact {
  /** `r` + the first 12 hex characters of the given sha256. */
  id: string;
  sha256: string;
  fetch: ArtifactUrl;
  source: { kind: 'url'; url: string };
  /** The URL without credentials. */
  label: string;
}

/** What a release ships: uploaded from the controller, or fetched by the hosts. */
export type ReleaseArtifact = Artifact | UrlArtifact;

/** The marker file inside every complete release. */
export const RELEASE_MARKER = '.lanes-release';
/** Exit code of {@link unpackScript} when the upload does not match the expected sha256. */
export const EXIT_CHECKSUM_MISMATCH = 3;
/** Exit code of {@link unpackScript} when `releases/<id>` exists but is not a (matching) lanes release. */
export const EXIT_RELEASE_CONFLICT = 4;
/** Exit code of {@link unpackScript} when the artifact holds a link out of the release, a hard link or a device. */
export const EXIT_UNSAFE_ENTRY = 5;

/** Temporary release directories older than this (minutes) are removed by {@link pruneScript}. */
const STALE_TMP_MINUTES = 60;

/** Where an artifact came from: recorded in the run's events and report (and the host history). */
export type ArtifactSource = { kind: 'directory'; path: string } | { kind: 'tarball'; path: string } | GitSource | { kind: 'url'; url: string };

export interface ReadArtifactOptions {
  /** For `git:REF`: a directory of the repository (default: the current directory). */
  repo?: string;
  /** For a URL: the artifact's sha256 (required with a URL, refused without one). */
  sha256?: string;
  /** For a URL: the most a host downloads (default DEFAULT_ARTIFACT_MAX_BYTES). */
  maxBytes?: number;
}

/**
 * What `--artifact` names: an http(s) URL with its sha256 (checked here, fetched by the hosts:
 * artifact-fetch.ts), else what {@link readArtifact} reads.
 */
export async function resolveArtifact(given: string, opts: ReadArtifactOptions = {}): Promise<ReleaseArtifact> {
  if (isArtifactUrl(given)) {
    const fetch = parseArtifactUrl(given, opts.sha256, opts.maxBytes);
    return { id: releaseId(fetch.sha256), sha256: fetch.sha256, fetch, source: { kind: 'url', url: fetch.shown }, label: fetch.shown };
  }
  if (opts.sha256 !== undefined || opts.maxBytes !== undefined) {
    throw new LanesError(`--artifact-sha256 and --artifact-max-bytes go with an artifact URL, not with ${given}`, {
      hint: 'lanes release … --artifact https://host/app.tar.gz --artifact-sha256 HEX; a local artifact is checksummed by lanes itself',
    });
  }
  return readArtifact(given, opts);
}

/** Read (or pack) a release artifact: a directory, a .tar.gz/.tgz, or `git:REF`. */
export async function readArtifact(given: string, opts: ReadArtifactOptions = {}): Promise<Artifact> {
  const ref = gitRefOf(given);
  if (ref !== undefined) {
    const repo = path.resolve(opts.repo ?? '.');
    const st = await stat(repo).catch(() => undefined);
    if (!st?.isDirectory()) throw new LanesError(`release artifact ${given}: the repository directory ${repo} does not exist`, { hint: 'give --repo DIR' });
    const tree = await readGitTree(ref, repo);
    return finish(await packEntries(tree.entries), given, tree.source, given);
  }

  const full = path.resolve(given);
  let st;
  try {
    st = await stat(full);
  } catch {
    throw new LanesError(`release artifact ${given} does not exist`, {
      hint: 'give a directory holding the application, a .tar.gz of it, or git:REF',
    });
  }

  if (st.isDirectory()) {
    const entries = await readTree(full, given);
    if (entries.length === 0) {
      throw new LanesError(`release artifact ${given} is an empty directory`, { hint: 'point it at the application directory' });
    }
    return finish(await packEntries(entries), given, { kind: 'directory', path: full }, path.basename(full));
  }
  if (st.isFile() && /\.(tar\.gz|tgz)$/i.test(full)) {
    const bytes = await readFile(full);
    if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
      throw new LanesError(`release artifact ${given} is not a gzip file`, { hint: 'give a .tar.gz made with tar -czf' });
    }
    return finish(bytes, given, { kind: 'tarball', path: full }, path.basename(full));
  }
  throw new LanesError(`release artifact ${given} is neither a directory nor a .tar.gz/.tgz file`, {
    hint: 'give a directory holding the application, a .tar.gz of it, or git:REF',
  });
}

/** List the tarball in-process (which validates it) and name it by its sha256. */
async function finish(bytes: Buffer, given: string, source: ArtifactSource, label: string): Promise<Artifact> {
  const { files, entries } = await listTarGz(bytes, given);
  if (files === 0) {
    throw new LanesError(`release artifact ${given} contains no files`, { hint: 'an empty release cannot be served' });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { id: releaseId(sha256), sha256, bytes, files, entries, source, label };
}

/** The release id for an artifact's sha256. */
export function releaseId(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new LanesError(`not a sha256 digest: ${sha256}`, { kind: 'internal' });
  return `r${sha256.slice(0, 12)}`;
}

/** A `spec.shared` entry normalized ('storage/', './.env' → 'storage', '.env'); refuses escapes. */
export function sharedEntry(entry: string): string {
  const norm = path.posix.normalize(entry).replace(/\/+$/, '').replace(/^(\.\/)+/, '');
  if (entry.trim() === '' || norm === '' || norm === '.' || entry.startsWith('/') || norm === '..' || norm.startsWith('../')) {
    throw new LanesError(`shared path ${JSON.stringify(entry)} must be a relative path inside the release`, {
      hint: 'e.g. storage, .env, public/uploads',
    });
  }
  if (norm === RELEASE_MARKER) throw new LanesError(`shared path ${entry} is reserved by lanes`);
  return norm;
}

function checkPath(spec: Pick<ReleaseSpec, 'path'>): string {
  const p = spec.path.replace(/\/+$/, '');
  if (!p.startsWith('/') || p.split('/').includes('..')) {
    throw new LanesError(`release path ${JSON.stringify(spec.path)} must be an absolute path`, { hint: 'e.g. /var/www/app' });
  }
  return p;
}

function checkId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) || id.includes('.tmp-')) {
    throw new LanesError(`release id ${JSON.stringify(id)} is not a valid directory name`, { kind: 'internal' });
  }
  return id;
}

/** sh functions shared by the scripts below. */
const SHA_FN = `sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1"
  else openssl dgst -sha256 -r "$1"
  fi | cut -d' ' -f1
}`;
const MARKER_FIELD_FN = `marker_field() { sed -n "s/^$2=//p" "$1/${RELEASE_MARKER}" 2>/dev/null | head -n 1; }`;

/**
 * sh (in unpackScript, after extraction into the 0700 "$tmpd", before anything else touches it):
 * refuses the first entry that is a symbolic link resolving outside the release (absolute, or `..`
 * climbing out, directly or through other links), a hard link (a second name of a file: tar makes
 * them, and a later chown or chmod of one name would change the other), or a device, FIFO or socket.
 * The sentence names the artifact and the entry; exit EXIT_UNSAFE_ENTRY.
 */
function entryCheck(artifactName: string): string {
  return `rt=$(cd "$tmpd" && pwd -P) || fail 1 "cannot enter $tmpd"
bad=$(find "$tmpd" -mindepth 1 \\( -type l -o -type f -links +1 -o ! -type f ! -type d \\) -exec sh -c '
  rt=$1; shown=$2; shift 2
  for e do
    n=\${e#"$shown"/}
    if [ -L "$e" ]; then
      r=$(realpath -m -- "$e" 2>/dev/null) || r=
      case $r in "$rt"|"$rt"/*) continue ;; esac
      printf "entry %s is a symbolic link to %s, outside the release" "$n" "$(readlink -- "$e")"
    elif [ -f "$e" ]; then
      printf "entry %s is a hard link (another name of a file in the release)" "$n"
    else
      printf "entry %s is a device, FIFO or socket, not a file, directory or link" "$n"
    fi | tr "\\n\\r" "??"
    echo
    exit 0
  done' lanes-check "$rt" "$tmpd" {} + | head -n 1 | cut -c1-400)
[ -z "$bad" ] || fail ${EXIT_UNSAFE_ENTRY} ${shq(`release artifact ${artifactName}:`)} "$bad; refused"`;
}

export interface UnpackOptions {
  /** chown the release to spec.owner:spec.group (default true; needs root). */
  chown?: boolean;
  /**
   * The host downloads the artifact from this URL (artifact-fetch.ts) instead of reading it on
   * stdin; `fetchSeconds` limits the download. The script then carries the URL: run it with
   * STDIN_SCRIPT_COMMAND so it is in no command line.
   */
  fetch?: ArtifactUrl;
  fetchSeconds?: number;
}

/** Time limit of a download when the run has none (--timeout 0). */
const DEFAULT_FETCH_SECONDS = 600;

/**
 * Script (POSIX sh, as root, the tarball on stdin) that unpacks an artifact into `releases/<id>`.
 * Frames `exists <id>` when that release is already complete (stdin is drained and nothing
 * changes), otherwise `seeded <b64 entry>` for each shared entry moved from the release into an empty
 * shared/, `shared-missing <b64 entry>` for a link whose target does not exist yet, and finally
 * `unpacked <id>`. Exit 3: checksum mismatch; exit 4: `releases/<id>` is in the way (the reason, a
 * sentence, on stderr). With `opts.fetch` the host downloads the tarball instead (frame `fetched
 * <sha256> <bytes>` before the check; exits 6–8 of artifact-fetch.ts); a release already complete is
 * not downloaded again.
 */
export function unpackScript(spec: ReleaseSpec, artifact: { id: string; sha256: string; label?: string }, opts: UnpackOptions = {}): FramedScript {
  const base = checkPath(spec);
  const id = checkId(artifact.id);
  if (!/^[0-9a-f]{64}$/.test(artifact.sha256)) throw new LanesError(`not a sha256 digest: ${artifact.sha256}`, { kind: 'internal' });
  const shared = [...new Set(spec.shared.map(sharedEntry))];
  for (const a of shared) {
    const inside = shared.find((b) => b !== a && a.startsWith(`${b}/`));
    if (inside) {
      throw new LanesError(`shared paths ${inside} and ${a} overlap`, { hint: `${a} is already shared through ${inside}: list only ${inside}` });
    }
  }
  if (opts.fetch && opts.fetch.sha256 !== artifact.sha256) throw new LanesError('the artifact URL and the artifact disagree on the sha256', { kind: 'internal' });
  const chown = opts.chown ?? true;
  const owner = chown ? `${spec.owner}${spec.group ? `:${spec.group}` : ''}` : '';

  const links = shared.map((e) => {
    const dir = path.posix.dirname(e);
    const s = shq(`${base}/shared/${e}`);
    const r = `"$tmpd"/${shq(e)}`;
    // A symlink shipped in the release on the way to an entry would make rm/mv act outside it.
    const parents = e.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    return [
      ...parents.map((p) => `[ -L "$tmpd"/${shq(p)} ] && fail 1 ${shq(`${p} is a symlink in the release: cannot share ${e} below it`)}`),
      `mkdir -p ${shq(dir === '.' ? `${base}/shared` : `${base}/shared/${dir}`)}`,
      // The first release seeds shared/: what it ships moves there (already owned by owner:group).
      `if [ ! -e ${s} ] && [ ! -L ${s} ] && { [ -e ${r} ] || [ -L ${r} ]; }; then`,
      // -T: a link planted at the destination (shared/ may be group-writable) is not a directory to move into.
      `  mv -T ${r} ${s} || fail 1 ${shq(`cannot move ${e} into ${base}/shared`)}`,
      `  lanes_say seeded ${shq(b64(e))}`,
      'fi',
      `rm -rf ${r}`,
      dir === '.' ? '' : `mkdir -p "$tmpd"/${shq(dir)}`,
      `ln -s ${s} ${r} || fail 1 ${shq(`cannot link ${e} to ${base}/shared/${e}`)}`,
      owner ? `chown -h ${shq(owner)} ${r}` : '',
      `[ -e ${s} ] || lanes_say shared-missing ${shq(b64(e))}`,
    ]
      .filter(Boolean)
      .join('\n');
  });

  const ENTRY_CHECK = entryCheck(artifact.label ?? id);
  const nonce = newNonce();
  const text = `set -u
${frameShell(nonce)}
umask 022
base=${shq(base)}
id=${shq(id)}
want=${shq(artifact.sha256)}
rel=${shq(releaseDir({ path: base }, id))}
tmpd=
tmpf=
fail() { code=$1; shift; printf '%s\\n' "$*" >&2; exit "$code"; }
${SHA_FN}
${MARKER_FIELD_FN}
if [ -e "$rel" ] || [ -L "$rel" ]; then
  cat >/dev/null
  if [ -f "$rel/${RELEASE_MARKER}" ]; then
    have=$(marker_field "$rel" sha256)
    [ "$have" = "$want" ] || fail ${EXIT_RELEASE_CONFLICT} "$rel holds another artifact (sha256 $have, expected $want)"
    lanes_say exists "$id"
    exit 0
  fi
  fail ${EXIT_RELEASE_CONFLICT} "$rel exists but is not a complete lanes release (no ${RELEASE_MARKER}): remove it and release again"
fi
mkdir -p "$base/releases" "$base/shared" || fail 1 "cannot create $base/releases and $base/shared"
trap 'rm -rf "$tmpd" "$tmpf"' EXIT
trap 'exit 130' INT TERM HUP
tmpf=$(mktemp "$rel.tmp-XXXXXX") || fail 1 "cannot create a temporary file in $base/releases"
${
  opts.fetch
    ? `${fetchShell(opts.fetch, opts.fetchSeconds ?? DEFAULT_FETCH_SECONDS)}
got=$(sha256_of "$tmpf")
[ "$got" = "$want" ] || fail ${EXIT_CHECKSUM_MISMATCH} ${shq(`checksum mismatch: ${opts.fetch.shown} has sha256`)} "$got, expected $want (--artifact-sha256); nothing was unpacked"`
    : `cat > "$tmpf" || fail 1 "cannot store the upload in $base/releases (disk full?)"
got=$(sha256_of "$tmpf")
[ "$got" = "$want" ] || fail ${EXIT_CHECKSUM_MISMATCH} "checksum mismatch: the upload has sha256 $got, expected $want (corrupted transfer?)"`
}
# mktemp -d makes it 0700: nothing extracted is reachable by another user until it has been checked.
tmpd=$(mktemp -d "$rel.tmp-XXXXXX") || fail 1 "cannot create a temporary directory in $base/releases"
tar -xzf "$tmpf" -C "$tmpd" --no-same-owner --no-same-permissions || fail 1 "cannot extract the artifact into $tmpd"
rm -f "$tmpf"
${ENTRY_CHECK}
chmod -R go-w,ug-s,-t "$tmpd" || fail 1 "cannot normalise the modes of $tmpd"
chmod 0755 "$tmpd"
${owner ? `chown -R ${shq(owner)} "$tmpd" || fail 1 ${shq(`cannot chown the release to ${owner}`)}` : ': no chown'}
${links.join('\n')}
now=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
case $now in *N*) now=$(date -u +%Y-%m-%dT%H:%M:%SZ) ;; esac
printf 'id=%s\\nsha256=%s\\ndate=%s\\n' "$id" "$want" "$now" > "$tmpd/${RELEASE_MARKER}" || fail 1 "cannot write the release marker"
${owner ? `chown -h ${shq(owner)} "$tmpd/${RELEASE_MARKER}"` : ''}
[ -e "$rel" ] && fail ${EXIT_RELEASE_CONFLICT} "$rel appeared while unpacking (another release running?)"
mv "$tmpd" "$rel" || fail 1 "cannot rename $tmpd to $rel"
tmpd=
lanes_say unpacked "$id"
`;
  return { text, nonce };
}

export interface UnpackOutcome {
  status: 'exists' | 'unpacked';
  /** Shared entries moved from this release into shared/ (first release). */
  seeded: string[];
  /** Shared links whose target does not exist yet. */
  missingShared: string[];
}

/** Read what {@link unpackScript} said (after a zero exit). */
export function parseUnpackOutput(out: string, nonce: string): UnpackOutcome {
  const frames = parseFrames(out, nonce);
  const exists = frames.some((f) => f.kind === 'exists');
  const unpacked = frames.some((f) => f.kind === 'unpacked');
  if (!exists && !unpacked) throw new LanesError('the unpack script stopped before saying what it did', { kind: 'exec' });
  const entries = (kind: string) => frames.filter((f) => f.kind === kind).map((f) => unb64(f.fields[0]));
  return { status: exists ? 'exists' : 'unpacked', seeded: entries('seeded'), missingShared: entries('shared-missing') };
}

/**
 * Script that removes the releases beyond `spec.keep` (newest first by their marker date), never one
 * in `keepIds` nor the one `current` points to. Also removes temporary directories left behind by an
 * interrupted unpack more than an hour ago. Frames `removed <id>` / `removed-stale <name>`.
 */
export function pruneScript(spec: Pick<ReleaseSpec, 'path' | 'keep'>, keepIds: string[]): FramedScript {
  const base = checkPath(spec);
  if (!Number.isInteger(spec.keep) || spec.keep < 1) {
    throw new LanesError(`release keep must be a whole number of at least 1, got ${spec.keep}`, { hint: 'keep: 5' });
  }
  const protect = keepIds.map(checkId);
  const nonce = newNonce();
  const text = `set -u
${frameShell(nonce)}
base=${shq(base)}
keep=${spec.keep}
protect=${shq(protect.join('\n'))}
${MARKER_FIELD_FN}
cd "$base/releases" 2>/dev/null || exit 0
live=$(readlink "$base/current" 2>/dev/null) && protect="$protect
\${live##*/}"
find . -mindepth 1 -maxdepth 1 -name '*.tmp-*' -mmin +${STALE_TMP_MINUTES} 2>/dev/null | while IFS= read -r t; do
  rm -rf "$t" && lanes_say removed-stale "\${t#./}"
done
for d in */; do
  d=\${d%/}
  case $d in *.tmp-*) continue ;; esac
  [ -f "$d/${RELEASE_MARKER}" ] || continue
  printf '%s %s\\n' "$(marker_field "$d" date)" "$d"
done | sort -r | {
  n=0
  while IFS= read -r line; do
    d=\${line#* }
    n=$((n + 1))
    [ "$n" -le "$keep" ] && continue
    printf '%s\\n' "$protect" | grep -qxF -- "$d" && continue
    rm -rf "./$d" && lanes_say removed "$d"
  done
}
exit 0
`;
  return { text, nonce };
}

/** The ids {@link pruneScript} said it removed. */
export function parsePruneOutput(out: string, nonce: string): string[] {
  return parseFrames(out, nonce)
    .filter((f) => f.kind === 'removed')
    .map((f) => f.fields[0] ?? '');
}

/** Script that prints where `current` points and every complete release with its date. */
export function currentReleaseScript(spec: Pick<ReleaseSpec, 'path'>): FramedScript {
  const base = checkPath(spec);
  const nonce = newNonce();
  const text = `set -u
${frameShell(nonce)}
base=${shq(base)}
${MARKER_FIELD_FN}
if [ -L "$base/current" ]; then lanes_say current "$(lanes_b64 "$(readlink "$base/current")")"; fi
cd "$base/releases" 2>/dev/null || exit 0
for d in */; do
  d=\${d%/}
  case $d in *.tmp-*) continue ;; esac
  [ -f "$d/${RELEASE_MARKER}" ] || continue
  lanes_say release "$(marker_field "$d" date)" "$d"
done
exit 0
`;
  return { text, nonce };
}

export interface CurrentRelease {
  /** The release id `current` points to (the last path component of its target). */
  current?: string;
  /** The raw symlink target. */
  currentTarget?: string;
  /** Complete releases, oldest first. */
  releases: { id: string; date: string }[];
}

export function parseCurrentRelease(out: string, nonce: string): CurrentRelease {
  const result: CurrentRelease = { releases: [] };
  for (const { kind, fields } of parseFrames(out, nonce)) {
    if (kind === 'current') {
      const target = unb64(fields[0]);
      result.currentTarget = target;
      result.current = target.replace(/\/+$/, '').split('/').pop() || undefined;
    } else if (kind === 'release' && fields.length === 2) {
      result.releases.push({ date: fields[0] ?? '', id: fields[1] ?? '' });
    }
  }
  result.releases.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.id < b.id ? -1 : 1));
  return result;
}
