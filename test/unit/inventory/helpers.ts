// Shared test helpers: fixture paths and exact LanesError assertions.
import { fileURLToPath } from 'node:url';

/** Absolute path of a file under test/fixtures/inventory/ (read from the source tree, not dist/). */
export function fixture(rel = ''): string {
  return fileURLToPath(new URL(`../../../../test/fixtures/inventory/${rel}`, import.meta.url));
}

export { expectLanesError, type ExpectedError } from '../../support/errors.js';
