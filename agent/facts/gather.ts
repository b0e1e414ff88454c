/**
 * Reads many facts in one exec: each fact's snippet runs in its own subshell between marker lines
 * carrying a per-run nonce (so no output can forge a marker), and the output is split back per fact.
 */
import { randomBytes } from 'node:crypto';
import { LanesError } from '../errors.js';
import type { SshConnection } from '../transport/connection.js';
import { STDIN_SCRIPT_COMMAND } from '../remote/sh.js';
import type { Fact } from './fact.js';
import { hardwareFact } from './hardware.js';
import { osFact } from './os.js';
import { packageManagerFact } from './packages.js';
import { phpFpmFact } from './php-fpm.js';
import { supervisorFact } from './supervisor.js';
import { systemdFact } from './systemd.js';

export type FactValues<F extends Record<string, Fact<unknown>>> = { [K in keyof F]: ReturnType<F[K]['parse']> };

/** The facts `lanes facts` shows. */
export const hostFacts = {
  os: osFact,
  hardware: hardwareFact,
  php_fpm: phpFpmFact,
  supervisor: supervisorFact,
  systemd: systemdFact,
  package_manager: packageManagerFact,
};

export type HostFacts = FactValues<typeof hostFacts>;

export function gatherScript(facts: Record<string, Fact<unknown>>, nonce: string): string {
  return Buffer.concat(gatherScriptChunks(facts, nonce).map((c) => (typeof c === 'string' ? Buffer.from(c, 'utf8') : c))).toString('utf8');
}

/**
 * The fact script as the chunks sent on the exec's stdin (together exactly gatherScript's bytes):
 * the per-exec nonce lines, and each fact's `( command )`, encoded once per fact object and shared by
 * every host reading it. A host's script is ~80 KB with its file probes: made anew per host, it
 * outlived young-generation collections while the host's exec ran, and 100 hosts at once filled the
 * old generation with dead scripts.
 */
export function gatherScriptChunks(facts: Record<string, Fact<unknown>>, nonce: string): (string | Buffer)[] {
  const parts: (string | Buffer)[] = ['exec 2>/dev/null\nLC_ALL=C; export LC_ALL'];
  for (const key of Object.keys(facts)) parts.push(`\necho '@@${nonce} begin ${key}'\n`, commandBytes(facts[key]!), `\necho "@@${nonce} end ${key} $?"`);
  return parts;
}

const encodedCommands = new WeakMap<Fact<unknown>, Buffer>();

/** `( COMMAND\n)` of a fact as UTF-8, once per fact object (facts are never changed in place). */
function commandBytes(fact: Fact<unknown>): Buffer {
  let bytes = encodedCommands.get(fact);
  if (!bytes) encodedCommands.set(fact, (bytes = Buffer.from(`( ${fact.command}\n)`, 'utf8')));
  return bytes;
}

export function parseGathered<F extends Record<string, Fact<unknown>>>(facts: F, output: string, nonce: string, host: string): FactValues<F> {
  const sections = new Map<string, string>();
  const re = new RegExp(`^@@${nonce} begin (\\S+)\\n([\\s\\S]*?)^@@${nonce} end \\1 \\d+$`, 'gm');
  for (const m of output.matchAll(re)) sections.set(m[1]!, m[2]!);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(facts)) {
    const text = sections.get(key);
    if (text === undefined) {
      throw new LanesError(`fact "${key}" produced no output (the fact script was cut short)`, { kind: 'exec', host });
    }
    out[key] = facts[key]!.parse(text);
  }
  return out as FactValues<F>;
}

/** Read `facts` from a host in one exec; the script streams on stdin (one probe per managed thing: no size limit). */
export async function gatherFacts<F extends Record<string, Fact<unknown>>>(conn: SshConnection, facts: F, opts: { become?: boolean; timeoutMs?: number } = {}): Promise<FactValues<F>> {
  const nonce = randomBytes(6).toString('hex');
  const result = await conn.run(STDIN_SCRIPT_COMMAND, { stdin: gatherScriptChunks(facts, nonce), become: opts.become, timeoutMs: opts.timeoutMs, explain: 'reading facts failed' });
  return parseGathered(facts, result.stdout, nonce, conn.target.name);
}
