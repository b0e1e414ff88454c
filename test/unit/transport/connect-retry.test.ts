// Connection starts reset for real: a TCP front that resets (RST) or closes the first connections,
// as sshd does past MaxStartups, before an in-process SSH server (ssh2). A reset start is retried;
// a refused key and a changed host key are not.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { LanesError } from '../../../agent/errors.js';
import { ConnectLimiter, ConnectResetError } from '../../../agent/transport/connect-limit.js';
import { SshConnection } from '../../../agent/transport/connection.js';
import { resolveTarget } from '../../../agent/transport/target.js';
import { parsableKeyPair } from '../../support/ssh-keys.js';

const { Server } = ssh2;

let tmp: string;
let keyFile: string;
let otherKeyFile: string;
let knownHosts: string;
let wrongKnownHosts: string;
let sshd: InstanceType<typeof Server>;
let sshdPort: number;
let front: net.Server;
let frontPort: number;
/** How the front treats the next connections: 'reset', 'close', then everything else is relayed. */
let plan: ('reset' | 'close')[] = [];
let accepted = 0;

function pubBlob(publicKey: string): string {
  return publicKey.trim().split(/\s+/)[1]!;
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-unit-connect-retry-'));
  const host = parsableKeyPair();
  const wrongHost = parsableKeyPair();
  const client = parsableKeyPair();
  const other = parsableKeyPair();
  keyFile = path.join(tmp, 'id');
  otherKeyFile = path.join(tmp, 'other');
  writeFileSync(keyFile, client.private, { mode: 0o600 });
  writeFileSync(otherKeyFile, other.private, { mode: 0o600 });
  const allowed = pubBlob(client.public);
  sshd = new Server({ hostKeys: [host.private] }, (c) => {
    c.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.key.data.toString('base64') === allowed) return ctx.accept();
      ctx.reject(['publickey']);
    });
    c.on('ready', () => {
      c.on('session', (accept) => {
        accept().on('exec', (acc) => {
          const ch = acc();
          ch.write('hello\n');
          ch.exit(0);
          ch.end();
        });
      });
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => sshd.listen(0, '127.0.0.1', () => r()));
  sshdPort = (sshd.address() as net.AddressInfo).port;
  front = net.createServer((sock) => {
    accepted++;
    const what = plan.shift();
    if (what === 'reset') return sock.resetAndDestroy();
    if (what === 'close') return sock.end();
    const up = net.connect(sshdPort, '127.0.0.1');
    sock.pipe(up).pipe(sock);
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
  frontPort = (front.address() as net.AddressInfo).port;
  knownHosts = path.join(tmp, 'known_hosts');
  wrongKnownHosts = path.join(tmp, 'known_hosts_wrong');
  writeFileSync(knownHosts, `[127.0.0.1]:${frontPort} ${host.public.trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
  writeFileSync(wrongKnownHosts, `[127.0.0.1]:${frontPort} ${wrongHost.public.trim().split(/\s+/).slice(0, 2).join(' ')}\n`);
});

after(() => {
  front?.close();
  sshd?.close();
});

function target(opts: { key?: string; known?: string } = {}) {
  return resolveTarget(
    'web1',
    { ansible_host: '127.0.0.1', ansible_port: frontPort, ansible_user: 'u', ansible_ssh_private_key_file: opts.key ?? keyFile, ansible_ssh_common_args: `-o UserKnownHostsFile=${opts.known ?? knownHosts}` },
    { env: { HOME: tmp } },
  );
}

const fast = (retries: number) => ({ limiter: new ConnectLimiter(8), retries, sleep: async () => undefined });

describe('SshConnection.open: a start reset before authentication', () => {
  it('is retried: two dropped starts (a reset, a close), then connected on the third, which reports 3 attempts', async () => {
    plan = ['reset', 'close'];
    accepted = 0;
    const conn = await SshConnection.open(target(), fast(4));
    try {
      assert.equal(conn.attempts, 3);
      assert.equal(accepted, 3);
      assert.equal((await conn.run('anything')).stdout, 'hello\n', 'the connection works');
    } finally {
      conn.close();
    }
  });

  it('gives up after the retries, one line naming the host, the address, the reset and the attempts', async () => {
    plan = ['reset', 'reset', 'reset'];
    accepted = 0;
    await assert.rejects(SshConnection.open(target(), fast(2)), (e: unknown) => {
      assert.ok(e instanceof ConnectResetError, String(e));
      assert.equal(e.host, 'web1');
      assert.match(e.message, new RegExp(`^cannot connect to u@127\\.0\\.0\\.1:${frontPort}: the connection was reset before authentication \\(.+\\) \\(3 attempts\\)$`));
      return true;
    });
    assert.equal(accepted, 3);
  });

  it('with retries 0 (LANES_CONNECT_RETRIES=0) fails on the first reset', async () => {
    plan = ['reset'];
    accepted = 0;
    await assert.rejects(SshConnection.open(target(), fast(0)), ConnectResetError);
    assert.equal(accepted, 1);
  });
});

describe('SshConnection.open: failures that are never retried', () => {
  it('a refused key: one attempt, authentication failed', async () => {
    plan = [];
    accepted = 0;
    await assert.rejects(SshConnection.open(target({ key: otherKeyFile }), fast(4)), (e: unknown) => e instanceof LanesError && !(e instanceof ConnectResetError) && /authentication failed/.test(e.message));
    assert.equal(accepted, 1);
  });

  it('a host key that does not match known_hosts: one attempt, refused', async () => {
    plan = [];
    accepted = 0;
    await assert.rejects(SshConnection.open(target({ known: wrongKnownHosts }), fast(4)), (e: unknown) => e instanceof LanesError && e.kind === 'hostkey');
    assert.equal(accepted, 1);
  });
});
