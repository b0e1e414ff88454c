/**
 * Booting and stopping hosts: `systemd-nspawn -b` detached from lanes (own process group, console to
 * a log file), so hosts outlive the command that started them; looking inside through nsenter on
 * the container's PID 1.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { LanesError } from '../errors.js';
import { shCommand, shq } from '../transport/quote.js';
import { cgroupPids, hostCgroupDirs, prepareHostCgroups, readCgroupLayout, removeCgroupTree } from './cgroup.js';
import { lastLine, run, toolEnv } from './exec.js';
import { pidAlive } from './lock.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function nspawnArgs(merged: string, machine: string): string[] {
  return ['-D', merged, '-b', '--register=no', '--keep-unit', `--machine=${machine}`, '--console=read-only'];
}

/**
 * Start the host in a cgroup of its own; returns the pid of systemd-nspawn. A tiny shell moves
 * itself into the host's cgroups and then execs nspawn, so nspawn never runs anywhere else.
 */
export async function startNspawn(merged: string, machine: string, consoleLog: string): Promise<number> {
  const layout = await readCgroupLayout();
  const cgroups = hostCgroupDirs(layout, machine);
  await killAll(await cgroupPids(cgroups));
  await prepareHostCgroups(cgroups);
  const script = [
    ...cgroups.map((dir) => `echo $$ > ${shq(path.join(dir, 'cgroup.procs'))} || exit 125`),
    `exec ${shCommand(['systemd-nspawn', ...nspawnArgs(merged, machine)])}`,
  ].join('\n');
  const fd = openSync(consoleLog, 'a');
  let pid: number;
  try {
    writeSync(fd, `\n=== lanes: booting ${machine} at ${new Date().toISOString()} ===\n`);
    const child = spawn('/bin/sh', ['-c', script], {
      detached: true,
      stdio: ['ignore', fd, fd],
      // A machine with a legacy or hybrid cgroup tree and no machined / system bus needs the
      // legacy layout inside the container too (see LAB-NOTES).
      env: toolEnv(layout.legacy ? { SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '0' } : {}),
    });
    pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new LanesError(`could not start systemd-nspawn: ${err.message}`, { kind: 'lab', hint: 'install systemd-container' })));
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  // Wait for the exec, so that the pid is systemd-nspawn's from here on.
  const until = Date.now() + 10_000;
  while (!(await isOurNspawn(pid, machine))) {
    if (!pidAlive(pid) || Date.now() > until) {
      throw new LanesError('systemd-nspawn did not start', { kind: 'lab', host: machine, hint: `see ${consoleLog}` });
    }
    await sleep(20);
  }
  return pid;
}

async function killAll(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const until = Date.now() + 5000;
  while (pids.some(pidAlive) && Date.now() < until) await sleep(50);
}

async function readCmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a) => a !== '');
  } catch {
    return undefined;
  }
}

/** Is `pid` the systemd-nspawn of this machine (and not a recycled pid)? */
export async function isOurNspawn(pid: number | undefined, machine: string): Promise<boolean> {
  if (pid === undefined || !pidAlive(pid)) return false;
  const argv = await readCmdline(pid);
  return !!argv && path.basename(argv[0] ?? '') === 'systemd-nspawn' && argv.includes(`--machine=${machine}`);
}

export interface NspawnProcess {
  pid: number;
  machine: string;
}

/** Every systemd-nspawn whose root lies under `dir` (to catch hosts the state file lost track of). */
export async function nspawnsUnder(dir: string): Promise<NspawnProcess[]> {
  const out: NspawnProcess[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readCmdline(Number(entry));
    if (!argv || path.basename(argv[0] ?? '') !== 'systemd-nspawn') continue;
    const d = argv.indexOf('-D');
    const root = d >= 0 ? argv[d + 1] : argv.find((a) => a.startsWith('--directory='))?.slice('--directory='.length);
    const machine = argv.find((a) => a.startsWith('--machine='))?.slice('--machine='.length) ?? '';
    if (root && (root === dir || root.startsWith(`${dir}/`))) out.push({ pid: Number(entry), machine });
  }
  return out;
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.trim().split(/\s+/).filter((s) => s !== '').map(Number);
  } catch {
    return [];
  }
}

async function comm(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** The container's PID 1 (systemd), seen from the machine. */
export async function initPidOf(nspawnPid: number): Promise<number | undefined> {
  for (const child of await childrenOf(nspawnPid)) {
    if ((await comm(child)) === 'systemd') return child;
  }
  return undefined;
}

/** Run a command inside the host (all of PID 1's namespaces). */
export function inHost(initPid: number, command: readonly string[], timeoutMs = 30_000) {
  return run('nsenter', ['--target', String(initPid), '--all', '--', ...command], {
    timeoutMs,
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', SYSTEMD_COLORS: '0' },
  });
}

const SYSTEM_STATES = ['initializing', 'starting', 'running', 'degraded', 'maintenance', 'stopping', 'offline', 'unknown'];

/** `systemctl is-system-running` inside the host; undefined while systemd cannot be asked yet. */
export async function systemState(initPid: number, opts: { wait?: boolean; timeoutMs?: number } = {}): Promise<string | undefined> {
  const r = await inHost(initPid, ['systemctl', 'is-system-running', ...(opts.wait ? ['--wait'] : [])], opts.timeoutMs ?? 10_000);
  const state = lastLine(r.stdout);
  return SYSTEM_STATES.includes(state) && state !== 'offline' && state !== 'unknown' ? state : undefined;
}

export async function failedUnits(initPid: number): Promise<string[]> {
  const r = await inHost(initPid, ['systemctl', '--failed', '--no-legend', '--plain']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((u) => u !== '');
}

/** Resolves when something on address:port sends an SSH banner. */
export function sshBanner(address: string, port = 22, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: address, port });
    let buf = '';
    const done = (v: string | undefined): void => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(undefined));
    sock.on('error', () => done(undefined));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(buf.startsWith('SSH-') ? buf.slice(0, nl).trim() : undefined);
    });
    sock.on('end', () => done(undefined));
  });
}

