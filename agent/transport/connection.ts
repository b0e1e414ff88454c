/**
 * One SSH connection to one host, reused for everything lanes does there in a run.
 * Connecting verifies the host key against known_hosts before any authentication happens.
 */
import { createRequire } from 'node:module';
import type ssh2 from 'ssh2';
import type { AuthenticationType, ClientChannel, ConnectConfig } from 'ssh2';
import { LanesError, errorLine } from '../errors.js';
import { secrets } from '../report/mask.js';
import { ConnectResetError, connectKey, connectPacing, isResetBeforeAuth, paced, type ConnectPacing } from './connect-limit.js';
import { ExecError, type ExecResult, summarize } from './exec-result.js';
import {
  appendKnownHost,
  checkHostKey,
  hostKeyError,
  hostKeyFromBlob,
  knownKeyTypesFor,
  loadKnownHosts,
} from './known-hosts.js';
import { ParsedFiles } from './parsed-files.js';
import { startProxyCommand, type ProxyProcess } from './proxy-command.js';
import { shCommand, shq } from './quote.js';
import { readSudoStderr, sudoFailureText, wrapSudo } from './sudo.js';
import type { BecomeSpec, HostTarget } from './target.js';

/**
 * ssh2's client and key parser, required from their own files: the package's index also loads its
 * server, HTTP agents and key generator, which lanes never uses (~30 ms of every start). ssh2 is pinned
 * (package-lock.json) and these paths are its lib layout since 1.0.
 */
const requireSsh2 = createRequire(import.meta.url);
const Client = requireSsh2('ssh2/lib/client.js') as typeof ssh2.Client;
const utils = { parseKey: (requireSsh2('ssh2/lib/protocol/keyParser.js') as { parseKey: typeof ssh2.utils.parseKey }).parseKey };

export interface ExecOptions {
  /** Sent in order; a list lets callers share large constant parts between hosts instead of joining one text per host. */
  stdin?: string | Buffer | readonly (string | Buffer)[];
  /** Kill the command (close its channel) after this long. 0 or undefined: no limit. */
  timeoutMs?: number;
  /** true: escalate as the target's become spec (default root); false: never; undefined: the target's setting. */
  become?: boolean;
  /** Called with stdout chunks as they arrive (progress); stdout is still collected. */
  onStdout?: (chunk: string) => void;
  /**
   * Keep the command's stdin open until it ends: its EOF then means "the controller closed the channel
   * or is gone", which a remote wrapper can watch to kill what it started (`lanes run`).
   */
  holdStdin?: boolean;
  /**
   * Close the channel when this aborts (Ctrl-C): the command gets EOF on stdin and SIGPIPE on its
   * next write; a wrapper watching stdin (agent/remote/command.ts) kills what it started. The call
   * then resolves with what the command had written (exit code null).
   */
  signal?: AbortSignal;
}

export interface UploadOptions {
  mode?: string;
  owner?: string;
  group?: string;
  become?: boolean;
  timeoutMs?: number;
}

interface ExitStatus {
  code: number | null;
  signal?: string;
}

/** Server host key algorithms lanes accepts, strongest first (ssh-rsa with SHA-1 only when known). */
const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
];

export class SshConnection {
  private closed = false;
  /** How many starts it took (more than 1 after a reset before authentication). */
  attempts = 1;

