/**
 * The supervisor probe: ONE question per host covers every program. It is asked over Supervisor's own
 * XML-RPC interface (`supervisor.getAllProcessInfo` on the unix socket supervisorctl would use), from
 * the Python that supervisorctl itself runs under: about 0.03 s of host CPU, where `supervisorctl
 * status` is a Python start-up that imports Supervisor and pkg_resources (about 0.3 s, two thirds of a
 * whole state read). The answer is printed as `supervisorctl status` prints it, so one parser reads
 * both. Anything unusual (no Python in supervisorctl's first line, no config file, a serverurl that is
 * not a plain unix:// path, a username, a fault, a socket that does not answer) runs
 * `supervisorctl status` instead, which then says what is wrong exactly as before.
 */
import { shq } from '../transport/quote.js';
import type { SupervisorProcessState } from '../resources/types.js';
import type { ProbeKind } from './probe-kind.js';

/**
 * `supervisorctl status` lines: `name   STATE   description`. Exit 3 (some program not running) is
 * normal; "unix:///… no such file" or exit 4/7 means supervisord does not answer → undefined.
 */
export function parseSupervisorStatus(out: string): Map<string, SupervisorProcessState> | undefined {
  const rc = /^rc (\d+)$/m.exec(out);
  if (!rc) return undefined;
  const code = Number(rc[1]);
  if (code !== 0 && code !== 3) return undefined;
  const map = new Map<string, SupervisorProcessState>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+([A-Z]+)\b/.exec(line);
    if (m && m[1] !== 'rc') map.set(m[1]!, { name: m[1]!, state: m[2]! });
  }
  return map;
}

/**
 * Run as `PYTHON -I -S -c XMLRPC_STATUS SUPERVISORCTL_PATH`. Finds the config file in supervisorctl's
 * own search order (beside its executable, the working directory, /etc), reads `[supervisorctl]
 * serverurl`, asks getAllProcessInfo, and prints `group:name STATE description` lines (just `name` when
 * the group has the program's name) and `rc 0`. Exits 9 and prints nothing on anything else. No
 * single quotes inside: it travels through shq as one word.
 */
export const XMLRPC_STATUS = `
import os, re, socket, sys
try:
    import configparser
    here = os.path.dirname(sys.argv[1])
    found = [f for f in (os.path.join(here, "../etc/supervisord.conf"), os.path.join(here, "../supervisord.conf"),
             "supervisord.conf", "etc/supervisord.conf", "/etc/supervisord.conf", "/etc/supervisor/supervisord.conf") if os.path.exists(f)]
    conf = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    conf.read(found[0])
    url = conf.get("supervisorctl", "serverurl", fallback="http://localhost:9001").strip()
    if not url.startswith("unix://") or "%(" in url or conf.has_option("supervisorctl", "username"):
        sys.exit(9)
    body = b"<?xml version=\\"1.0\\"?><methodCall><methodName>supervisor.getAllProcessInfo</methodName><params></params></methodCall>"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(url[len("unix://"):])
    s.sendall(b"POST /RPC2 HTTP/1.0\\r\\nHost: localhost\\r\\nContent-Type: text/xml\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body)
    chunks = []
    while True:
        d = s.recv(65536)
        if not d:
            break
        chunks.append(d)
    head, _, xml = b"".join(chunks).partition(b"\\r\\n\\r\\n")
    if not re.match(rb"HTTP/1\\.[01] 200 ", head) or b"<fault>" in xml or b"<methodResponse>" not in xml:
        sys.exit(9)
    def text(v):
        v = v.decode("utf-8", "replace")
        for a, b in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\\""), ("&apos;", "\\x27"), ("&amp;", "&")):
            v = v.replace(a, b)
        return v
    lines = []
    for struct in re.findall(rb"<struct>(.*?)</struct>", xml, re.S):
        m = dict((k.decode(), text(v)) for k, v in re.findall(rb"<member>\\s*<name>(.*?)</name>\\s*<value>(?:<\\w+>)?(.*?)(?:</\\w+>)?</value>\\s*</member>", struct, re.S))
        name = m["name"] if m["group"] == m["name"] else m["group"] + ":" + m["name"]
        lines.append("%s %s %s\\n" % (name, m["statename"], m["description"]))
    sys.stdout.write("".join(lines) + "rc 0\\n")
except SystemExit:
    raise
except Exception:
    sys.exit(9)
`;

/**
 * The probe's shell: the Python of supervisorctl's `#!` line asks supervisord directly; when that
 * is not possible, `supervisorctl status` (and its exit code) answers.
 */
export const SUPERVISOR_STATUS_COMMAND = [
  'c=$(command -v supervisorctl 2>/dev/null) || exit 0',
  'l=; IFS= read -r l < "$c" 2>/dev/null',
  'case $l in',
  `  '#!'*python*) \${l#??} -I -S -c ${shq(XMLRPC_STATUS)} "$c" 2>/dev/null && exit 0 ;;`,
  'esac',
  'supervisorctl status; echo "rc $?"',
].join('\n');

/** Readings: `supervisor` → every process (null: supervisord does not answer). */
export const supervisorProbes: ProbeKind<'supervisor', SupervisorProcessState[] | null> = {
  kind: 'supervisor',
  key: () => 'supervisor',
  fact: () => ({
    name: 'supervisor_status',
    command: SUPERVISOR_STATUS_COMMAND,
    parse: (out) => {
      const status = parseSupervisorStatus(out);
      return { supervisor: status ? [...status.values()] : null };
    },
  }),
  assemble(readings, state) {
    const processes = readings.supervisor;
    state.supervisor = processes ? new Map(processes.map((p) => [p.name, p])) : undefined;
  },
};
