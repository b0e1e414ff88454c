/** Package probes: the installed version of each probed package (dpkg or rpm), in one fact per host. */
import type { PackageState } from '../resources/types.js';
import { shq } from '../transport/quote.js';
import { perProbeFact, type ProbeKind } from './probe-kind.js';

function packageCommand(name: string): string {
  return [
    'if command -v dpkg-query >/dev/null 2>&1; then',
    `  dpkg-query -W -f='\${db:Status-Abbrev} \${Version}\\n' ${shq(name)} 2>/dev/null | awk '$1 ~ /^.i/ { print "version " $2 }'`,
    'elif command -v rpm >/dev/null 2>&1; then',
    `  rpm -q --qf 'version %{VERSION}-%{RELEASE}\\n' ${shq(name)} 2>/dev/null | grep '^version '`,
    'fi',
  ].join('\n');
}

/** Readings: `package:<name>` → its state (no version: not installed). */
export const packageProbes: ProbeKind<'package', PackageState> = {
  kind: 'package',
  key: (p) => `package:${p.name}`,
  fact: (probes) =>
    perProbeFact(
      'packages',
      probes,
      (p) => packageProbes.key(p),
      (p) => packageCommand(p.name),
      (out, p) => {
        const m = /^version (\S+)/m.exec(out);
        return { name: p.name, ...(m ? { version: m[1] } : {}) };
      },
    ),
  assemble(readings, state) {
    for (const p of Object.values(readings)) state.packages.set(p.name, p);
  },
};