  private constructor(
    readonly target: HostTarget,
    private readonly client: InstanceType<typeof Client>,
    private readonly hops: InstanceType<typeof Client>[],
  ) {
    client.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Connect (through any jump hosts), verify the host key, authenticate. Starts are paced (see
   * connect-limit.ts): at most `pacing.limiter.rate` in flight per jump host, a reset before
   * authentication retried. Without `pacing`, a pacing of its own with the defaults.
   */
  static async open(target: HostTarget, pacing: ConnectPacing = connectPacing()): Promise<SshConnection> {
    const { value, attempts } = await paced(pacing, connectKey(target), () => SshConnection.start(target));
    value.attempts = attempts;
    return value;
  }

  private static async start(target: HostTarget): Promise<SshConnection> {
    const hops: InstanceType<typeof Client>[] = [];
    try {
      // Each jump host is reached through the previous one; the last one forwards to the target.
      let sock: ConnectConfig['sock'];
      for (const [i, jump] of target.jumps.entries()) {
        const hop = await connectClient(jump, sock, target.name);
        hops.push(hop);
        sock = await forward(hop, target.jumps[i + 1] ?? target, target.name);
      }
      const client = await connectClient(target, sock, target.name, target.jumps.at(-1)?.name);
      return new SshConnection(target, client, hops);
    } catch (err) {
      for (const h of hops) h.end();
      throw err;
    }
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /**
   * Run a command; resolves with its result whatever the exit code. Rejects only when the command
   * could not be run at all (connection lost, timeout, sudo refused).
   */
  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const become = opts.become === false ? undefined : opts.become === true ? (this.target.become ?? { user: 'root' }) : this.target.become;
    if (become?.password) secrets.add(become.password);
    const started = Date.now();
    const wrap = become ? wrapSudo(command, become) : undefined;
    const { channel, exit } = await this.openChannel(wrap ? wrap.command : command);
    return new Promise<ExecResult>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let rawStderr = '';
      let passwordsSent = 0;
      let started2 = !wrap;
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (err) {
          channel.close();
          reject(err);
          return;
        }
        const result: ExecResult = { command, code: exit.code, signal: exit.signal, stdout, stderr, ms: Date.now() - started };
        if (wrap && !started2) {
          reject(sudoError(this.target.name, become!, result, sudoFailureText(rawStderr, wrap)));
          return;
        }
        resolve(result);
      };
      const sendInput = () => {
        const input = opts.stdin;
        if (typeof input === 'string' || Buffer.isBuffer(input)) channel.write(input);
        else if (input) for (const chunk of input) channel.write(chunk);
        if (!opts.holdStdin) channel.end();
      };
      const timer =
        opts.timeoutMs && opts.timeoutMs > 0
          ? setTimeout(() => {
              channel.signal('KILL');
              finish(
                new LanesError(`command timed out after ${fmtMs(opts.timeoutMs!)}: ${summarize(command)}`, {
                  kind: 'timeout',
                  host: this.target.name,
                  hint: 'raise --timeout, or find out why the command hangs',
                }),
              );
            }, opts.timeoutMs)
          : undefined;

      channel.on('data', (d: Buffer) => {
        const s = d.toString('utf8');
        stdout += s;
        opts.onStdout?.(s);
      });
      channel.stderr.on('data', (d: Buffer) => {
        if (started2 || !wrap) {
          stderr += d.toString('utf8');
          return;
        }
        rawStderr += d.toString('utf8');
        const state = readSudoStderr(rawStderr, wrap, passwordsSent);
        if (state.phase === 'send-password') {
          passwordsSent++;
          channel.write(`${become!.password ?? ''}\n`);
        } else if (state.phase === 'wrong-password') {
          finish(
            new LanesError(`sudo to ${become!.user} refused the become password`, {
              kind: 'sudo',
              host: this.target.name,
              hint: 'check ansible_become_password / --ask-become-pass',
            }),
          );
        } else if (state.phase === 'started') {
          started2 = true;
          stderr += state.stderrAfter;
          sendInput();
        }
      });
      const onAbort = () => channel.close();
      if (opts.signal?.aborted) onAbort();
      else opts.signal?.addEventListener('abort', onAbort, { once: true });
      channel.on('close', () => {
        opts.signal?.removeEventListener('abort', onAbort);
        finish();
      });
      channel.on('error', (e: Error) => finish(connectionLost(this.target.name, e)));
      if (!wrap) sendInput();
    });
  }

  /** Like {@link exec}, but a non-zero exit is an {@link ExecError} carrying the result. */
  async run(command: string, opts: ExecOptions & { explain?: string } = {}): Promise<ExecResult> {
    const result = await this.exec(command, opts);
    if (result.code !== 0) throw new ExecError(this.target.name, result, opts.explain);
    return result;
  }

  /**
   * Write a file atomically: the content goes to a temporary file in the same directory, gets its
   * owner and mode, and is renamed over the destination, so no reader ever sees half a file.
   */
  async upload(content: string | Buffer, remotePath: string, opts: UploadOptions = {}): Promise<void> {
    const dir = remotePath.replace(/\/[^/]*$/, '') || '/';
    const steps = [
      'set -e',
      'umask 077',
      `tmp=$(mktemp ${shq(`${remotePath}.lanes-XXXXXX`)})`,
      `trap 'rm -f "$tmp"' EXIT`,
      'cat > "$tmp"',
      opts.owner || opts.group ? `chown ${shq(`${opts.owner ?? ''}${opts.group ? `:${opts.group}` : ''}`)} "$tmp"` : '',
      `chmod ${shq(opts.mode ?? '0644')} "$tmp"`,
      `mv -f "$tmp" ${shq(remotePath)}`,
      'trap - EXIT',
    ].filter(Boolean);
    const cmd = `test -d ${shq(dir)} || { echo ${shq(`directory ${dir} does not exist`)} >&2; exit 1; }\n${steps.join('\n')}`;
    await this.run(cmd, { stdin: content, become: opts.become, timeoutMs: opts.timeoutMs, explain: `upload to ${remotePath} failed` });
  }

  close(): void {
    this.client.end();
    for (const h of [...this.hops].reverse()) h.end();
  }

  /**
   * Open an exec channel. The exit status is recorded by a listener attached in the same tick the
   * channel opens: for a fast command, ssh2 can emit 'exit' from the very packet batch that confirmed
   * the channel, before any awaiting caller could attach its own listener. (Output is not at risk: the
   * streams buffer until read.)
   */
  private openChannel(command: string): Promise<{ channel: ClientChannel; exit: ExitStatus }> {
    if (this.closed) {
      return Promise.reject(new LanesError('the SSH connection is closed', { kind: 'connect', host: this.target.name }));
    }
    return new Promise((resolve, reject) => {
      this.client.exec(command, (err, channel) => {
        if (err) return reject(connectionLost(this.target.name, err));
        const exit: ExitStatus = { code: null };
        channel.on('exit', (code: number | null, signal?: string) => {
          exit.code = typeof code === 'number' ? code : null;
          // ssh2 already names signals with their SIG prefix.
          if (signal) exit.signal = signal;
        });
        resolve({ channel, exit });
      });
    });
  }
}

