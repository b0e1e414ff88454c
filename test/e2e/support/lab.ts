/**
 * The default lab for e2e tests: brought up once (idempotently) and shared by every test file.
 * A lab that already runs more hosts than asked for is left as it is, so test files asking for
 * different numbers of hosts never shrink it under each other.
 */
import { labPaths, labStatus, labUp, type LabHost } from '../../../agent/lab/index.js';

export interface EnsuredLab {
  inventoryFile: string;
  keyFile: string;
  knownHostsFile: string;
  hosts: LabHost[];
}

export async function ensureLab(hosts = 3): Promise<EnsuredLab> {
  const current = await labStatus({});
  const want = Math.max(hosts, current.length);
  const up = await labUp({
    hosts: want,
    onProgress: process.env.LANES_LAB_QUIET ? undefined : (m) => process.stderr.write(`# lab: ${m}\n`),
  });
  const paths = labPaths({});
  return {
    inventoryFile: paths.inventoryFile,
    keyFile: paths.keyFile,
    knownHostsFile: paths.knownHostsFile,
    hosts: up,
  };
}
