/**
 * The local lab: real Debian bookworm hosts with systemd as PID 1 under systemd-nspawn, each an
 * overlay on one cached base image, each owning a loopback address (127.0.<block>.N) in the
 * machine's network namespace, reachable with OpenSSH as user `lanes` with the lab's key and
 * host-key checking on. They are the project's test hosts.
 *
 *   labUp      build the image if needed, create/boot/trim hosts until exactly N run, wait for them
 *   labStatus  which hosts run, and what systemd inside says
 *   labDown    stop, unmount and delete the hosts (the lab key and the image cache stay)
 */
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { LanesError } from '../errors.js';
import { allocateBlock, hostAddress } from './address.js';
import { canBind, initPidOf, isOurNspawn, nspawnsUnder, startNspawn, stopNspawns, systemState, waitForBoot, type NspawnProcess } from './boot.js';
import { runChecked } from './exec.js';
import { removeTree, unmountUnder } from './fsutil.js';
import { knownHostsLines, mountOverlay, overlayStatus, prepareHost, unmountHost } from './host.js';
import { ensureImage } from './image.js';
import { renderInventoryYaml } from './inventory.js';
import { withLock } from './lock.js';
import { DEFAULT_HOSTS, hostName, hostPaths, machineName, MAX_HOSTS, resolveLabPaths, type LabPaths } from './paths.js';
import { ensureTools, isRoot, requireRoot } from './prereq.js';
import { readState, takenBlocks, writeState, type HostRecord, type LabState } from './state.js';

export { renderInventoryYaml } from './inventory.js';
export { DEFAULT_HOSTS, DEFAULT_LAB_NAME, type LabPaths } from './paths.js';

export interface LabOptions {
  /** Lab name; default 'lanes' (addresses 127.0.1.N). */
  name?: string;
  stateDir?: string;
  cacheDir?: string;
  onProgress?: (message: string) => void;
}

export interface LabHost {
  /** lab1, lab2, … */
  name: string;
  /** 127.0.<block>.N */
  address: string;
  /** pid of the host's systemd-nspawn, while it runs. */
  pid?: number;
  state: 'running' | 'stopped';
  /** `systemctl is-system-running` inside the host (when running and asked as root). */
  systemState?: string;
}

/** How long one host may take from `systemd-nspawn` to a running system with sshd answering. */
const BOOT_TIMEOUT_MS = 180_000;
/**
 * Hosts booting at once (`$LANES_LAB_BOOT_CONCURRENCY` overrides). Measured on 2 cores, 10 hosts:
 * see bootConcurrency's comment in the report; a few at once is as fast as all at once.
 */
function bootConcurrency(): number {
  const n = Number(process.env.LANES_LAB_BOOT_CONCURRENCY);
  return Number.isInteger(n) && n > 0 ? n : 4;
}

export function labPaths(opts: LabOptions = {}): LabPaths {
  return resolveLabPaths(opts);
}

async function fileExists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Run `fn` over `items` with at most `limit` at once; every item runs, the first error is rethrown. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  const errors: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0) throw errors[0];
  return results;
}

async function ensureKeyPair(paths: LabPaths): Promise<string> {
  if (!(await fileExists(paths.keyFile)) || !(await fileExists(paths.publicKeyFile))) {
    await rm(paths.keyFile, { force: true });
    await rm(paths.publicKeyFile, { force: true });
    await runChecked('generating the lab key pair', 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `lanes-lab-${paths.name}`, '-f', paths.keyFile]);
  }
  return readFile(paths.publicKeyFile, 'utf8');
}

async function loadOrCreateState(paths: LabPaths): Promise<LabState> {
  const existing = await readState(paths.stateFile);
  if (existing) return existing;
  // Allocating a block looks at every lab, so it is serialised across labs.
  return withLock(`${paths.labsDir}/.alloc.lock`, { timeoutMs: 60_000, what: 'allocating a lab address block' }, async () => {
    const block = allocateBlock(paths.name, await takenBlocks(paths));
    const state: LabState = { version: 1, name: paths.name, block, hosts: [] };
    await writeState(paths.stateFile, state);
    return state;
  });
}

async function removeHosts(paths: LabPaths, records: readonly HostRecord[]): Promise<void> {
  const procs: NspawnProcess[] = [];
  for (const record of records) {
    procs.push(...(await nspawnsUnder(hostPaths(paths, record.name).dir)));
    if (await isOurNspawn(record.pid, record.machine)) procs.push({ pid: record.pid!, machine: record.machine });
  }
  await stopNspawns(procs);
  for (const record of records) await removeTree(hostPaths(paths, record.name).dir);
}

function toLabHost(record: HostRecord, running: boolean, state?: string): LabHost {
  return {
    name: record.name,
    address: record.address,
    ...(running && record.pid !== undefined ? { pid: record.pid } : {}),
    state: running ? 'running' : 'stopped',
    ...(state !== undefined ? { systemState: state } : {}),
  };
}

