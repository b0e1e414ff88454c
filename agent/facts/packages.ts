/** Which package manager the host uses, so package resources pick apt or dnf. */
import { keyLines, type Fact } from './fact.js';

export interface PackageManagerFact {
  manager: 'apt' | 'dnf' | 'yum' | 'unknown';
}

export const packageManagerFact: Fact<PackageManagerFact> = {
  name: 'package_manager',
  command: 'for m in apt-get dnf yum; do command -v $m >/dev/null 2>&1 && printf "found %s\\n" $m; done',
  parse(output) {
    const found = keyLines(output).map(([, v]) => v);
    const manager = found.includes('apt-get') ? 'apt' : found.includes('dnf') ? 'dnf' : found.includes('yum') ? 'yum' : 'unknown';
    return { manager };
  },
};
