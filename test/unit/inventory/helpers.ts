// Shared test helpers: fixture paths and exact LanesError assertions.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { vault } from '../../../agent/vault/index.js';

/** Absolute path of a file under test/fixtures/inventory/ (read from the source tree, not dist/). */
export function fixture(rel = ''): string {
  return fileURLToPath(new URL(`../../../../test/fixtures/inventory/${rel}`, import.meta.url));
}

export { expectLanesError, type ExpectedError } from '../../support/errors.js';

/** The test-only vault password of test/fixtures/vault/ (see its README), as `--vault-password-file` gives it. */
export function fixtureVaultPassword(id = 'default'): Buffer {
  return Buffer.from(readFileSync(fileURLToPath(new URL(`../../../../test/fixtures/vault/password-${id}.txt`, import.meta.url)), 'utf8').trim());
}

// The inventory fixtures hold inline vault values encrypted with the default test password
// (prod/host_vars/db1.example.com/vault): every test that loads them runs with it given.
vault.setSecrets([{ id: 'default', password: fixtureVaultPassword(), source: 'test' }]);