/** Quote arguments and run them as one command; a convenience for callers with argv in hand. */
export function argv(args: (string | number)[]): string {
  return shCommand(args);
}

/** `via`: the jump host the target is reached through, named in its failures. */
async function connectClient(target: HostTarget, sock: ConnectConfig['sock'], forHost: string, via?: string): Promise<InstanceType<typeof Client>> {
  const label = target.name === forHost ? forHost : `${forHost} (via jump host ${target.name})`;
  const known = await loadKnownHosts(target.knownHostsFiles);
  const knownTypes = knownKeyTypesFor(known, target.address, target.port);
  const auth = await authMethods(target, label);
  const client = new Client();
  let hostKeyFailure: LanesError | undefined;
  let proxy: ProxyProcess | undefined;
  if (target.proxyCommand !== undefined) {
    if (sock !== undefined) {
      throw new LanesError(`ProxyCommand of jump host ${target.name} cannot be used after the first hop`, {
        kind: 'input',
        host: label,
        hint: 'only the first jump host (or the host itself) may have a ProxyCommand',
      });
    }
    proxy = startProxyCommand(target.proxyCommand, label, (line) => {
      // The command's own diagnostics: for whoever debugs the tunnel, never in normal output.
      if (process.env.LANES_DEBUG) process.stderr.write(`${label}: ProxyCommand: ${line}\n`);
    });
    sock = proxy.sock;
    // The command lives exactly as long as the connection.
    client.on('close', () => proxy?.kill());
  }

  const config: ConnectConfig = {
    host: target.address,
    port: target.port,
    username: target.user,
    sock,
    readyTimeout: target.connectTimeoutMs,
    keepaliveInterval: target.keepaliveIntervalMs,
    keepaliveCountMax: 4,
    algorithms: {
      serverHostKey: [...knownTypes, ...HOST_KEY_ALGORITHMS.filter((a) => !knownTypes.includes(a))] as never,
    },
    authHandler: auth.methods as never,
    hostVerifier: (blob: Buffer, verify: (ok: boolean) => void) => {
      const key = hostKeyFromBlob(blob);
      const verdict = checkHostKey(known, target.address, target.port, key);
      if (verdict.status === 'known') return verify(true);
      if (verdict.status === 'unknown' && target.acceptNewHostKeys) {
        // No file to keep it in (UserKnownHostsFile none or /dev/null): accepted for this run only;
        // the run has already warned (or refused, with --strict-host-keys) before connecting.
        if (target.recordKnownHostsFile === undefined) return verify(true);
        appendKnownHost(target.recordKnownHostsFile, target.address, target.port, key).then(
          () => verify(true),
          (e) => {
            hostKeyFailure = new LanesError(`could not record the new host key: ${errorLine(e)}`, { kind: 'hostkey', host: label });
            verify(false);
          },
        );
        return;
      }
      // The file named in the advice is the one new keys would go to (not the global one).
      const files = target.recordKnownHostsFile ? [target.recordKnownHostsFile, ...target.knownHostsFiles] : target.knownHostsFiles;
      hostKeyFailure = hostKeyError(verdict, target.address, target.port, key, files, label);
      verify(false);
    },
  };

  return new Promise((resolve, reject) => {
    let done = false;
    // The key exchange finished: authentication started, and nothing after this is a dropped start.
    let handshakeDone = false;
    client.on('handshake', () => {
      handshakeDone = true;
    });
    const fail = (err: Error & { level?: string; code?: string }) => {
      if (done) return;
      done = true;
      client.end();
      if (!proxy) {
        reject(hostKeyFailure ?? connectError(target, label, err, auth.notes, { handshakeDone, via }));
        return;
      }
      // The transport ended: if the command exited on its own, that is the story (its exit code
      // and last stderr line), not "connection closed". Its exit can trail the end of its stdout.
      const p = proxy;
      const grace = new Promise<void>((r) => setTimeout(r, 500).unref());
      void Promise.race([p.exited, grace]).then(() => {
        const why = hostKeyFailure ?? p.failure() ?? connectError(target, label, err, auth.notes, { handshakeDone, via });
        p.kill();
        reject(why);
      });
    };
    client.on('ready', () => {
      done = true;
      resolve(client);
    });
    client.on('error', fail);
    client.on('close', () => fail(new Error('connection closed during handshake')));
    client.on('change password', () => fail(new Error('the server asks for a password change')));
    try {
      client.connect(config);
    } catch (e) {
      fail(e as Error);
    }
  });
}

