/**
 * Run a resource's shell script through a real sh with only stub commands on PATH: each stub records
 * its name and argv (NUL-separated, one record per call), so tests assert the exact argv a command
 * would get — quoting included — without running it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @param commands the command names to stub
 * @param recordEnv an environment variable each record starts with, as `NAME=value` (e.g. DEBIAN_FRONTEND)
 * @returns one argv per command run, `[name, ...args]` (preceded by the env entry when asked)
 */
export function runStubbed(script: string, commands: string[], recordEnv?: string): string[][] {
  const envPart = recordEnv ? `"${recordEnv}=\${${recordEnv}-}" ` : '';
  const stub = `#!/bin/sh\n{ printf '%s\\0' ${envPart}"\${0##*/}" "$@"; printf '\\036'; } >>"$STUB_LOG"\n`;
  const dir = mkdtempSync(join(tmpdir(), 'lanes-stub-'));
  try {
    for (const name of commands) writeFileSync(join(dir, name), stub, { mode: 0o755 });
    const log = join(dir, 'calls');
    writeFileSync(log, '');
    execFileSync('/bin/sh', ['-c', script], { env: { PATH: dir, STUB_LOG: log }, stdio: 'pipe' });
    return readFileSync(log, 'utf8')
      .split('\x1e')
      .filter((record) => record !== '')
      .map((record) => record.split('\0').slice(0, -1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
