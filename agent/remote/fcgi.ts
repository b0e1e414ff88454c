/**
 * lanes' one FastCGI client (agent/remote/fcgi.php), read from the package at runtime. The compiled
 * module runs from dist/agent/remote/, where the .php file is not copied by tsc: it is looked up
 * beside the module first (a build that copies it), then in the source tree of the package.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['./fcgi.php', '../../../agent/remote/fcgi.php'];

let cached: string | undefined;

/** The text of fcgi.php. */
export function fcgiPhp(): string {
  if (cached !== undefined) return cached;
  for (const rel of CANDIDATES) {
    try {
      cached = readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8');
      return cached;
    } catch {
      // not there: the next candidate
    }
  }
  throw new Error(`agent/remote/fcgi.php is missing from the lanes package (looked in ${CANDIDATES.join(', ')} beside ${fileURLToPath(import.meta.url)})`);
}