function forward(hop: InstanceType<typeof Client>, next: HostTarget, forHost: string): Promise<ConnectConfig['sock']> {
  return new Promise((resolve, reject) => {
    hop.forwardOut('127.0.0.1', 0, next.address, next.port, (err, stream) => {
      if (err) {
        reject(
          new LanesError(`jump host could not reach ${next.address}:${next.port}: ${err.message}`, { kind: 'connect', host: forHost }),
        );
      } else resolve(stream);
    });
  });
}

interface AuthPlan {
  methods: ({ type: AuthenticationType; username: string } & Record<string, unknown>)[];
  /** Why some keys were not offered, for the failure message. */
  notes: string[];
}

type ParsedPrivateKey = { parsed: ReturnType<typeof utils.parseKey> };

/** Private key files parsed once while unchanged: a fleet run connects to every host with the same key. */
const privateKeys = new ParsedFiles<ParsedPrivateKey>((data) => ({ parsed: utils.parseKey(data) }));

export function privateKeyOf(file: string): Promise<ParsedPrivateKey> {
  return privateKeys.get(file);
}

async function authMethods(target: HostTarget, label: string): Promise<AuthPlan> {
  const methods: AuthPlan['methods'] = [];
  const notes: string[] = [];
  for (const file of target.identityFiles) {
    let key: ParsedPrivateKey;
    try {
      key = await privateKeyOf(file);
    } catch {
      if (target.explicitKey) {
        throw new LanesError(`private key file ${file} does not exist or cannot be read`, {
          kind: 'input',
          host: label,
          hint: 'check ansible_ssh_private_key_file / --private-key',
        });
      }
      continue;
    }
    const parsed = key.parsed;
    if (parsed instanceof Error) {
      if (/encrypted/i.test(parsed.message)) {
        notes.push(`${file} is passphrase-protected (load it into ssh-agent)`);
        if (target.explicitKey && !target.agentSocket) {
          throw new LanesError(`private key ${file} is passphrase-protected and no ssh-agent is available`, {
            kind: 'input',
            host: label,
            hint: 'run ssh-add on it and set SSH_AUTH_SOCK',
          });
        }
        continue;
      }
      throw new LanesError(`private key file ${file} is not a valid private key: ${parsed.message}`, { kind: 'input', host: label });
    }
    // The parsed key: ssh2 takes it as it is instead of parsing the file's text again per connection.
    methods.push({ type: 'publickey', username: target.user, key: parsed });
  }
  if (target.agentSocket) methods.push({ type: 'agent', username: target.user, agent: target.agentSocket });
  if (methods.length === 0) {
    throw new LanesError(`no SSH key to authenticate with as ${target.user}`, {
      kind: 'input',
      host: label,
      hint: `give a key with ansible_ssh_private_key_file or --private-key, or start ssh-agent${notes.length ? `; ${notes.join('; ')}` : ''}`,
    });
  }
  return { methods, notes };
}

