/**
 * An artifact URL (`--artifact https://…/app.tar.gz --artifact-sha256 HEX`): each host downloads the
 * release artifact itself, so the controller's link carries scripts, not hosts × artifact size.
 *
 * The sha256 is required: it names the release (as for an uploaded artifact) and it is the integrity
 * check, which is why plain http:// is allowed. Only http(s) is fetched (curl, else wget).
 *
 * The URL may carry credentials (a presigned query, `user:pass@`): it is registered with the secret
 * masker (agent/report/mask.ts) as soon as it is read, every message shows {@link shownUrl} (no
 * userinfo, query or fragment), and it reaches the host only inside the script, which goes on the
 * exec's stdin (STDIN_SCRIPT_COMMAND): the downloader reads it from a pipe fed by the shell's
 * builtin printf (`curl -K -`, `wget -i -`), so it is in no process's arguments (`ps`) on the host.
 */
import { LanesError } from '../errors.js';
import { parseFrames } from '../remote/frame.js';
import { secrets } from '../report/mask.js';
import { shq } from '../transport/quote.js';

/** Default cap on what a host downloads (--artifact-max-bytes): a server sending endless data stops here. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 2 * 1024 ** 3;
/** Exit code of the fetch part of the unpack script: neither curl nor wget on the host. */
export const EXIT_NO_DOWNLOADER = 6;
/** Exit code: the download failed (HTTP error, connection, time limit). */
export const EXIT_FETCH_FAILED = 7;
/** Exit code: the server sent more than the cap. */
export const EXIT_TOO_LARGE = 8;

/** Where hosts fetch an artifact from. */
export interface ArtifactUrl {
  /** The URL as given. Sensitive: only ever inside a script sent on stdin. */
  url: string;
  /** scheme://host[:port]/path — what every message shows. */
  shown: string;
  /** Expected sha256, lowercase hex. */
  sha256: string;
  /** Largest download accepted, bytes. */
  maxBytes: number;
}

const SHA256_HINT = 'lanes release … --artifact https://host/app.tar.gz --artifact-sha256 <64 hex digits> (sha256sum app.tar.gz)';

/** Whether `--artifact` is a URL (scheme://…) rather than a path or git:REF. */
export function isArtifactUrl(given: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(given);
}

/** The URL without userinfo, query string or fragment (for messages); "(an unparsable URL)" when it is not one. */
export function shownUrl(given: string): string {
  try {
    const u = new URL(given);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(an unparsable URL)';
  }
}

/**
 * Register every part of the URL that may be a credential with the run's secret masker: userinfo,
 * query, fragment, and the whole URL when it has any of them (a URL without them is shown as it is).
 */
function registerSecrets(given: string, u: URL | undefined): void {
  if (!u) return secrets.add(given);
  if (given !== shownUrl(given)) secrets.add(given);
  for (const part of [u.username, u.password, decodeURIComponent(u.password), u.search.slice(1), u.hash.slice(1)]) if (part) secrets.add(part);
  for (const [, value] of u.searchParams) secrets.add(value);
  // As it may appear normalised in a message (curl prints some URLs so).
  if (u.href !== given && u.href !== shownUrl(given)) secrets.add(u.href);
}

/**
 * Check an artifact URL and its sha256 on the controller, before any connection: http or https, no
 * whitespace or control characters, a sha256 of 64 hex digits, a positive whole cap. Every refusal
 * is one line that never quotes the URL's credentials.
 */
export function parseArtifactUrl(given: string, sha256: string | undefined, maxBytes: number = DEFAULT_ARTIFACT_MAX_BYTES): ArtifactUrl {
  let u: URL | undefined;
  try {
    u = new URL(given);
  } catch {
    u = undefined;
  }
  registerSecrets(given, u);
  const shown = shownUrl(given);
  if (!u) throw new LanesError('release artifact: the URL given to --artifact is not a valid URL', { hint: 'e.g. https://artifacts.example.com/app.tar.gz' });
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new LanesError(`release artifact ${shown}: only http:// and https:// URLs are fetched, not ${u.protocol}//`, {
      hint: 'serve the .tar.gz over https (or http: the sha256 checks it), or give a local file or directory',
    });
  }
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(given)) {
    throw new LanesError(`release artifact ${shown}: the URL contains whitespace or control characters`, { hint: 'percent-encode them (%20)' });
  }
  if (sha256 === undefined || sha256 === '') {
    throw new LanesError(`release artifact ${shown} is a URL: --artifact-sha256 is required (it names the release and checks the download)`, { hint: SHA256_HINT });
  }
  if (!/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new LanesError(`--artifact-sha256 ${JSON.stringify(sha256.slice(0, 80))} is not a sha256 digest (64 hex digits)`, { hint: SHA256_HINT });
  }
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new LanesError(`--artifact-max-bytes must be a positive whole number of bytes, got ${maxBytes}`, { hint: '--artifact-max-bytes 2147483648 (2 GiB, the default)' });
  }
  return { url: given, shown, sha256: sha256.toLowerCase(), maxBytes };
}

