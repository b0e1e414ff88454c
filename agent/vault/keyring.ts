/**
 * The vault passwords of this run and every decryption done with them. Process-wide, like the
 * masker: the CLI loads the passwords once before reading any inventory, and every reader (inventory
 * files, group_vars/host_vars, vars_files, -e @file, inline `!vault` values) decrypts through it.
 * Each distinct vault text is decrypted at most once per run.
 */
import { createHash } from 'node:crypto';
import { LanesError } from '../errors.js';
import { secrets as masker } from '../report/mask.js';
import { decryptEnvelope } from './cipher.js';
import { parseVaultEnvelope } from './format.js';

export const DEFAULT_VAULT_ID = 'default';

export interface VaultSecret {
  /** The vault id (label) it was given for: `default` unless named with --vault-id label@source. */
  id: string;
  password: Buffer;
  /** Where it came from, for messages: "--vault-password-file ci/vault-pass", "prompt". */
  source: string;
}

export const VAULT_PASSWORD_HINT =
  'give one with --vault-password-file FILE, --vault-id LABEL@SOURCE, --ask-vault-pass, or $ANSIBLE_VAULT_PASSWORD_FILE / $ANSIBLE_VAULT_IDENTITY_LIST';

export class VaultKeyring {
  private secrets: VaultSecret[] = [];
  private readonly decrypted = new Map<string, string>();

  /** Replace the passwords (each is a secret for the masker too). */
  setSecrets(list: VaultSecret[]): void {
    for (const s of list) masker.add(s.password.toString('utf8'));
    this.secrets = [...list];
    this.decrypted.clear();
    this.decryptions = 0;
  }

  get size(): number {
    return this.secrets.length;
  }

  /** How many vault texts were decrypted (not served from the cache) since the passwords were set. */
  decryptions = 0;

  /**
   * The plaintext of one vault text. `what` names it in errors (a file, or file:line:column of an
   * inline value), `firstLine` is the line of its header there. The caller registers the leaf values
   * it finds in the plaintext as secrets; the whole plaintext is registered here in any case.
   */
  decrypt(text: string, what: string, firstLine = 1): string {
    const key = createHash('sha256').update(text.trim()).digest('hex');
    const known = this.decrypted.get(key);
    if (known !== undefined) return known;
    const env = parseVaultEnvelope(text.trim(), what, firstLine);
    if (this.secrets.length === 0) {
      throw new LanesError(`${what} is vault-encrypted and no vault password was given`, { hint: VAULT_PASSWORD_HINT });
    }
    // As ansible-core: the secrets of the header's vault id first, then every other one.
    const ordered = env.vaultId ? [...this.secrets.filter((s) => s.id === env.vaultId), ...this.secrets.filter((s) => s.id !== env.vaultId)] : this.secrets;
    for (const secret of ordered) {
      const out = decryptEnvelope(env, secret.password);
      if (!out.ok) {
        if (out.reason === 'padding') {
          throw new LanesError(`vault data of ${what} is corrupt: its padding is invalid`, { hint: 're-encrypt the file with ansible-vault' });
        }
        continue;
      }
      let plain: string;
      try {
        plain = new TextDecoder('utf-8', { fatal: true }).decode(out.plaintext);
      } catch {
        throw new LanesError(`decrypted ${what} is not UTF-8 text`, { hint: 'vars and inventories must be UTF-8 YAML, JSON or INI' });
      }
      masker.add(plain.trim());
      this.decrypted.set(key, plain);
      this.decryptions += 1;
      return plain;
    }
    const tried = [...new Set(ordered.map((s) => s.id))].join(', ');
    throw new LanesError(`decryption failed for ${what}: no vault secret matched (tried ids: ${tried})`, {
      hint: env.vaultId
        ? `it was encrypted for vault id "${env.vaultId}": give its password with --vault-id ${env.vaultId}@SOURCE`
        : 'check the vault password, or give the right one with --vault-password-file or --vault-id LABEL@SOURCE',
    });
  }
}

/** Register every string inside a decrypted value with the masker (keys are names, not secrets). */
export function registerSecretLeaves(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') masker.add(v);
    else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (v !== null && typeof v === 'object') stack.push(...Object.values(v));
  }
}

/** The run's vault passwords and decryptions. */
export const vault = new VaultKeyring();

/**
 * Parse decrypted text with `parse`, hiding the details of an error: messages quote the input
 * ("got the string …", a bad line of an INI file), and here the input is secret. The place stays.
 */
export function parseDecrypted<T>(file: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof LanesError) {
      throw new LanesError(`decrypted ${file} is not valid (the details are not shown: they could quote secret values)`, {
        location: e.location,
        hint: 'look at it with ansible-vault view',
      });
    }
    throw e;
  }
}
