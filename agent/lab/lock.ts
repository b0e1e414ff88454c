/**
 * A lock file between processes (and a queue within this one), so that two runs never build the
 * image or change the same lab at once. The file holds the owner's pid; a lock whose owner is gone
 * (a run killed with the session) is taken over.
 */
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { LanesError } from '../errors.js';

const inProcess = new Map<string, Promise<void>>();

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryAcquire(file: string): Promise<boolean> {
  try {
    const fh = await open(file, 'wx', 0o644);
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let owner = NaN;
  let ageMs = 0;
  try {
    owner = parseInt(await readFile(file, 'utf8'), 10);
    ageMs = Date.now() - (await stat(file)).mtimeMs;
  } catch {
    return false; // released between our two looks: try again
  }
  // The in-process queue means no one else here holds it, so our own pid in the file is a stale
  // lock from an earlier process; an empty file is only stale once its writer has had time to write.
  const stale = Number.isNaN(owner) ? ageMs > 5000 : owner === process.pid || !pidAlive(owner);
  if (stale) await unlink(file).catch(() => undefined);
  return false;
}

export interface LockOptions {
  timeoutMs: number;
  /** What is being waited for, for the progress line and the error. */
  what: string;
  onWait?: (message: string) => void;
}

export async function withLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  // Queue behind other holders in this process first: they share our pid, so the file cannot tell us apart.
  const previous = inProcess.get(file) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => (release = r));
  const chained = previous.then(() => mine);
  inProcess.set(file, chained);
  await previous;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    const deadline = Date.now() + opts.timeoutMs;
    let told = false;
    while (!(await tryAcquire(file))) {
      if (Date.now() > deadline) {
        throw new LanesError(`timed out waiting for another run to finish ${opts.what}`, {
          kind: 'lab',
          hint: `if no other lanes process is running, remove ${file}`,
        });
      }
      if (!told) {
        opts.onWait?.(`waiting for another run to finish ${opts.what}`);
        told = true;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    try {
      return await fn();
    } finally {
      await unlink(file).catch(() => undefined);
    }
  } finally {
    release();
    if (inProcess.get(file) === chained) inProcess.delete(file);
  }
}