/** Could a host bind address:port? (Nothing else may listen there, nor on the wildcard address.) */
export function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: address, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function consoleTail(consoleLog: string): Promise<string> {
  try {
    // eslint-disable-next-line no-control-regex -- strip the console's colour escapes
    const text = (await readFile(consoleLog, 'utf8')).replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    // The last line is what nspawn said last (its own errors come right before it exits); systemd's
    // usual boot noise under a hybrid cgroup tree ("Failed to create symlink …") is not the cause.
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('=== lanes:'));
    return lines[lines.length - 1] ?? '';
  } catch {
    return '';
  }
}

export interface BootTarget {
  host: string;
  address: string;
  machine: string;
  pid: number;
  consoleLog: string;
}

export interface BootResult {
  initPid: number;
  systemState: string;
  seconds: number;
}

/**
 * Wait until the host's systemd has finished booting (running, or degraded — an error naming the
 * failed units) and its sshd answers on port 22.
 */
export async function waitForBoot(t: BootTarget, timeoutMs: number): Promise<BootResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const fail = async (what: string): Promise<never> => {
    const tail = await consoleTail(t.consoleLog);
    throw new LanesError(`${what}${tail ? `; console: ${tail}` : ''}`, { kind: 'lab', host: t.host, hint: `see ${t.consoleLog}` });
  };
  const gone = async (): Promise<never> => fail(`systemd-nspawn (pid ${t.pid}) exited while booting`);

  let initPid: number | undefined;
  while (!(initPid = await initPidOf(t.pid))) {
    if (!(await isOurNspawn(t.pid, t.machine))) return gone();
    if (Date.now() > deadline) return fail('the container did not start systemd');
    await sleep(100);
  }

  let state: string | undefined;
  while (!(state = await systemState(initPid, { wait: true, timeoutMs: Math.max(1000, deadline - Date.now()) }))) {
    if (!(await isOurNspawn(t.pid, t.machine))) return gone();
    if (Date.now() > deadline) return fail(`systemd did not finish booting within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
  }
  if (state === 'starting' || state === 'initializing') return fail(`systemd did not finish booting within ${Math.round(timeoutMs / 1000)} s (still ${state})`);
  if (state === 'degraded') {
    const units = await failedUnits(initPid);
    throw new LanesError(`booted degraded: failed units ${units.join(', ') || '(none listed)'}`, {
      kind: 'lab',
      host: t.host,
      hint: `look inside with \`nsenter -t ${initPid} -a systemctl status ${units[0] ?? ''}\`; clear it with \`systemctl reset-failed\` there, or recreate the lab with \`lanes lab down\``,
    });
  }
  if (state !== 'running') return fail(`systemd reports "${state}" after booting`);

  while (!(await sshBanner(t.address))) {
    if (!(await isOurNspawn(t.pid, t.machine))) return gone();
    if (Date.now() > deadline) return fail(`sshd does not answer on ${t.address}:22`);
    await sleep(200);
  }
  return { initPid, systemState: state, seconds: (Date.now() - started) / 1000 };
}

/**
 * Stop hosts: SIGTERM to systemd-nspawn (a clean shutdown takes about 2 s); after the deadline
 * SIGKILL to it and to everything in the host's cgroups. The hosts' cgroups are removed.
 */
export async function stopNspawns(procs: readonly NspawnProcess[], deadlineMs = 20_000): Promise<void> {
  const layout = await readCgroupLayout();
  const live = procs.filter((p) => pidAlive(p.pid));
  for (const { pid } of live) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const until = Date.now() + deadlineMs;
  while (live.some((p) => pidAlive(p.pid)) && Date.now() < until) await sleep(100);
  for (const p of procs) {
    const cgroups = hostCgroupDirs(layout, p.machine);
    const left = [...(pidAlive(p.pid) ? [p.pid] : []), ...(await cgroupPids(cgroups))];
    await killAll(left);
    for (const dir of cgroups) await removeCgroupTree(dir);
  }
  const stuck = live.filter((p) => pidAlive(p.pid)).map((p) => p.pid);
  if (stuck.length > 0) throw new LanesError(`systemd-nspawn pid ${stuck.join(', ')} did not exit`, { kind: 'lab', hint: 'kill it by hand, then run `lanes lab down` again' });
}
