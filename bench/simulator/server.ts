/**
 * One simulator process (started by fleet.ts with fork(), so it never shares lanes' event loop):
 * one ssh2 Server whose sockets come from one TCP listener per virtual host on 127.0.0.1 (a port the
 * OS picks). Each virtual host authenticates the bench's client key, and answers every exec from the
 * recording (answer.ts). A failing host (`fail`) drops each connection before the SSH banner.
 *
 * IPC with the parent: it sends `{ start: ServerConfig }`; this process answers `{ ports }` once all
 * listen; `{ drain: true }` is answered with `{ stats }` (connect times since the last drain).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import ssh2 from 'ssh2';
import { answerExec, planExec, type Recording } from './answer.js';

export interface ServerConfig {
  /** How many virtual hosts this process serves, and which of them (0-based) drop every connection. */
  hosts: number;
  failing: number[];
  hostKey: string;
  /** The client's public key, OpenSSH one-line form. */
  clientKey: string;
  recordingFile: string;
  /** Delay before the handshake starts and before each exec is answered (a network round trip). */
  latencyMs: number;
}

export interface ServerStats {
  /** TCP accept → authenticated, per connection, in ms. */
  connectMs: number[];
  execs: number;
  unanswered: number;
}

type Msg = { start: ServerConfig } | { drain: true };

function start(cfg: ServerConfig): void {
  const rec = JSON.parse(readFileSync(cfg.recordingFile, 'utf8')) as Recording;
  const allowed = ssh2.utils.parseKey(cfg.clientKey);
  if (allowed instanceof Error) throw allowed;
  const stats: ServerStats = { connectMs: [], execs: 0, unanswered: 0 };
  const later = (fn: () => void) => (cfg.latencyMs > 0 ? setTimeout(fn, cfg.latencyMs) : setImmediate(fn));

  const server = new ssh2.Server({ hostKeys: [cfg.hostKey] }, (client) => {
    const accepted = performance.now();
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const same = ctx.key.algo === allowed.type && ctx.key.data.equals(allowed.getPublicSSH());
      if (!same) return ctx.reject(['publickey']);
      if (ctx.signature && ctx.blob && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('ready', () => {
      stats.connectMs.push(performance.now() - accepted);
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          stats.execs++;
          let plan;
          try {
            plan = planExec(info.command);
          } catch (err) {
            stream.stderr.write(`lanes-sim: ${(err as Error).message}\n`);
            stream.exit(127);
            stream.end();
            return;
          }
          if (plan.becomeStderr) stream.stderr.write(plan.becomeStderr);
          const reply = (stdin: string) =>
            later(() => {
              const a = answerExec(plan, stdin, rec);
              if (a.unanswered.length) stats.unanswered++;
              if (a.stdout) stream.write(a.stdout);
              if (a.stderr) stream.stderr.write(a.stderr);
              stream.exit(a.code);
              stream.end();
            });
          if (!plan.readsStdin) return reply('');
          const chunks: Buffer[] = [];
          stream.on('data', (d: Buffer) => chunks.push(d));
          stream.on('end', () => reply(Buffer.concat(chunks).toString('utf8')));
        });
      });
    });
  });

  const failing = new Set(cfg.failing);
  const ports: number[] = new Array(cfg.hosts);
  let listening = 0;
  for (let i = 0; i < cfg.hosts; i++) {
    const listener = net.createServer({ noDelay: true }, (socket) => {
      socket.on('error', () => {});
      // A refusing host: the connection is reset before the banner, as a dead sshd or a full MaxStartups does.
      if (failing.has(i)) return socket.resetAndDestroy();
      later(() => server.injectSocket(socket));
    });
    listener.listen(0, '127.0.0.1', () => {
      ports[i] = (listener.address() as net.AddressInfo).port;
      if (++listening === cfg.hosts) process.send!({ ports });
    });
  }

  process.on('message', (m: Msg) => {
    if ('drain' in m) {
      process.send!({ stats: { ...stats } });
      stats.connectMs = [];
      stats.execs = 0;
      stats.unanswered = 0;
    }
  });
}

process.once('message', (m: Msg) => {
  if ('start' in m) start(m.start);
});
// The parent's end is ours: no orphaned simulator.
process.on('disconnect', () => process.exit(0));
