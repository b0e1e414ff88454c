/** Run a command on a lab host as root, through lanes' own transport (for test setup and checks). */
import { SshConnection } from '../../../agent/transport/connection.js';
import { resolveTarget } from '../../../agent/transport/target.js';
import type { EnsuredLab } from './lab.js';

export async function onHost(lab: EnsuredLab, name: string, script: string, opts: { allowFail?: boolean } = {}): Promise<string> {
  const host = lab.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`no lab host ${name}`);
  const conn = await SshConnection.open(
    resolveTarget(name, {
      ansible_host: host.address,
      ansible_user: 'lanes',
      ansible_ssh_private_key_file: lab.keyFile,
      ansible_ssh_common_args: `-o UserKnownHostsFile=${lab.knownHostsFile}`,
      ansible_become: true,
    }),
  );
  try {
    const r = opts.allowFail ? await conn.exec(script) : await conn.run(script);
    return r.stdout;
  } finally {
    conn.close();
  }
}
