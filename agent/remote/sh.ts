/**
 * The shell kit every release script is built from (POSIX sh: dash, bash, busybox ash), so that each
 * remote script says things one way (frames, agent/remote/frame.ts) and does common things one way.
 *
 *   SHELL_HELPERS   lanes_now_ms, lanes_oneline, lanes_start, lanes_procs (below)
 *   FCGI_SHELL      fcgi_request / fcgi_status / fcgi_body: FastCGI GETs to a pool (agent/remote/fcgi.php)
 *   framedScript    a script with its frame nonce, its helpers and a work directory it cleans up
 */
import { frameShell, newNonce } from './frame.js';
import { fcgiPhp } from './fcgi.js';
import { shq } from '../transport/quote.js';

/**
 * Small helpers (lanes_b64 and lanes_say come from frameShell):
 *   lanes_now_ms             wall clock in ms
 *   lanes_oneline TEXT [N]   TEXT on one line, at most N (200) characters
 *   lanes_start PID          the process's start time in clock ticks since boot (fails when gone or a zombie)
 *   lanes_procs              "pid ppid start" for every process, from /proc (no fork per process)
 */
export const SHELL_HELPERS = `
lanes_now_ms() { _t=$(date +%s%N); case $_t in *N*) echo $(( $(date +%s) * 1000 ));; *) echo $(( _t / 1000000 ));; esac; }
lanes_oneline() { printf '%s' "$1" | tr '\\r\\n\\t' '   ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-"\${2:-200}"; }
lanes_start() {
  { read -r _s <"/proc/$1/stat"; } 2>/dev/null || return 1
  _s=\${_s##*) }
  set -f; set -- $_s; set +f
  case $1 in Z|X|x) return 1 ;; esac
  echo "\${20}"
}
lanes_procs() {
  for _d in /proc/[0-9]*; do
    { read -r _s <"$_d/stat"; } 2>/dev/null || continue
    _s=\${_s##*) }
    set -f; set -- $_s; set +f
    echo "\${_d#/proc/} $2 \${20}"
  done
}
`;

/**
 * FastCGI requests from the shell (needs $LANES_W, a private work directory):
 *
 *   fcgi_request ADDRESS SCRIPT_NAME SCRIPT_FILENAME QUERY OUT
 *       GET over FastCGI; the raw answer goes to OUT, the reason for no answer to OUT.err.
 *       Returns 0 when an answer came back (whatever its status). The request carries only the CGI
 *       variables it needs (`env -i`): root's environment never reaches the pool.
 *   fcgi_status OUT     the answer's HTTP status (200 when it has no Status: header)
 *   fcgi_body OUT       the answer's body, carriage returns removed
 *
 * `cgi-fcgi` is used when installed; otherwise lanes' one FastCGI client, agent/remote/fcgi.php, is
 * written to $LANES_W and run with `php -n`. `LANES_FCGI_CLIENT=php` forces the PHP client.
 */
export function fcgiShell(): string {
  return `
LANES_FCGI_CLIENT=\${LANES_FCGI_CLIENT:-auto}
LANES_FCGI_PHP=${shq(fcgiPhp())}
if command -v timeout >/dev/null 2>&1; then LANES_TO='timeout 8'; else LANES_TO=''; fi
lanes_php() {
  command -v php 2>/dev/null && return 0
  for _p in /usr/bin/php[0-9]*; do [ -x "$_p" ] && { echo "$_p"; return 0; }; done
  return 1
}
fcgi_request() {
  : >"$5"; : >"$5.err"
  if [ "$LANES_FCGI_CLIENT" != php ] && command -v cgi-fcgi >/dev/null 2>&1; then
    _u=$2; [ -n "$4" ] && _u="$2?$4"
    env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD=GET \\
      SCRIPT_NAME="$2" SCRIPT_FILENAME="$3" QUERY_STRING="$4" REQUEST_URI="$_u" DOCUMENT_URI="$2" \\
      REMOTE_ADDR=127.0.0.1 SERVER_NAME=localhost \\
      $LANES_TO cgi-fcgi -bind -connect "$1" </dev/null >"$5" 2>"$5.err"
    _rc=$?
  elif _php=$(lanes_php); then
    [ -f "$LANES_W/fcgi.php" ] || printf '%s' "$LANES_FCGI_PHP" >"$LANES_W/fcgi.php"
    env -i PATH="$PATH" $LANES_TO "$_php" -n "$LANES_W/fcgi.php" "$1" "$2" "$3" "$4" </dev/null >"$5" 2>"$5.err"
    _rc=$?
  else
    echo "neither cgi-fcgi nor php is installed" >"$5.err"
    return 1
  fi
  [ "$_rc" = 0 ] && [ -s "$5" ] && return 0
  if [ ! -s "$5.err" ]; then
    case $_rc in
      0) echo "empty answer" ;;
      2) echo "no such socket" ;;
      13) echo "permission denied" ;;
      111) echo "connection refused" ;;
      124) echo "no answer within 8s" ;;
      *) echo "no FastCGI answer (exit $_rc)" ;;
    esac >"$5.err"
  fi
  return 1
}
fcgi_status() { _st=$(tr -d '\\r' <"$1" | sed -n -e '/^$/q' -e 's/^[Ss]tatus: *\\([0-9][0-9][0-9]\\).*/\\1/p'); echo "\${_st:-200}"; }
fcgi_body() { tr -d '\\r' <"$1" | sed '1,/^$/d'; }
`;
}

