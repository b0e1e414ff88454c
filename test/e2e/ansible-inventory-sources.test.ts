// Issue 10 on real hosts: a team's Ansible setup used as it is. An ansible.cfg names an executable
// inventory script (no -i), the remote user, the key, become and known_hosts (through ssh_args); a float
// from the script (8.0) reaches a file on the hosts as Ansible renders it; unsupported settings are
// named once; a failing script stops the run before any host is touched.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jsonEvents, runCli } from '../support/cli.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

let lab: EnsuredLab;
let dir: string;
let failing: string;
/** An empty HOME: no ~/.ansible.cfg or ~/.ssh of the test machine can make a test pass by accident. */
let home: string;
const TARGET = '/etc/lanes-e2e-php-version';

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // No LANES_INVENTORY or ANSIBLE_* from the machine running the tests.
  const clean: NodeJS.ProcessEnv = { HOME: home, LANES_INVENTORY: '' };
  for (const k of Object.keys(process.env)) if (k.startsWith('ANSIBLE_')) clean[k] = '';
  return { ...clean, ...extra };
}

before(async () => {
  lab = await ensureLab(2);
  dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-ansible-'));
  home = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-home-'));
  const hosts = lab.hosts.slice(0, 2);
  const meta = Object.fromEntries(hosts.map((h) => [h.name, { ansible_host: h.address }]));
  const listing = JSON.stringify({ php: { hosts: hosts.map((h) => h.name), vars: { php_version: 8.0 } }, _meta: { hostvars: meta } }).replace('"php_version":8', '"php_version":8.0');
  const script = path.join(dir, 'inventory.sh');
  writeFileSync(script, `#!/bin/sh\nif [ "$1" = "--list" ]; then cat <<'JSON'\n${listing}\nJSON\nelse echo '{}'; fi\n`);
  chmodSync(script, 0o755);
  failing = path.join(dir, 'broken.sh');
  writeFileSync(failing, `#!/bin/sh\necho "cloud API: credentials expired" >&2\nexit 3\n`);
  chmodSync(failing, 0o755);
  writeFileSync(
    path.join(dir, 'ansible.cfg'),
    [
      '[defaults]',
      'inventory = inventory.sh',
      'remote_user = lanes',
      `private_key_file = ${lab.keyFile}`,
      'forks = 1',
      'retry_files_enabled = False',
      '[privilege_escalation]',
      'become = True',
      '[ssh_connection]',
      `ssh_args = -o UserKnownHostsFile=${lab.knownHostsFile} -o ControlMaster=auto`,
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'site.yml'), `- hosts: php\n  files:\n    - path: ${TARGET}\n      content: "php {{ php_version }}\\n"\n      mode: "0644"\n`);
  await Promise.all(hosts.map((h) => onHost(lab, h.name, `rm -f ${TARGET}`)));
});

after(async () => {
  await Promise.all(lab.hosts.slice(0, 2).map((h) => onHost(lab, h.name, `rm -f ${TARGET}`)));
});

describe('an Ansible setup used as it is (ansible.cfg, inventory script)', () => {
  it('lanes config shows each setting with the file it came from, and names the unsupported ones', async () => {
    const r = await runCli(['config'], { cwd: dir, env: env() });
    assert.equal(r.code, 0, r.stderr);
    const cfg = path.join(dir, 'ansible.cfg');
    assert.match(r.stdout, new RegExp(`^DEFAULT_HOST_LIST\\(${cfg.replace(/\./g, '\\.')}\\) = \\['${path.join(dir, 'inventory.sh').replace(/\./g, '\\.')}'\\]$`, 'm'));
    assert.match(r.stdout, /^DEFAULT_REMOTE_USER\(.*ansible\.cfg\) = lanes$/m);
    assert.match(r.stdout, /^DEFAULT_FORKS\(.*ansible\.cfg\) = 1$/m);
    assert.match(`${r.stdout}${r.stderr}`, /retry_files_enabled/);
    assert.match(`${r.stdout}${r.stderr}`, /ControlMaster/);
  });

  it('apply with no -i: the script inventory, user, key, become and known_hosts from ansible.cfg; 8.0 stays 8.0 on the hosts', async () => {
    const r = await runCli(['apply', 'site.yml', '--yes', '--json'], { cwd: dir, env: env() });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const ends = jsonEvents(r.stdout).filter((e) => e.type === 'host-end');
    assert.deepEqual(ends.map((e) => e.host).sort(), lab.hosts.slice(0, 2).map((h) => h.name).sort());
    // The unsupported settings are named once, in one warning line.
    const warnings = r.stderr.split('\n').filter((l) => l.includes('does not support'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0] ?? '', /retry_files_enabled.*ControlMaster|ControlMaster.*retry_files_enabled/);
    for (const h of lab.hosts.slice(0, 2)) {
      const out = await onHost(lab, h.name, `cat ${TARGET}; stat -c '%U %a' ${TARGET}`);
      assert.equal(out.trim(), 'php 8.0\nroot 644', `${h.name}: the file as Ansible would render it, written as root (become)`);
    }
  });

  it('a failing inventory script stops the run before any host is touched, naming the script and its error', async () => {
    await Promise.all(lab.hosts.slice(0, 2).map((h) => onHost(lab, h.name, `rm -f ${TARGET}`)));
    const r = await runCli(['apply', 'site.yml', '--yes'], { cwd: dir, env: env({ ANSIBLE_INVENTORY: failing }) });
    assert.equal(r.code, 1, r.stderr);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('lanes: '));
    assert.equal(errorLines.length, 1, r.stderr);
    assert.match(errorLines[0] ?? '', /broken\.sh.*exited with status 3: cloud API: credentials expired/);
    for (const h of lab.hosts.slice(0, 2)) {
      const out = await onHost(lab, h.name, `test -e ${TARGET} && echo present || echo absent`);
      assert.equal(out.trim(), 'absent', `${h.name} was not touched`);
    }
  });
});