function connectError(
  target: HostTarget,
  label: string,
  err: Error & { level?: string; code?: string },
  notes: string[],
  stage: { handshakeDone: boolean; via?: string },
): LanesError {
  const where = `${target.user}@${target.address}:${target.port}${stage.via ? ` through jump host ${stage.via}` : ''}`;
  if (isResetBeforeAuth(err, stage.handshakeDone)) {
    return new ConnectResetError(`cannot connect to ${where}: the connection was reset before authentication (${err.code ?? err.message})`, label);
  }
  if (err.level === 'client-authentication') {
    return new LanesError(`authentication failed for ${where}`, {
      kind: 'connect',
      host: label,
      hint: `tried ${describeAuth(target)}${notes.length ? `; ${notes.join('; ')}` : ''}`,
    });
  }
  if (/Timed out while waiting for handshake/i.test(err.message)) {
    return new LanesError(`no SSH handshake from ${where} within ${fmtMs(target.connectTimeoutMs)}`, {
      kind: 'timeout',
      host: label,
      hint: 'is the host up and sshd listening? raise --connect-timeout for slow links',
    });
  }
  const code = err.code ? ` (${err.code})` : '';
  const what =
    err.code === 'ECONNREFUSED'
      ? 'connection refused'
      : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
        ? 'host name does not resolve'
        : err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH'
          ? 'host unreachable'
          : err.message;
  return new LanesError(`cannot connect to ${where}: ${what}${what === err.message ? '' : code}`, { kind: 'connect', host: label });
}

function describeAuth(target: HostTarget): string {
  const keys = target.identityFiles.length ? `keys ${target.identityFiles.join(', ')}` : 'no key files';
  return target.agentSocket ? `${keys} and ssh-agent` : keys;
}

function connectionLost(host: string, err: Error): LanesError {
  return new LanesError(`SSH connection lost: ${err.message}`, { kind: 'connect', host });
}

function sudoError(host: string, become: BecomeSpec, result: ExecResult, said: string): LanesError {
  const needsPassword = /password is required|a terminal is required/i.test(said);
  return new LanesError(`sudo to ${become.user} failed${said ? `: ${said.split('\n').slice(-2).join(' | ')}` : ` (exit ${result.code})`}`, {
    kind: 'sudo',
    host,
    hint: needsPassword ? 'sudo wants a password: set ansible_become_password, or pass --ask-become-pass' : undefined,
  });
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)}s` : `${ms}ms`;
}
