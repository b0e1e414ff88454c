/**
 * Ansible Vault's AES256 cipher (VaultAES256 in ansible-core), with Node's crypto only:
 * PBKDF2-HMAC-SHA256, 10000 iterations, 80 bytes → AES-256 key, HMAC-SHA256 key, CTR counter;
 * the HMAC of the ciphertext is checked (constant time) before anything is decrypted; PKCS#7 padding.
 */
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { VaultEnvelope } from './format.js';
import { VAULT_HEADER } from './format.js';

const ITERATIONS = 10_000;
const KEY_LENGTH = 32;
const IV_LENGTH = 16;
const BLOCK = 16;

interface Keys {
  cipherKey: Buffer;
  hmacKey: Buffer;
  iv: Buffer;
}

function deriveKeys(password: Buffer, salt: Buffer): Keys {
  const derived = pbkdf2Sync(password, salt, ITERATIONS, 2 * KEY_LENGTH + IV_LENGTH, 'sha256');
  return {
    cipherKey: derived.subarray(0, KEY_LENGTH),
    hmacKey: derived.subarray(KEY_LENGTH, 2 * KEY_LENGTH),
    iv: derived.subarray(2 * KEY_LENGTH),
  };
}

export type DecryptOutcome = { ok: true; plaintext: Buffer } | { ok: false; reason: 'hmac' | 'padding' };

/** Decrypt with one password: `hmac` when the password is not the one (nothing was decrypted). */
export function decryptEnvelope(env: VaultEnvelope, password: Buffer): DecryptOutcome {
  const keys = deriveKeys(password, env.salt);
  const mac = createHmac('sha256', keys.hmacKey).update(env.ciphertext).digest();
  if (mac.length !== env.hmac.length || !timingSafeEqual(mac, env.hmac)) return { ok: false, reason: 'hmac' };
  const decipher = createDecipheriv('aes-256-ctr', keys.cipherKey, keys.iv);
  const padded = Buffer.concat([decipher.update(env.ciphertext), decipher.final()]);
  const n = padded[padded.length - 1] ?? 0;
  if (n < 1 || n > BLOCK || n > padded.length || !padded.subarray(padded.length - n).every((b) => b === n)) return { ok: false, reason: 'padding' };
  return { ok: true, plaintext: padded.subarray(0, padded.length - n) };
}

/**
 * Encrypt as `ansible-vault encrypt` does (a 1.2 header when a vault id other than "default" is
 * given). lanes itself never writes vault files; tests use this to make vault data for a run.
 */
export function encryptVault(plaintext: string | Buffer, password: string | Buffer, opts: { vaultId?: string; salt?: Buffer } = {}): string {
  const salt = opts.salt ?? randomBytes(32);
  const keys = deriveKeys(Buffer.from(password), salt);
  const data = Buffer.from(plaintext);
  const n = BLOCK - (data.length % BLOCK);
  const cipher = createCipheriv('aes-256-ctr', keys.cipherKey, keys.iv);
  const ciphertext = Buffer.concat([cipher.update(Buffer.concat([data, Buffer.alloc(n, n)])), cipher.final()]);
  const mac = createHmac('sha256', keys.hmacKey).update(ciphertext).digest();
  const inner = [salt.toString('hex'), mac.toString('hex'), ciphertext.toString('hex')].join('\n');
  const hex = Buffer.from(inner, 'latin1').toString('hex');
  const header = opts.vaultId && opts.vaultId !== 'default' ? `${VAULT_HEADER};1.2;AES256;${opts.vaultId}` : `${VAULT_HEADER};1.1;AES256`;
  const lines = [header];
  for (let i = 0; i < hex.length; i += 80) lines.push(hex.slice(i, i + 80));
  return `${lines.join('\n')}\n`;
}
