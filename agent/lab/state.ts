/** `<state>/lab/<name>/state.json`: the lab's address block and its hosts with their pids. */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LanesError } from '../errors.js';
import type { LabPaths } from './paths.js';

export interface HostRecord {
  name: string;
  index: number;
  address: string;
  /** nspawn machine name. */
  machine: string;
  /** The base image the host's overlay sits on; a host on another image is rebuilt. */
  image: string;
  /** pid of systemd-nspawn while the host runs. */
  pid?: number;
  bootedAt?: string;
}

export interface LabState {
  version: 1;
  name: string;
  /** Third octet of the lab's addresses: host N is 127.0.<block>.N. Kept after `down`. */
  block: number;
  hosts: HostRecord[];
}

export async function readState(file: string): Promise<LabState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const state = JSON.parse(text) as LabState;
    if (state.version !== 1 || typeof state.block !== 'number' || !Array.isArray(state.hosts)) throw new Error('unknown layout');
    return state;
  } catch (err) {
    throw new LanesError(`the lab state file is unreadable: ${(err as Error).message}`, {
      kind: 'lab',
      location: { file },
      hint: 'run `lanes lab down` (it cleans up without the file), then `lanes lab up`',
    });
  }
}

let writes = 0;

export async function writeState(file: string, state: LabState): Promise<void> {
  const tmp = `${file}.${process.pid}.${++writes}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  await rename(tmp, file);
}

/** The address blocks held by every lab under the state directory (lab name → block). */
export async function takenBlocks(paths: LabPaths): Promise<Map<string, number>> {
  const taken = new Map<string, number>();
  let entries: string[];
  try {
    entries = await readdir(paths.labsDir);
  } catch {
    return taken;
  }
  for (const entry of entries) {
    const state = await readState(path.join(paths.labsDir, entry, 'state.json')).catch(() => undefined);
    if (state) taken.set(state.name, state.block);
  }
  return taken;
}
