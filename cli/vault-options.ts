/**
 * The Ansible Vault options of every command that reads an inventory (ping, facts, inventory, plan,
 * apply, release, rollback, drain, undrain). The passwords are read once, before the command's
 * handler, so that every file read afterwards can be decrypted.
 */
import type { Argv } from 'yargs';
import { LanesError } from '../agent/errors.js';
import { promptHidden } from './prompt.js';
import { settingDefault, settings } from './settings.js';

export interface VaultArgs {
  'vault-password-file'?: string[];
  'vault-id'?: string[];
  'ask-vault-pass': boolean;
}

export function vaultOptions<T>(y: Argv<T>): Argv<T & VaultArgs> {
  return y
    .option('vault-password-file', {
      alias: 'vault-pass-file',
      type: 'string',
      array: true,
      describe: 'file with the vault password (vault id "default"), or an executable that prints it; repeatable (also $ANSIBLE_VAULT_PASSWORD_FILE, ansible.cfg vault_password_file)',
    })
    .option('vault-id', {
      type: 'string',
      array: true,
      describe: 'LABEL@FILE, LABEL@prompt or LABEL@SCRIPT: a vault password for that vault id; repeatable (also $ANSIBLE_VAULT_IDENTITY_LIST, ansible.cfg vault_identity_list)',
    })
    .option('ask-vault-pass', { alias: 'J', type: 'boolean', ...settingDefault('DEFAULT_ASK_VAULT_PASS', false), describe: 'ask for the vault password on the terminal' })
    .middleware(async (argv) => {
      await useVaultPasswords(argv as unknown as VaultArgs, vaultEnv());
    }) as unknown as Argv<T & VaultArgs>;
}

/** Read every vault password the options and environment name, and give them to the run's keyring. */
export async function useVaultPasswords(args: VaultArgs, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Imported here, not at the top: building the options (`--help`) must not load the engine.
  const { loadVaultSecrets, vault, vaultIdSpecs } = await import('../agent/vault/index.js');
  const specs = vaultIdSpecs({ vaultIds: args['vault-id'], passwordFiles: args['vault-password-file'], askVaultPass: args['ask-vault-pass'], env });
  vault.setSecrets(await loadVaultSecrets(specs, { prompt: askVaultPassword }));
}

/**
 * The environment the vault sources are read from, with vault_password_file / vault_identity_list
 * as the settings resolved them (ANSIBLE_* over ansible.cfg; a file's relative path is relative to
 * the ansible.cfg that names it, as in Ansible).
 */
export function vaultEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const s = settings().byName;
  const file = s.get('DEFAULT_VAULT_PASSWORD_FILE');
  const ids = s.get('DEFAULT_VAULT_IDENTITY_LIST');
  const out: NodeJS.ProcessEnv = { ...env };
  if (file && file.origin !== 'default' && typeof file.value === 'string') out.ANSIBLE_VAULT_PASSWORD_FILE = file.value;
  if (ids && ids.origin !== 'default' && Array.isArray(ids.value)) out.ANSIBLE_VAULT_IDENTITY_LIST = ids.value.join(',');
  return out;
}

async function askVaultPassword(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new LanesError('cannot ask for the vault password: standard input is not a terminal', {
      hint: 'give --vault-password-file FILE or --vault-id LABEL@FILE, or set ANSIBLE_VAULT_PASSWORD_FILE',
    });
  }
  return promptHidden(question);
}
