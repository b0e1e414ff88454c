/**
 * `npm run bench`: what a no-op `lanes plan` of playbooks/site.yml costs on 1, 3 and 10 lab hosts
 * (one lab, subsets by --limit), beside an independent floor (floor.ts: one OpenSSH exec per host in
 * parallel reading the same state with the fewest processes, written by hand), lanes' start time
 * beside a bare `node -e 0`, the CLI's peak RSS and, with `--peer ansible`, `ansible-playbook --check`
 * of an equivalent playbook. `--simulate N` runs the fleet simulator instead (simulator/).
 *
 * A benchmark prints figures and never fails on them: it fails only when something errors or when
 * the no-op plan is not a no-op. Usage: see args.ts (USAGE).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applyFleet } from '../agent/apply/run.js';
import { labPaths, labStatus, labUp, type LabHost } from '../agent/lab/index.js';
import { probesFor } from '../agent/plan/plan-host.js';
import { preparePlaybookRun } from '../agent/plan/prepare.js';
import { planFleet } from '../agent/plan/run.js';
import { EventBus } from '../agent/report/events.js';
import { findAnsible, runAnsibleCheck } from './ansible.js';
import { parseBenchArgs, type BenchArgs } from './args.js';
import { floorCommand, uncoveredProbes, type FloorSupervisor } from './floor.js';
import { median, root, runChild, runCli, spread } from './measure.js';
import type { Recording } from './simulator/answer.js';
import { recordHost } from './simulator/record.js';
import { simTable, simulate } from './simulator/simulate.js';

const playbook = path.join(root, 'playbooks', 'site.yml');
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Boot (or reuse) the lab with `hosts` hosts and converge it, so every plan measured is a no-op. */
async function convergedLab(args: BenchArgs, hosts: number) {
  log(`lab "${args.lab}" with ${hosts} host(s)`);
  const lab = await labUp({ name: args.lab, hosts });
  const paths = labPaths({ name: args.lab });
  const prepared = await preparePlaybookRun({ playbook, inventory: [paths.inventoryFile] });
  // The hand-written floor must still read everything lanes' plan reads (else its figure is too low).
  const missing = uncoveredProbes(probesFor(prepared.desired.get(lab[0]!.name) ?? []));
  if (missing.length) throw new Error(`bench/floor.ts no longer covers what lanes reads: ${missing.join(', ')}`);
  const converged = await applyFleet(prepared.desired, prepared.hosts, { bus: new EventBus(), command: 'bench', forks: 50 });
  if (!converged.ok) throw new Error(`converging the lab failed: ${JSON.stringify(converged.summary.failures)}`);
  return { lab, paths, prepared };
}

