/**
 * Where vault passwords come from, as in ansible-core: `--vault-id label@source` (a file, `prompt`,
 * or an executable that prints the password; a script named `*-client*` is asked with
 * `--vault-id label`), `--vault-password-file FILE` (label "default"; an executable file is run too),
 * `--ask-vault-pass`, and the environment: `ANSIBLE_VAULT_IDENTITY_LIST` (comma-separated
 * label@source, first), `ANSIBLE_VAULT_PASSWORD_FILE` (after the command line's files).
 */
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { LanesError } from '../errors.js';
import { DEFAULT_VAULT_ID, type VaultSecret } from './keyring.js';

export interface VaultIdSpec {
  label: string;
  /** A file path, or `prompt`. */
  source: string;
  /** The option or variable that named it, for messages. */
  origin: string;
}

export interface VaultOptions {
  vaultIds?: readonly string[];
  passwordFiles?: readonly string[];
  askVaultPass?: boolean;
  env?: NodeJS.ProcessEnv;
}

const PROMPT = 'prompt';
/** The source Ansible uses for --ask-vault-pass: a prompt with the old "Vault password: " text. */
const ASK = 'prompt_ask_vault_pass';

/** Every password source, in the order Ansible tries them. */
export function vaultIdSpecs(opts: VaultOptions): VaultIdSpec[] {
  const env = opts.env ?? process.env;
  const out: VaultIdSpec[] = [];
  const identityList = env.ANSIBLE_VAULT_IDENTITY_LIST ?? '';
  for (const item of identityList.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    out.push(splitVaultId(item, 'ANSIBLE_VAULT_IDENTITY_LIST'));
  }
  for (const item of opts.vaultIds ?? []) out.push(splitVaultId(item, '--vault-id'));
  for (const file of opts.passwordFiles ?? []) out.push({ label: DEFAULT_VAULT_ID, source: file, origin: '--vault-password-file' });
  if (env.ANSIBLE_VAULT_PASSWORD_FILE) out.push({ label: DEFAULT_VAULT_ID, source: env.ANSIBLE_VAULT_PASSWORD_FILE, origin: 'ANSIBLE_VAULT_PASSWORD_FILE' });
  if (opts.askVaultPass) out.push({ label: DEFAULT_VAULT_ID, source: ASK, origin: '--ask-vault-pass' });
  return out;
}

/** `label@source`, or a bare source (label "default"), as Ansible's split_vault_id. */
export function splitVaultId(text: string, origin: string): VaultIdSpec {
  const at = text.indexOf('@');
  const label = at < 0 ? DEFAULT_VAULT_ID : text.slice(0, at) || DEFAULT_VAULT_ID;
  const source = at < 0 ? text : text.slice(at + 1);
  if (source === '') throw new LanesError(`${origin} "${text}" names no password source`, { hint: 'write LABEL@FILE, LABEL@prompt or LABEL@SCRIPT' });
  if (/[;\s]/.test(label)) throw new LanesError(`${origin} "${text}": the vault id "${label}" may not contain ";" or spaces`, { hint: 'e.g. --vault-id prod@ci/vault-pass' });
  return { label, source, origin };
}

export interface LoadOptions {
  /** Ask on the terminal without echo; throws when there is no terminal. */
  prompt: (question: string) => Promise<string>;
  cwd?: string;
}

/** Read every password (prompting and running scripts as needed). Each one is checked not to be empty. */
export async function loadVaultSecrets(specs: readonly VaultIdSpec[], opts: LoadOptions): Promise<VaultSecret[]> {
  const out: VaultSecret[] = [];
  for (const spec of specs) out.push({ id: spec.label, source: `${spec.origin} ${spec.source}`, password: await readPassword(spec, opts) });
  return out;
}

async function readPassword(spec: VaultIdSpec, opts: LoadOptions): Promise<Buffer> {
  if (spec.source === PROMPT || spec.source === ASK) {
    const question = spec.source === ASK ? 'Vault password: ' : `Vault password (${spec.label}): `;
    const answer = (await opts.prompt(question)).trim();
    if (answer === '') throw new LanesError(`the vault password given at the prompt (${spec.origin}) is empty`);
    return Buffer.from(answer, 'utf8');
  }
  const file = resolve(opts.cwd ?? process.cwd(), spec.source);
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new LanesError(`vault password file ${spec.source} (${spec.origin}) ${e.code === 'ENOENT' ? 'does not exist' : `cannot be read: ${e.code ?? e.message}`}`, {
      hint: 'name an existing file, "prompt", or an executable that prints the password',
    });
  });
  if (!st.isFile()) throw new LanesError(`vault password file ${spec.source} (${spec.origin}) is not a file`);
  if ((st.mode & 0o111) !== 0) {
    const client = isClientScript(file);
    const password = stripNewlines(await runScript(file, client ? ['--vault-id', spec.label] : [], spec, client));
    if (password.length === 0) throw new LanesError(`vault password script ${spec.source} (${spec.origin}) printed an empty password`);
    return password;
  }
  const text = await readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new LanesError(`vault password file ${spec.source} (${spec.origin}) cannot be read: ${e.code ?? e.message}`);
  });
  // Ansible strips surrounding whitespace (the trailing newline of `echo pw > file` above all).
  const password = Buffer.from(text.toString('utf8').trim(), 'utf8');
  if (password.length === 0) throw new LanesError(`vault password file ${spec.source} (${spec.origin}) is empty`);
  return password;
}

/** `name-client` or `name-client.ext`: a script that is told which vault id is wanted. */
export function isClientScript(file: string): boolean {
  const name = basename(file);
  return name.slice(0, name.length - extname(name).length).endsWith('-client');
}

/** `\r` and `\n` around a script's output (what ansible-core strips; other spaces are part of it). */
function stripNewlines(b: Buffer): Buffer {
  let start = 0;
  let end = b.length;
  while (start < end && (b[start] === 0x0a || b[start] === 0x0d)) start += 1;
  while (end > start && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end -= 1;
  return b.subarray(start, end);
}

/**
 * Run a password script: its stdout is the password and is never shown; its stdin and stderr are
 * the terminal's, so it can ask or explain itself (as Ansible lets it).
 */
function runScript(file: string, args: string[], spec: VaultIdSpec, client: boolean): Promise<Buffer> {
  const what = `vault password ${client ? 'client script' : 'script'} ${spec.source} (${spec.origin})`;
  return new Promise((resolvePw, reject) => {
    const child = spawn(file, args, { stdio: ['inherit', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => reject(new LanesError(`${what} cannot be run: ${e.code ?? e.message}`, { hint: 'if it is not a script, remove its executable bit' })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolvePw(Buffer.concat(chunks));
      if (client && code === 2) return reject(new LanesError(`${what} has no secret for vault id "${spec.label}" (exit code 2)`));
      reject(new LanesError(`${what} failed with ${signal ? `signal ${signal}` : `exit code ${code}`}`, { hint: 'its output is not shown: it would be the password' }));
    });
  });
}
