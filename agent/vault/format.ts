/**
 * The Ansible Vault envelope, as ansible-core writes it:
 *
 *   $ANSIBLE_VAULT;1.1;AES256            (or 1.2;AES256;<vault-id>)
 *   6134…                                 hex lines (80 columns) of one hex string, which decodes to
 *                                         "<hex salt>\n<hex hmac>\n<hex ciphertext>"
 *
 * Parsing is separate from decryption so that a corrupt file is reported (file and line) before
 * any password is tried.
 */
import { LanesError } from '../errors.js';

export const VAULT_HEADER = '$ANSIBLE_VAULT';

export interface VaultEnvelope {
  version: string;
  cipher: string;
  /** The label of a 1.2 header; undefined for 1.1 (Ansible then calls it "default"). */
  vaultId?: string;
  salt: Buffer;
  hmac: Buffer;
  ciphertext: Buffer;
}

/** Whether text is a vault envelope (what Ansible's is_encrypted checks: the header at the very start). */
export function isVaultText(text: string): boolean {
  return text.startsWith(`${VAULT_HEADER};`);
}

/**
 * Parse an envelope. `what` names it in errors ("group_vars/web/vault.yml", "inventory.yml:4:9");
 * `firstLine` is the line of the header in that file, so a bad line is named where it is.
 */
export function parseVaultEnvelope(text: string, what: string, firstLine = 1): VaultEnvelope {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().split(';');
  const corrupt = (line: number, why: string): never => {
    throw new LanesError(`vault data of ${what} is corrupt at line ${firstLine + line}: ${why}`, {
      hint: 're-encrypt the file with ansible-vault',
    });
  };
  if (header[0] !== VAULT_HEADER || header.length < 3) corrupt(0, 'the header is not "$ANSIBLE_VAULT;1.1;AES256"');
  const version = (header[1] ?? '').trim();
  const cipher = (header[2] ?? '').trim();
  if (version !== '1.1' && version !== '1.2') {
    throw new LanesError(`vault format ${version} of ${what} is not supported`, { hint: 'lanes reads vault formats 1.1 and 1.2 (ansible-core 2.4 and later)' });
  }
  if (cipher !== 'AES256') {
    throw new LanesError(`vault cipher ${cipher} of ${what} is not supported`, { hint: 'ansible-core encrypts with AES256, the only cipher it and lanes read' });
  }
  const vaultId = header.length >= 4 ? (header[3] ?? '').trim() || undefined : undefined;

  let hex = '';
  for (let i = 1; i < lines.length; i += 1) {
    const line = (lines[i] ?? '').trim();
    if (!/^[0-9a-fA-F]*$/.test(line)) corrupt(i, 'not hexadecimal');
    hex += line;
  }
  if (hex.length === 0) corrupt(1, 'no encrypted data after the header');
  if (hex.length % 2 !== 0) corrupt(lines.length - 1, 'an odd number of hexadecimal digits (truncated?)');
  const inner = Buffer.from(hex, 'hex').toString('latin1');
  const parts = inner.split('\n');
  const lastLine = lines.length - 1;
  if (parts.length !== 3) corrupt(lastLine, 'the data is not salt, HMAC and ciphertext');
  const [salt, hmac, ciphertext] = parts.map((p) => (/^[0-9a-fA-F]*$/.test(p) && p.length % 2 === 0 ? Buffer.from(p, 'hex') : undefined));
  if (!salt || !hmac || !ciphertext || salt.length === 0 || ciphertext.length === 0) corrupt(lastLine, 'the salt, HMAC or ciphertext is not hexadecimal');
  if (hmac!.length !== 32) corrupt(lastLine, 'the HMAC is not 32 bytes');
  if (ciphertext!.length % 16 !== 0) corrupt(lastLine, 'the ciphertext is not whole AES blocks (truncated?)');
  return { version, cipher, vaultId, salt: salt!, hmac: hmac!, ciphertext: ciphertext! };
}