function floorRun(hosts: readonly LabHost[], paths: ReturnType<typeof labPaths>, supervisor: FloorSupervisor): Promise<number> {
  const t0 = performance.now();
  return Promise.all(
    hosts.map(async (h) => {
      const r = await runChild('ssh', [
        '-o', 'BatchMode=yes', '-o', 'ControlMaster=no', '-o', 'ControlPath=none',
        '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${paths.knownHostsFile}`,
        '-i', paths.keyFile, `lanes@${h.address}`, floorCommand(supervisor),
      ]);
      const supervisorAnswered = supervisor === 'xmlrpc' ? r.stdout.includes('<methodResponse>') : /^\S+ +RUNNING /m.test(r.stdout);
      if (r.code !== 0 || !r.stdout.includes('Id=workers.slice') || !supervisorAnswered) throw new Error(`the floor on ${h.name} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }),
  ).then(() => performance.now() - t0);
}

async function labBench(args: BenchArgs): Promise<void> {
  const { lab, paths } = await convergedLab(args, Math.max(...args.hosts));
  const ansible = args.peer === 'ansible' ? findAnsible() : undefined;
  if (args.peer === 'ansible' && !ansible) log('--peer ansible: ansible-playbook is not installed; the peer column stays empty');
  const rows: string[] = [];
  for (const n of args.hosts) {
    const hosts = lab.slice(0, n);
    const limit = hosts.map((h) => h.name).join(':');
    const prepared = await preparePlaybookRun({ playbook, inventory: [paths.inventoryFile], limit });
    const cli: number[] = [];
    const lib: number[] = [];
    const floor: number[] = [];
    const floorX: number[] = [];
    let rss = 0;
    log(`${n} host(s): ${args.runs} runs of the CLI, the library and the two floors, interleaved`);
    for (let i = 0; i < args.runs; i++) {
      const c = await runCli(['plan', playbook, '-i', paths.inventoryFile, '--limit', limit, '--detailed-exitcode'], { rss: true });
      if (c.code !== 0) throw new Error(`lanes plan on ${n} hosts exited ${c.code} (2: not a no-op)\n${c.stdout.slice(-2000)}${c.stderr.slice(-2000)}`);
      cli.push(c.ms);
      rss = Math.max(rss, c.rssMiB ?? NaN);
      const t0 = performance.now();
      const r = await planFleet(prepared.desired, prepared.hosts, { bus: new EventBus(), command: 'bench', forks: 50 });
      lib.push(performance.now() - t0);
      const changes = r.hosts.reduce((k, h) => k + (h.data?.changes.length ?? 0), 0);
      if (!r.ok || changes !== 0) throw new Error(`the no-op plan was not a no-op (${changes} changes, ok=${r.ok})`);
      floor.push(await floorRun(hosts, paths, 'supervisorctl'));
      floorX.push(await floorRun(hosts, paths, 'xmlrpc'));
    }
    let peer = '';
    if (ansible) {
      log(`${n} host(s): ansible-playbook --check (one run)`);
      const a = await runAnsibleCheck(ansible, paths.inventoryFile, limit, 50);
      peer = `   ${(a.ms / 1000).toFixed(1)} s = ${(a.ms / median(cli)).toFixed(1)}x the CLI`;
    }
    const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}x`.padEnd(10);
    rows.push(
      `  ${String(n).padStart(5)}   ${spread(cli).padEnd(24)} ${spread(lib).padEnd(24)} ${spread(floor).padEnd(24)} ${spread(floorX).padEnd(24)} ${ratio(cli, floor)} ${ratio(lib, floor)} ${ratio(cli, floorX)} ${ratio(lib, floorX)} ${`${rss.toFixed(0)} MiB`.padEnd(9)}${peer}`,
    );
  }

  log('start time: node -e 0, lanes --version, lanes plan --help (10 each, interleaved)');
  const bare: number[] = [];
  const version: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < 10; i++) {
    bare.push((await runChild(process.execPath, ['-e', '0'])).ms);
    version.push((await runCli(['--version'])).ms);
    help.push((await runCli(['plan', '--help'])).ms);
  }
  const libRss = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    [
      `no-op plan of playbooks/site.yml on lab "${args.lab}", median (min–max) of ${args.runs} runs; target CLI / floor <= 1.30x`,
      '  lanes CLI = `node dist/bin/main.js plan … --detailed-exitcode` as a child process (start, inventory, playbook, plan, render)',
      '  lanes library = planFleet() in this process (connect, one exec, plan); floor = bench/floor.ts over OpenSSH, one exec per host',
      '  floor S reads Supervisor with `supervisorctl status` (as the issue defined it); floor X with one raw XML-RPC request, as lanes does',
      `  hosts   ${'lanes CLI'.padEnd(24)} ${'lanes library'.padEnd(24)} ${'floor S (OpenSSH)'.padEnd(24)} ${'floor X (OpenSSH)'.padEnd(24)} ${'CLI/S'.padEnd(10)} ${'lib/S'.padEnd(10)} ${'CLI/X'.padEnd(10)} ${'lib/X'.padEnd(10)} ${'CLI RSS'.padEnd(9)}${ansible ? '   ansible --check (1 run)' : ''}`,
      ...rows,
      `  peak RSS of the bench process (library runs, lab setup): ${libRss.toFixed(0)} MiB`,
      `start time, median (min–max) of 10; target <= 2x node -e 0`,
      `  node -e 0            ${spread(bare)}`,
      `  lanes --version      ${spread(version)}   ${(median(version) / median(bare)).toFixed(2)}x`,
      `  lanes plan --help    ${spread(help)}   ${(median(help) / median(bare)).toFixed(2)}x`,
      '',
    ].join('\n'),
  );
}

async function recording(args: BenchArgs): Promise<Recording> {
  if (args.recording) return JSON.parse(await readFile(args.recording, 'utf8')) as Recording;
  const { lab, paths } = await convergedLab(args, (await labUpCount(args)) ?? 1);
  const prepared = await preparePlaybookRun({ playbook, inventory: [paths.inventoryFile], limit: lab[0]!.name });
  log(`recording ${lab[0]!.name}'s state read`);
  return recordHost(prepared, lab[0]!.name);
}

/** How many hosts the bench lab already runs (reused as is, so a recording does not trim a lab of 10). */
async function labUpCount(args: BenchArgs): Promise<number | undefined> {
  const running = (await labStatus({ name: args.lab })).filter((h) => h.state === 'running').length;
  return running || undefined;
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args.record) {
    await writeFile(args.record, `${JSON.stringify(await recording({ ...args, recording: undefined }), null, 1)}\n`);
    log(`recorded to ${args.record}`);
    return;
  }
  if (args.simulate) {
    const rec = await recording(args);
    const opts = { latencyMs: args.simLatencyMs, failRate: args.simFailRate, forks: args.forks };
    const figures = await simulate({ ...opts, max: args.simulate, recording: rec, playbook, ...(args.cpuProf ? { cpuProfDir: args.cpuProf } : {}) });
    process.stdout.write(simTable(figures, opts));
    return;
  }
  await labBench(args);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
