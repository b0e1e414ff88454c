/**
 * Artifact distribution, uploaded vs fetched by URL (issue 11 item 6): a .tar.gz of random
 * (incompressible) bytes to N lab hosts, both ways, with the scripts `lanes release` runs in its
 * upload phase (agent/rollout/artifact.ts; fetch: artifact-fetch.ts). Prints per way the wall time
 * of the phase (all hosts at once, as the release runs it) and the bytes that leave the controller
 * over SSH, and the bytes the artifact server sent (here a server on the controller's machine; in
 * production an artifact store). A benchmark, not a test: it prints figures and never fails on them.
 *
 *   node dist/bench/artifact.js            # LANES_BENCH_LAB (bench-artifact), LANES_BENCH_HOSTS (10),
 *                                          # LANES_BENCH_ARTIFACT_MB (50), LANES_BENCH_RUNS (3)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { labPaths, labStatus, labUp } from '../agent/lab/index.js';
import { STDIN_SCRIPT_COMMAND } from '../agent/remote/sh.js';
import { parseUnpackOutput, readArtifact, unpackScript } from '../agent/rollout/artifact.js';
import { parseArtifactUrl } from '../agent/rollout/artifact-fetch.js';
import { bareReleaseSpec } from '../test/support/release-spec.js';
import type { ReleaseSpec } from '../agent/rollout/types.js';
import { SshConnection } from '../agent/transport/connection.js';
import { median } from './measure.js';
import { resolveTarget } from '../agent/transport/target.js';

const lab = process.env.LANES_BENCH_LAB ?? 'bench-artifact';
const hostsWanted = Number(process.env.LANES_BENCH_HOSTS ?? 10);
const sizeMb = Number(process.env.LANES_BENCH_ARTIFACT_MB ?? 50);
const runs = Number(process.env.LANES_BENCH_RUNS ?? 3);
/** A directory of its own on each host, removed before every run and at the end. */
const BASE = '/var/tmp/lanes-bench-artifact';

const spec: ReleaseSpec = bareReleaseSpec(BASE, { keep: 1, owner: 'root', group: 'root' });

const mib = (n: number) => (n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

async function main() {
  let hosts = (await labStatus({ name: lab })).filter((h) => h.state === 'running');
  if (hosts.length < hostsWanted) hosts = await labUp({ name: lab, hosts: hostsWanted });
  hosts = hosts.slice(0, hostsWanted);
  const paths = labPaths({ name: lab });

  const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-bench-artifact-'));
  writeFileSync(path.join(dir, 'random.bin'), randomBytes(sizeMb * 1024 ** 2));
  writeFileSync(path.join(dir, 'index.php'), '<?php echo "bench";\n');
  const art = await readArtifact(dir);
  rmSync(dir, { recursive: true, force: true });

  let served = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/app.tar.gz?token=bench-secret') return void res.writeHead(403).end();
    res.writeHead(200, { 'content-length': art.bytes.length });
    res.end(art.bytes, () => (served += art.bytes.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/app.tar.gz?token=bench-secret`;
  const fetch = parseArtifactUrl(url, art.sha256);

  const conns = await Promise.all(
    hosts.map((h) =>
      SshConnection.open(
        resolveTarget(h.name, {
          ansible_host: h.address,
          ansible_user: 'lanes',
          ansible_ssh_private_key_file: paths.keyFile,
          ansible_ssh_common_args: `-o UserKnownHostsFile=${paths.knownHostsFile}`,
          ansible_become: true,
        }),
      ),
    ),
  );
  const clean = () => Promise.all(conns.map((c) => c.run(`rm -rf ${BASE}`, { become: true })));

  /** One phase on every host at once; returns its wall time and the bytes sent over SSH. */
  async function phase(way: 'upload' | 'url'): Promise<{ s: number; sshBytes: number }> {
    await clean();
    let sshBytes = 0;
    const t0 = performance.now();
    await Promise.all(
      conns.map(async (c) => {
        const script = way === 'upload' ? unpackScript(spec, art) : unpackScript(spec, art, { fetch, fetchSeconds: 600 });
        const [command, stdin] = way === 'upload' ? [script.text, art.bytes] : [STDIN_SCRIPT_COMMAND, Buffer.from(script.text)];
        sshBytes += command.length + stdin.length;
        const r = await c.exec(command, { become: true, stdin });
        if (r.code !== 0 || parseUnpackOutput(r.stdout, script.nonce).status !== 'unpacked') throw new Error(`${way} on ${c.target.name} failed (exit ${r.code}): ${r.stderr.trim()}`);
      }),
    );
    return { s: (performance.now() - t0) / 1000, sshBytes };
  }

  const results: Record<'upload' | 'url', { s: number[]; sshBytes: number; served: number }> = { upload: { s: [], sshBytes: 0, served: 0 }, url: { s: [], sshBytes: 0, served: 0 } };
  for (let i = 0; i < runs; i++) {
    for (const way of ['upload', 'url'] as const) {
      const before = served;
      const r = await phase(way);
      results[way].s.push(r.s);
      results[way].sshBytes = r.sshBytes;
      results[way].served = served - before;
      process.stderr.write(`bench: run ${i + 1}/${runs} ${way}: ${r.s.toFixed(2)} s\n`);
    }
  }
  await clean();
  for (const c of conns) c.close();
  server.close();

  const cpu = os.cpus();
  process.stdout.write(
    [
      `artifact distribution: ${mib(art.bytes.length)} .tar.gz (random bytes) to ${hosts.length} lab hosts, median of ${runs} runs`,
      `machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${mib(os.totalmem())} RAM, ${os.platform()} ${os.release()}; hosts are systemd-nspawn containers on the same machine`,
      '',
      'way      phase wall s (min–max)     over SSH from the controller   sent by the artifact server',
      ...(['upload', 'url'] as const).map((w) => {
        const r = results[w];
        const wall = `${median(r.s).toFixed(2)} (${Math.min(...r.s).toFixed(2)}–${Math.max(...r.s).toFixed(2)})`;
        return `${w.padEnd(8)} ${wall.padEnd(26)} ${mib(r.sshBytes).padEnd(30)} ${mib(r.served)}`;
      }),
      '',
      JSON.stringify({ hosts: hosts.length, artifact_bytes: art.bytes.length, upload_s: median(results.upload.s), url_s: median(results.url.s), upload_ssh_bytes: results.upload.sshBytes, url_ssh_bytes: results.url.sshBytes, url_server_bytes: results.url.served }),
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
