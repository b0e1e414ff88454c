/**
 * A simulated fleet: N virtual SSH hosts served by a few simulator processes (server.ts), with a
 * generated host key (one per process, in a generated known_hosts, checked strictly), a generated
 * client key, and an Ansible YAML inventory naming them `sim0001`… on 127.0.0.1:PORT, become on (the
 * simulator answers lanes' sudo wrapper). Hosts are spread over the processes round-robin.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { yamlScalar } from '../../agent/lab/inventory.js';
import { shq } from '../../agent/transport/quote.js';
import { parsableKeyPair } from '../../test/support/ssh-keys.js';
import type { Recording } from './answer.js';
import type { ServerConfig, ServerStats } from './server.js';

export interface SimFleetOptions {
  hosts: number;
  /** Directory for keys, known_hosts, the recording and inventories. */
  dir: string;
  recording: Recording;
  /** Simulator processes (default 2). */
  processes?: number;
  latencyMs?: number;
  /** Fraction of hosts (0–1) that drop every connection; which ones is deterministic. */
  failRate?: number;
}

export interface SimHost {
  name: string;
  port: number;
  failing: boolean;
}

export interface SimFleet {
  hosts: SimHost[];
  keyFile: string;
  knownHostsFile: string;
  /** Write an inventory of the first `n` hosts; returns its path. */
  inventory(n: number): Promise<string>;
  /** Connect times and exec counts since the last drain, over all processes. */
  drain(): Promise<ServerStats>;
  stop(): void;
}

const serverEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'server.js');

/** Host i fails when it falls in the first `rate` of an even spread (rate 0.1 → hosts 9, 19, 29, …). */
export function isFailing(i: number, rate: number): boolean {
  return rate > 0 && Math.floor((i + 1) * rate) > Math.floor(i * rate);
}

function once<T>(child: ChildProcess, pick: (m: unknown) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown) => {
      const v = pick(m);
      if (v === undefined) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(v);
    };
    const onExit = (code: number | null) => reject(new Error(`simulator process exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export async function startSimFleet(opts: SimFleetOptions): Promise<SimFleet> {
  await mkdir(opts.dir, { recursive: true });
  const client = parsableKeyPair();
  const keyFile = path.join(opts.dir, 'id_ed25519');
  await writeFile(keyFile, client.private, { mode: 0o600 });
  const recordingFile = path.join(opts.dir, 'recording.json');
  await writeFile(recordingFile, JSON.stringify(opts.recording));

  const nproc = Math.max(1, Math.min(opts.processes ?? 2, opts.hosts));
  const children: ChildProcess[] = [];
  const hostKeys: string[] = [];
  const started: Promise<number[]>[] = [];
  for (let p = 0; p < nproc; p++) {
    const indexes = [...Array(opts.hosts).keys()].filter((i) => i % nproc === p);
    const hostKey = parsableKeyPair();
    hostKeys.push(hostKey.public);
    const child = fork(serverEntry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    const cfg: ServerConfig = {
      hosts: indexes.length,
      failing: indexes.flatMap((hostIndex, local) => (isFailing(hostIndex, opts.failRate ?? 0) ? [local] : [])),
      hostKey: hostKey.private,
      clientKey: client.public,
      recordingFile,
      latencyMs: opts.latencyMs ?? 0,
    };
    child.send({ start: cfg });
    started.push(once(child, (m) => (m as { ports?: number[] }).ports));
  }
  const stop = () => {
    for (const c of children) if (c.exitCode === null) c.kill();
  };
  let portsPerProcess: number[][];
  try {
    portsPerProcess = await Promise.all(started);
  } catch (err) {
    stop();
    throw err;
  }

  const hosts: SimHost[] = [];
  const known: string[] = [];
  for (let i = 0; i < opts.hosts; i++) {
    const p = i % nproc;
    const port = portsPerProcess[p]![Math.floor(i / nproc)]!;
    hosts.push({ name: `sim${String(i + 1).padStart(4, '0')}`, port, failing: isFailing(i, opts.failRate ?? 0) });
    known.push(`[127.0.0.1]:${port} ${hostKeys[p]!.split(' ').slice(0, 2).join(' ')}`);
  }
  const knownHostsFile = path.join(opts.dir, 'known_hosts');
  await writeFile(knownHostsFile, `${known.join('\n')}\n`);

  return {
    hosts,
    keyFile,
    knownHostsFile,
    async inventory(n) {
      const file = path.join(opts.dir, `inventory-${n}.yml`);
      const hostVars = Object.entries(opts.recording.vars).map(([k, v]) => `, ${k}: ${yamlScalar(v)}`).join('');
      const lines = [
        'all:',
        '  vars:',
        '    ansible_user: lanes',
        `    ansible_ssh_private_key_file: ${yamlScalar(keyFile)}`,
        `    ansible_ssh_common_args: ${JSON.stringify(`-o UserKnownHostsFile=${shq(knownHostsFile)} -o StrictHostKeyChecking=yes`)}`,
        '    ansible_become: true',
        '  children:',
        '    app:',
        '      hosts:',
        ...hosts.slice(0, n).map((h) => `        ${h.name}: { ansible_host: 127.0.0.1, ansible_port: ${h.port}${hostVars} }`),
      ];
      await writeFile(file, `${lines.join('\n')}\n`);
      return file;
    },
    async drain() {
      const all = await Promise.all(
        children.map((c) => {
          const got = once(c, (m) => (m as { stats?: ServerStats }).stats);
          c.send({ drain: true });
          return got;
        }),
      );
      return { connectMs: all.flatMap((s) => s.connectMs), execs: all.reduce((n, s) => n + s.execs, 0), unanswered: all.reduce((n, s) => n + s.unanswered, 0) };
    },
    stop,
  };
}