/**
 * The command line of an exec whose script comes on stdin: a script of any size, never an argument
 * (Linux refuses one argument over 128 KiB, and the whole command line over ARG_MAX, with E2BIG — a
 * read script with a few hundred probes is that big). The script is read to its end before any of
 * it runs (a command in it that reads stdin cannot swallow the rest of the script, and a cut
 * connection runs none of it), stdin is then /dev/null, and it runs in `/bin/sh` whatever the login
 * shell is. Exit 125 when stdin could not be read.
 */
export const STDIN_SCRIPT_COMMAND = `/bin/sh -c ${shq('lanes_s=$(cat) || exit 125; exec </dev/null; eval "$lanes_s"')}`;

/**
 * `lanes_attrs UID GID MODE PATH` (each of UID, GID, MODE may be empty: unchanged): owner and mode of
 * a file or directory changed WITHOUT following a symbolic link at PATH, and without a window in which
 * PATH could be swapped for one: the object is opened with O_NOFOLLOW, checked to be the one lstat saw
 * (a regular file or a directory), and changed through that descriptor (fchown/fchmod). Linux has no
 * lchmod and `chmod` always follows, so this needs perl (Debian's perl-base is essential) or python3
 * (what dnf runs on, also as /usr/libexec/platform-python); without either, a symlink is still refused
 * but with a check-then-act race. A refusal names the path and says why, on stderr, exit 1.
 */
export const ATTRS_SHELL = `
lanes_attrs() {
  if command -v perl >/dev/null 2>&1; then
    perl -e ${shq(`use Fcntl; my ($u, $g, $m, $p) = @ARGV;
my @l = lstat($p) or die "cannot change $p: $!\n";
die "$p is a symbolic link: lanes does not change owner or mode through a link\n" if -l _;
die "$p is neither a file nor a directory: lanes does not change its owner or mode\n" unless -f _ || -d _;
sysopen(my $fh, $p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) or die "cannot open $p: $!\n";
my @s = stat($fh);
die "$p was replaced while lanes changed it\n" unless $s[0] == $l[0] && $s[1] == $l[1];
if ($u ne "" || $g ne "") { chown(($u eq "" ? -1 : $u), ($g eq "" ? -1 : $g), $fh) or die "cannot chown $p: $!\n"; }
if ($m ne "") { chmod(oct($m), $fh) or die "cannot chmod $p: $!\n"; }`)} "$@"
    return
  fi
  _py=$(command -v python3 2>/dev/null || command -v /usr/libexec/platform-python 2>/dev/null) || _py=
  if [ -n "$_py" ]; then
    "$_py" -c ${shq(`import os, stat, sys
u, g, m, p = sys.argv[1:5]
try:
    l = os.lstat(p)
    if stat.S_ISLNK(l.st_mode): sys.exit(p + " is a symbolic link: lanes does not change owner or mode through a link")
    if not (stat.S_ISREG(l.st_mode) or stat.S_ISDIR(l.st_mode)): sys.exit(p + " is neither a file nor a directory: lanes does not change its owner or mode")
    fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    s = os.fstat(fd)
    if (s.st_dev, s.st_ino) != (l.st_dev, l.st_ino): sys.exit(p + " was replaced while lanes changed it")
    if u or g: os.fchown(fd, int(u) if u else -1, int(g) if g else -1)
    if m: os.fchmod(fd, int(m, 8))
except OSError as e:
    sys.exit("cannot change " + p + ": " + e.strerror)`)} "$@"
    return
  fi
  if [ -L "$4" ]; then echo "$4 is a symbolic link: lanes does not change owner or mode through a link" >&2; return 1; fi
  if [ -n "$1$2" ]; then _o=$1; [ -n "$2" ] && _o="$1:$2"; chown -h -- "$_o" "$4" || return 1; fi
  if [ -n "$3" ]; then chmod -- "$3" "$4" || return 1; fi
}
# lanes_uid USER / lanes_gid GROUP: the number lanes_attrs takes (empty stays empty, numbers pass through).
lanes_uid() { [ -z "$1" ] && return 0; case $1 in *[!0-9]*) id -u "$1" ;; *) echo "$1" ;; esac; }
lanes_gid() { [ -z "$1" ] && return 0; case $1 in *[!0-9]*) getent group "$1" | cut -d: -f3 | grep . || { echo "no group $1" >&2; return 1; } ;; *) echo "$1" ;; esac; }
`;

/** The address `cgi-fcgi -connect` and fcgi.php take: a socket path, or host:port ("9000" → 127.0.0.1:9000). */
export function fcgiAddress(listen: string): string {
  if (/^\d+$/.test(listen)) return `127.0.0.1:${listen}`;
  return listen;
}

/** A remote script and the nonce its frames carry (give both to the script's parser). */
export interface FramedScript {
  text: string;
  nonce: string;
}

/**
 * A framed script: `set -u`, the frame functions for a fresh nonce, the helpers, a private work
 * directory $LANES_W removed on exit, then `body`. When the work directory cannot be made, the
 * script says `<doneKind> fail` and exits 1 — its parser then reports that, not silence.
 */
export function framedScript(body: string[], opts: { doneKind: string; tmpName: string; extra?: string[]; nonce?: string }): FramedScript {
  const nonce = opts.nonce ?? newNonce();
  const text = [
    'set -u',
    frameShell(nonce),
    SHELL_HELPERS,
    ...(opts.extra ?? []),
    `LANES_W=$(mktemp -d ${shq(`/tmp/lanes-${opts.tmpName}.XXXXXX`)}) || { lanes_say ${shq(opts.doneKind)} fail "$(lanes_b64 'cannot create a work directory in /tmp')"; exit 1; }`,
    `trap 'rm -rf "$LANES_W"' EXIT`,
    ...body,
    '',
  ].join('\n');
  return { text, nonce };
}