async function writeGeneratedFiles(paths: LabPaths, state: LabState): Promise<void> {
  const known: string[] = [];
  for (const h of state.hosts) known.push(...(await knownHostsLines(hostPaths(paths, h.name).merged, h.address)));
  await writeFile(paths.knownHostsFile, `${known.join('\n')}\n`, { mode: 0o644 });
  await writeFile(paths.inventoryFile, inventoryText(paths, state), { mode: 0o644 });
}

function inventoryText(paths: LabPaths, state: LabState): string {
  return renderInventoryYaml({
    name: paths.name,
    keyFile: paths.keyFile,
    knownHostsFile: paths.knownHostsFile,
    hosts: state.hosts.map((h) => ({ name: h.name, address: h.address })),
  });
}

/**
 * Bring the lab to exactly `hosts` running hosts and wait until each is `running` with sshd
 * answering. Idempotent: running hosts are only checked, missing ones are created, extra ones are
 * removed, and hosts whose processes died with an earlier session are remounted and booted again
 * with their upper dir (and so their host keys and changes) intact.
 */
export async function labUp(opts: LabOptions & { hosts?: number } = {}): Promise<LabHost[]> {
  const count = opts.hosts ?? DEFAULT_HOSTS;
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) {
    throw new LanesError(`invalid number of lab hosts: ${count}`, { kind: 'input', hint: `use 1–${MAX_HOSTS}` });
  }
  const paths = labPaths(opts);
  requireRoot('lab up');
  const progress = opts.onProgress ?? (() => undefined);
  await mkdir(paths.labDir, { recursive: true, mode: 0o755 });

  return withLock(paths.lockFile, { timeoutMs: 15 * 60_000, what: `changing lab "${paths.name}"`, onWait: progress }, async () => {
    await ensureTools(progress);
    const image = await ensureImage(paths.imagesDir, progress);
    const state = await loadOrCreateState(paths);
    const authorizedKey = await ensureKeyPair(paths);

    // Fewer hosts than before: remove the extra ones (stopped together, which takes one shutdown's time).
    const extras = state.hosts.filter((h) => h.index > count);
    if (extras.length > 0) {
      progress(`removing ${extras.map((h) => h.name).join(', ')}`);
      await removeHosts(paths, extras);
      state.hosts = state.hosts.filter((h) => h.index <= count);
      await writeState(paths.stateFile, state);
    }

    // Decide per host: keep it (running on this image), or (re)create it — a host whose processes
    // died with an earlier session keeps its upper dir and so its host keys and changes.
    const records: HostRecord[] = [];
    const toBoot: { record: HostRecord; fresh: boolean }[] = [];
    for (let index = 1; index <= count; index++) {
      const name = hostName(index);
      const hp = hostPaths(paths, name);
      let record = state.hosts.find((h) => h.index === index);
      if (record && record.image !== image.dir) {
        progress(`${name}: rebuilding on the new base image`);
        await removeHosts(paths, [record]);
        state.hosts = state.hosts.filter((h) => h !== record);
        record = undefined;
      }
      if (record && (await isOurNspawn(record.pid, record.machine)) && (await overlayStatus(hp, image.dir)) === 'ours') {
        records.push(record);
        continue;
      }
      const fresh = !record || !(await fileExists(hp.upper));
      record = { name, index, address: hostAddress(state.block, index), machine: machineName(paths.name, name), image: image.dir };
      records.push(record);
      toBoot.push({ record, fresh });
    }
    state.hosts = records;
    await writeState(paths.stateFile, state);

    const booted = new Map<string, string>();
    if (toBoot.length > 0) {
      progress(`booting ${toBoot.map((h) => h.record.name).join(', ')}`);
      const started = Date.now();
      await pool(toBoot, bootConcurrency(), async ({ record, fresh }) => {
        const hp = hostPaths(paths, record.name);
        // Whatever is left goes: a process the state lost track of, an overlay from an earlier session.
        await stopNspawns(await nspawnsUnder(hp.dir));
        if ((await unmountHost(hp)) > 0) progress(`${record.name}: unmounted a stale overlay`);
        if (fresh) await removeTree(hp.dir);
        for (const port of [22, 80]) {
          if (!(await canBind(record.address, port))) {
            throw new LanesError(`${record.address}:${port} is already taken on this machine`, {
              kind: 'lab',
              host: record.name,
              hint: `find the listener with \`ss -ltnp 'sport = :${port}'\`; a server bound to 0.0.0.0:${port} or [::]:${port} takes every loopback address`,
            });
          }
        }
        await mountOverlay(hp, image.dir);
        await prepareHost({ root: hp.merged, host: record.name, address: record.address, authorizedKey, fresh });
        record.pid = await startNspawn(hp.merged, record.machine, hp.consoleLog);
        record.bootedAt = new Date().toISOString();
        await writeState(paths.stateFile, state);
        const r = await waitForBoot({ host: record.name, address: record.address, machine: record.machine, pid: record.pid, consoleLog: hp.consoleLog }, BOOT_TIMEOUT_MS);
        booted.set(record.name, r.systemState);
        progress(`${record.name} (${record.address}) is ${r.systemState} after ${r.seconds.toFixed(1)} s`);
      });
      progress(`booted ${toBoot.length} host(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }

    // Hosts that were already running are checked the same way, without rebooting them.
    const hosts: LabHost[] = [];
    await pool(
      records.filter((r) => !booted.has(r.name)),
      bootConcurrency(),
      async (record) => {
        const hp = hostPaths(paths, record.name);
        const r = await waitForBoot({ host: record.name, address: record.address, machine: record.machine, pid: record.pid!, consoleLog: hp.consoleLog }, 60_000);
        booted.set(record.name, r.systemState);
      },
    );
    for (const record of records) hosts.push(toLabHost(record, true, booted.get(record.name)));

    await writeGeneratedFiles(paths, state);
    await writeState(paths.stateFile, state);
    progress(`lab "${paths.name}" is up: ${hosts.length} host(s); inventory ${paths.inventoryFile}`);
    return hosts;
  });
}

/** The lab's hosts as recorded, with whether each runs and (as root) what systemd inside says. */
export async function labStatus(opts: LabOptions = {}): Promise<LabHost[]> {
  const paths = labPaths(opts);
  const state = await readState(paths.stateFile);
  if (!state) return [];
  const root = isRoot();
  return Promise.all(
    [...state.hosts]
      .sort((a, b) => a.index - b.index)
      .map(async (record) => {
        const running = await isOurNspawn(record.pid, record.machine);
        let sys: string | undefined;
        if (running && root) {
          const init = await initPidOf(record.pid!);
          sys = init === undefined ? 'starting' : ((await systemState(init, { timeoutMs: 10_000 })) ?? 'unknown');
        }
        return toLabHost(record, running, sys);
      }),
  );
}

/**
 * Stop every host (SIGTERM, SIGKILL after a deadline), unmount the overlays, delete the hosts' state.
 * The lab key stays (a later `up` gives the same key); `forget` removes the lab's directory entirely
 * (the test entry does, for its throwaway labs).
 */
export async function labDown(opts: LabOptions & { forget?: boolean } = {}): Promise<void> {
  const paths = labPaths(opts);
  requireRoot('lab down');
  const progress = opts.onProgress ?? (() => undefined);
  if (!(await fileExists(paths.labDir))) {
    progress(`lab "${paths.name}" does not exist; nothing to do`);
    return;
  }
  await withLock(paths.lockFile, { timeoutMs: 15 * 60_000, what: `changing lab "${paths.name}"`, onWait: progress }, async () => {
    // An unreadable state file must not keep `down` from cleaning up: processes and mounts are found without it.
    const state = await readState(paths.stateFile).catch(() => null);
    // Hosts found running under the lab's directory, plus every recorded one (whose cgroups go too).
    const procs: NspawnProcess[] = await nspawnsUnder(paths.hostsDir);
    for (const h of state?.hosts ?? []) {
      if (!procs.some((p) => p.machine === h.machine)) procs.push({ pid: (await isOurNspawn(h.pid, h.machine)) ? h.pid! : 0, machine: h.machine });
    }
    const running = procs.filter((p) => p.pid > 0).length;
    if (running > 0) progress(`stopping ${running} host(s)`);
    await stopNspawns(procs);
    const unmounted = await unmountUnder(paths.hostsDir);
    if (unmounted > 0) progress(`unmounted ${unmounted} overlay(s)`);
    await removeTree(paths.hostsDir);
    await rm(paths.knownHostsFile, { force: true });
    await rm(paths.inventoryFile, { force: true });
    if (state) {
      state.hosts = [];
      await writeState(paths.stateFile, state);
    } else if (state === null) {
      await rm(paths.stateFile, { force: true });
    }
    progress(opts.forget ? `lab "${paths.name}" is down and forgotten (kept: image cache ${paths.imagesDir})` : `lab "${paths.name}" is down (kept: lab key ${paths.keyFile}, image cache ${paths.imagesDir})`);
  });
  if (opts.forget) await rm(paths.labDir, { recursive: true, force: true });
}

/** The lab as an Ansible YAML inventory (the hosts recorded by the last `up`). */
export async function labInventoryYaml(opts: LabOptions = {}): Promise<string> {
  const paths = labPaths(opts);
  const state = await readState(paths.stateFile);
  if (!state || state.hosts.length === 0) {
    throw new LanesError(`lab "${paths.name}" has no hosts`, { kind: 'lab', hint: `run \`lanes lab up${paths.name === 'lanes' ? '' : ` --name ${paths.name}`}\` first` });
  }
  return inventoryText(paths, state);
}