/** The line `curl -K -` reads: a config file value in double quotes, with \ and " escaped. */
export function curlConfigLine(url: string): string {
  return `url = "${url.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * sh (inside the unpack script, agent/rollout/artifact.ts) that downloads the artifact into "$tmpf"
 * (an empty file already made by mktemp, removed by the script's trap), with `fail CODE TEXT`
 * defined. curl is used when installed, else wget; at most `maxBytes` are kept (a longer answer
 * fails the host), within `seconds`. Frames `fetched <sha256> <bytes>` once the download is
 * complete; whether the sum is the expected one is the caller's business.
 */
export function fetchShell(a: ArtifactUrl, seconds: number): string {
  const secs = Math.max(1, Math.floor(seconds));
  const what = `downloading ${a.shown}`;
  return `fetch_max=${a.maxBytes}
fetch_secs=${secs}
if command -v curl >/dev/null 2>&1; then fetch_tool=curl
elif command -v wget >/dev/null 2>&1; then fetch_tool=wget
else fail ${EXIT_NO_DOWNLOADER} ${shq(`cannot fetch ${a.shown}: neither curl nor wget is installed on the host (install curl, or give --artifact a local file)`)}
fi
# The URL goes through a pipe from the builtin printf: never in a process's arguments.
fetch_body() {
  if [ "$fetch_tool" = curl ]; then
    printf '%s\\n' ${shq(curlConfigLine(a.url))} | curl -q -K - -f -sS -L --max-redirs 5 --proto =http,https --proto-redir =http,https \\
      --connect-timeout 20 --max-time "$fetch_secs" --max-filesize "$fetch_max" -o -
  else
    if command -v timeout >/dev/null 2>&1; then fetch_to="timeout $fetch_secs"; else fetch_to=; fi
    printf '%s\\n' ${shq(a.url)} | $fetch_to wget -q -O - --tries=1 --timeout=20 --max-redirect=5 -i -
  fi
}
# head keeps at most one byte more than the cap, so a longer answer is seen and refused, never stored.
frc=$( { { fetch_body; echo $? >&3; } | head -c "$((fetch_max + 1))" >"$tmpf"; } 3>&1 )
fsize=$(wc -c <"$tmpf" | tr -d ' ')
if [ "$fsize" -gt "$fetch_max" ] || { [ "$fetch_tool" = curl ] && [ "$frc" = 63 ]; }; then
  fail ${EXIT_TOO_LARGE} ${shq(`${what}: the server sends more than --artifact-max-bytes ${a.maxBytes} bytes; refused`)}
fi
case $frc in
  0) ;;
  28|124) fail ${EXIT_FETCH_FAILED} ${shq(`${what} did not finish within ${secs} s`)} ;;
  *) fail ${EXIT_FETCH_FAILED} ${shq(`${what} failed:`)} "$fetch_tool exit $frc" ;;
esac
lanes_say fetched "$(sha256_of "$tmpf")" "$fsize"`;
}

/** What the host said it downloaded: the `fetched` frame, or undefined when it never got that far. */
export function parseFetched(out: string, nonce: string): { sha256: string; bytes: number } | undefined {
  const f = parseFrames(out, nonce).find((x) => x.kind === 'fetched');
  if (!f) return undefined;
  const [sha256 = '', bytes = ''] = f.fields;
  if (!/^[0-9a-f]{64}$/.test(sha256) || !/^\d+$/.test(bytes)) return undefined;
  return { sha256, bytes: Number(bytes) };
}
