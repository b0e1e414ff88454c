/**
 * The lab of this test run. `node dist/test/run.js` (what `npm test` runs) boots a lab of its own
 * with a unique name for every run, passes its name in LANES_TEST_LAB, and removes it at the end;
 * test files only ever use that one. No test reuses hosts from an earlier run, another checkout, or
 * the default lab a user may have running.
 */
import { labPaths, labStatus, type LabHost } from '../../../agent/lab/index.js';

export interface EnsuredLab {
  /** The lab's name (t<random>). */
  name: string;
  inventoryFile: string;
  keyFile: string;
  knownHostsFile: string;
  hosts: LabHost[];
}

export function testLabName(): string {
  const name = process.env.LANES_TEST_LAB;
  if (!name) {
    throw new Error('LANES_TEST_LAB is not set: run the e2e tests through `npm run test:e2e` or `node dist/test/run.js e2e [FILTER]`, which boot a lab for the run (as root)');
  }
  return name;
}

/** The run's lab, which must have at least `hosts` running hosts. */
export async function ensureLab(hosts = 3): Promise<EnsuredLab> {
  const name = testLabName();
  const up = (await labStatus({ name })).filter((h) => h.state === 'running');
  if (up.length < hosts) throw new Error(`test lab "${name}" runs ${up.length} host(s), this test needs ${hosts}`);
  const paths = labPaths({ name });
  return { name, inventoryFile: paths.inventoryFile, keyFile: paths.keyFile, knownHostsFile: paths.knownHostsFile, hosts: up };
}
