/** Ansible Vault: the envelope, the AES256 cipher, the run's passwords and where they come from. */
export { isVaultText, parseVaultEnvelope, VAULT_HEADER, type VaultEnvelope } from './format.js';
export { decryptEnvelope, encryptVault } from './cipher.js';
export { DEFAULT_VAULT_ID, VAULT_PASSWORD_HINT, VaultKeyring, parseDecrypted, registerSecretLeaves, vault, type VaultSecret } from './keyring.js';
export { isClientScript, loadVaultSecrets, splitVaultId, vaultIdSpecs, type VaultIdSpec, type VaultOptions } from './sources.js';
