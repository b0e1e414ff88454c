/**
 * The built CLI started in its own process group with `--json`, for tests that must act while it
 * runs: wait for an event (a step starting on a host), then signal it — the lanes node process and
 * its group, as a CI runner cancelling a job does, never an `npx` wrapper.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { runCli } from '../../support/cli.js';
import { cliPath, repoRoot } from '../../support/paths.js';
import { testLabName } from './lab.js';
import { labPaths } from '../../../agent/lab/index.js';

export interface CliEvent {
  type: string;
  host?: string;
  step?: string;
  code?: string;
  text?: string;
  data?: unknown;
  [k: string]: unknown;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: CliEvent[];
}

export interface RunningCli {
  pid: number;
  events: CliEvent[];
  /** The first event (already seen or still to come) matching `pred`. */
  waitFor(pred: (e: CliEvent) => boolean, timeoutMs?: number): Promise<CliEvent>;
  /** Signal the whole process group. */
  kill(signal: NodeJS.Signals): void;
  done: Promise<Finished>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const events: CliEvent[] = [];
  const waiters: { pred: (e: CliEvent) => boolean; resolve: (e: CliEvent) => void }[] = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    pending += d.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as CliEvent;
      events.push(e);
      for (const w of [...waiters]) {
        if (w.pred(e)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, events }));
  });
  return {
    pid: child.pid!,
    events,
    waitFor(pred, timeoutMs = 120_000) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs}ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
        const w = {
          pred,
          resolve: (e: CliEvent) => {
            clearTimeout(t);
            resolve(e);
          },
        };
        waiters.push(w);
        void done.then(() => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            reject(new Error(`lanes ended before the event came; stdout: ${stdout.slice(-3000)} stderr: ${stderr.slice(-2000)}`));
          }
        });
      });
    },
    kill(signal) {
      process.kill(-child.pid!, signal);
    },
    done,
  };
}

/** The `host-state` lines a cancelled release printed: host → state. */
export function hostStates(events: CliEvent[]): Map<string, string> {
  return new Map(
    events
      .filter((e) => e.type === 'message' && e.code === 'host-state')
      .map((e) => {
        const d = e.data as { host: string; state: string };
        return [d.host, d.state] as const;
      }),
  );
}

/** `lanes apply playbooks/site.yml` on the lab hosts `limit`: one apply converges a fresh host. */
export async function provision(limit: string): Promise<void> {
  const site = path.join(repoRoot, 'playbooks', 'site.yml');
  const inventory = labPaths({ name: testLabName() }).inventoryFile;
  const r = await runCli(['apply', site, '-i', inventory, '--limit', limit, '--yes']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}
