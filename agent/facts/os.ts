/** Operating system identity, from /etc/os-release (the same file on every systemd distribution). */
import type { Fact } from './fact.js';

export type OsFamily = 'debian' | 'redhat' | 'unknown';

export interface OsFact {
  id: string;
  versionId: string;
  prettyName: string;
  family: OsFamily;
  kernel: string;
  arch: string;
}

export const osFact: Fact<OsFact> = {
  name: 'os',
  command: 'cat /etc/os-release 2>/dev/null; printf "LANES_UNAME=%s\\n" "$(uname -sr)"; printf "LANES_ARCH=%s\\n" "$(uname -m)"',
  parse(output) {
    const kv = new Map<string, string>();
    for (const line of output.split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) kv.set(m[1]!, unquote(m[2]!));
    }
    const id = kv.get('ID') ?? 'unknown';
    const like = (kv.get('ID_LIKE') ?? '').split(/\s+/);
    const family: OsFamily =
      id === 'debian' || id === 'ubuntu' || like.includes('debian')
        ? 'debian'
        : ['rhel', 'centos', 'fedora', 'rocky', 'almalinux'].includes(id) || like.includes('rhel') || like.includes('fedora')
          ? 'redhat'
          : 'unknown';
    return {
      id,
      versionId: kv.get('VERSION_ID') ?? '',
      prettyName: kv.get('PRETTY_NAME') ?? id,
      family,
      kernel: kv.get('LANES_UNAME') ?? '',
      arch: kv.get('LANES_ARCH') ?? '',
    };
  },
};

function unquote(v: string): string {
  const m = /^"(.*)"$/.exec(v) ?? /^'(.*)'$/.exec(v);
  return m ? m[1]!.replace(/\\(["\\$`])/g, '$1') : v;
}
