/**
 * `npm run bench`: the no-op plan of playbooks/site.yml on N lab hosts, beside its floor — one
 * parallel OpenSSH exec per host that reads the same state (same script, same sudo) — and their
 * ratio. Target: ratio ≤ 1.3. Also the CLI's wall time and peak memory for the same plan.
 * A benchmark, not a test: it prints figures and never fails on them.
 *
 *   LANES_BENCH_HOSTS=3 LANES_BENCH_RUNS=7 npm run bench
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyFleet } from '../agent/apply/run.js';
import { gatherScript } from '../agent/facts/gather.js';
import { stateFacts } from '../agent/facts/probes.js';
import { labPaths, labUp } from '../agent/lab/index.js';
import { probesFor } from '../agent/plan/plan-host.js';
import { preparePlaybookRun } from '../agent/plan/prepare.js';
import { planFleet } from '../agent/plan/run.js';
import { EventBus } from '../agent/report/events.js';
import { wrapSudo } from '../agent/transport/sudo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hostsWanted = Number(process.env.LANES_BENCH_HOSTS ?? 3);
const runs = Number(process.env.LANES_BENCH_RUNS ?? 7);
const playbook = path.join(root, 'playbooks', 'site.yml');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function run(cmd: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) process.stderr.write(stderr);
      resolve({ code, stdout });
    });
    child.stdin.end(input ?? '');
  });
}

async function main() {
  process.stderr.write(`bench: lab with ${hostsWanted} hosts\n`);
  const lab = await labUp({ hosts: hostsWanted });
  const paths = labPaths({});
  const prepared = await preparePlaybookRun({ playbook, inventory: [paths.inventoryFile] });
  const bus = new EventBus();
  const common = { bus, command: 'bench', forks: 50 };

  // Converge first, so what is measured is the no-op plan a CI drift check runs.
  const converged = await applyFleet(prepared.desired, prepared.hosts, common);
  if (!converged.ok) throw new Error(`converging the lab failed: ${JSON.stringify(converged.summary.failures)}`);

  // lanes: connect + one exec reading all state + pure plan, all hosts in parallel.
  const lanesMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await planFleet(prepared.desired, prepared.hosts, common);
    lanesMs.push(performance.now() - t0);
    const changes = r.hosts.reduce((n, h) => n + (h.data?.changes.length ?? 0), 0);
    if (!r.ok || changes !== 0) throw new Error(`the no-op plan was not a no-op (${changes} changes, ok=${r.ok})`);
  }

  // Floor: OpenSSH, one exec per host in parallel, the same state-reading script under the same sudo.
  const floorMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await Promise.all(
      lab.map((h) => {
        const desired = prepared.desired.get(h.name) ?? [];
        const script = gatherScript(stateFacts(probesFor(desired)), randomBytes(6).toString('hex'));
        const { command } = wrapSudo(script, { user: 'root' });
        return run('ssh', [
          '-o', 'BatchMode=yes',
          '-o', 'StrictHostKeyChecking=yes',
          '-o', `UserKnownHostsFile=${paths.knownHostsFile}`,
          '-o', 'ControlMaster=no',
          '-i', paths.keyFile,
          `lanes@${h.address}`,
          command,
        ]).then((r) => {
          if (r.code !== 0) throw new Error(`ssh to ${h.name} exited ${r.code}`);
        });
      }),
    );
    floorMs.push(performance.now() - t0);
  }

  // The CLI end to end: process start, inventory, playbook, plan, render.
  const cliMs: number[] = [];
  for (let i = 0; i < Math.min(runs, 3); i++) {
    const t0 = performance.now();
    const r = await run(process.execPath, [path.join(root, 'dist/cli/main.js'), 'plan', playbook, '-i', paths.inventoryFile, '--detailed-exitcode']);
    cliMs.push(performance.now() - t0);
    if (r.code !== 0) throw new Error(`lanes plan exited ${r.code}`);
  }
  const rssMiB = process.resourceUsage().maxRSS / 1024;

  const lanes = median(lanesMs);
  const floor = median(floorMs);
  const fmt = (n: number) => `${n.toFixed(0)} ms`;
  process.stdout.write(
    [
      `no-op plan of playbooks/site.yml on ${lab.length} lab hosts, median of ${runs} runs`,
      `  lanes (library: connect, 1 exec, plan)    ${fmt(lanes)}   [${lanesMs.map((x) => x.toFixed(0)).join(', ')}]`,
      `  floor (OpenSSH, 1 parallel exec per host)  ${fmt(floor)}   [${floorMs.map((x) => x.toFixed(0)).join(', ')}]`,
      `  ratio lanes / floor                        ${(lanes / floor).toFixed(2)}x   (target <= 1.30x)`,
      `  lanes plan CLI, end to end                 ${fmt(median(cliMs))}`,
      `  peak RSS of this process (all of the above) ${rssMiB.toFixed(0)} MiB`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
