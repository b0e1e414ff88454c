// Hostile templates through the real CLI: JavaScript reached from a playbook var, an inventory host
// var, -e or a template file; controller files read through templates, includes, vars_files and
// -e @file; a loop bomb. Each is refused with one located line and exit 1, before any connection:
// the payload's marker file is never created, and a lab host sees no SSH session and no change.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-hostile-'));
const pbDir = path.join(tmp, 'pb');
const marker = path.join(tmp, 'pwned');
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A template expression that would create the marker file on the controller. */
const payload = `{{ range.constructor('return process.getBuiltinModule("fs").writeFileSync(${JSON.stringify(marker)}, "x")')() }}`;

function write(rel: string, text: string): string {
  const p = path.join(pbDir, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** A play whose one file's content (line 6) uses `evil`, plus what a case adds. */
function playbook(name: string, extra = ''): string {
  return write(`${name}.yml`, `- hosts: all\n  vars:\n    note: hostile\n  files:\n    - path: /tmp/lanes-hostile-${name}\n      content: "{{ evil }}"\n${extra}`);
}

// An unroutable address (TEST-NET-1): a connection attempt would hang, not end with the template error.
const ghostInventory = path.join(tmp, 'ghost.yml');
writeFileSync(ghostInventory, `all:\n  hosts:\n    ghost:\n      ansible_host: 192.0.2.1\n      evil: "ok"\n`);

function assertRefused(r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr.trim(), pattern);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr + r.stdout, /\n\s+at |internal error/, 'no stack trace');
  assert.doesNotMatch(r.stderr + r.stdout, /root:x:0:0/, 'no controller file in the output');
  assert.equal(existsSync(marker), false, 'the payload ran on the controller');
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('hostile templates are refused before anything runs', () => {
  it('JavaScript from a playbook var', async () => {
    const pb = write('pbvar.yml', `- hosts: all\n  vars:\n    evil: "${payload.replace(/"/g, '\\"')}"\n  files:\n    - path: /tmp/lanes-hostile-pbvar\n      content: "{{ evil }}"\n`);
    assertRefused(await runCli(['plan', pb, '-i', ghostInventory]), new RegExp(`^lanes: ${esc(pb)}:6:16: files\\[0\\]\\.content: templates cannot access "constructor" \\(in variable "evil"\\) \\(host ghost\\)$`));
  });

  it('JavaScript from an inventory host var', async () => {
    const inv = path.join(tmp, 'evil-inventory.yml');
    writeFileSync(inv, `all:\n  hosts:\n    ghost:\n      ansible_host: 192.0.2.1\n      evil: "${payload.replace(/"/g, '\\"')}"\n`);
    const pb = playbook('hostvar');
    assertRefused(await runCli(['plan', pb, '-i', inv]), new RegExp(`^lanes: ${esc(pb)}:6:16: files\\[0\\]\\.content: templates cannot access "constructor" \\(in variable "evil"\\)`));
  });

  it('JavaScript from -e, as a CI variable would pass it', async () => {
    const pb = playbook('extravar');
    assertRefused(await runCli(['plan', pb, '-i', ghostInventory, '-e', `evil=${payload}`]), new RegExp(`^lanes: ${esc(pb)}:6:16: .*templates cannot access "constructor" \\(in variable "evil"\\)`));
    assertRefused(
      await runCli(['plan', pb, '-i', ghostInventory, '-e', JSON.stringify({ evil: "{{ ''.__class__.__mro__[1].__subclasses__() }}" })]),
      /templates cannot access "__class__"/,
    );
  });

  it('JavaScript in a template file, located in the template', async () => {
    const tpl = write('templates/evil.conf.j2', `# {{ note }}\nvalue = ${payload}\n`);
    const pb = playbook('tplfile', `  templates:\n    - src: evil.conf.j2\n      dest: /tmp/lanes-hostile-tplfile.conf\n`);
    assertRefused(await runCli(['plan', pb, '-i', ghostInventory]), new RegExp(`^lanes: ${esc(tpl)}:2:\\d+: templates cannot access "constructor" \\(host ghost\\)$`));
  });

  it("{% include '/etc/hostname' %} in a template", async () => {
    const tpl = write('templates/include.j2', `ok\n{% include '/etc/hostname' %}\n`);
    const pb = playbook('include', `  templates:\n    - src: include.j2\n      dest: /tmp/lanes-hostile-include\n`);
    const r = await runCli(['plan', pb, '-i', ghostInventory]);
    assertRefused(r, new RegExp(`^lanes: ${esc(tpl)}:2:\\d+: template "/etc/hostname" is outside the playbook directory ${esc(pbDir)} \\(templates, includes and vars_files are confined to it\\)`));
    const hostname = readFileSync('/etc/hostname', 'utf8').trim();
    if (hostname.length >= 4) assert.ok(!r.stderr.replace(pbDir, '').includes(hostname), 'the file is not printed');
  });

  it('a template src with .. out of the playbook directory', async () => {
    const pb = playbook('dotdot', `  templates:\n    - src: ../../../../../../../../etc/passwd\n      dest: /tmp/lanes-hostile-dotdot\n`);
    assertRefused(
      await runCli(['plan', pb, '-i', ghostInventory]),
      new RegExp(`^lanes: ${esc(pb)}:8:7: templates\\[0\\]\\.src: template "\\.\\./\\.\\./\\.\\./\\.\\./\\.\\./\\.\\./\\.\\./\\.\\./etc/passwd" is outside the playbook directory ${esc(pbDir)}`),
    );
  });

  it('a template that is a symbolic link out of the tree', async () => {
    mkdirSync(path.join(pbDir, 'templates'), { recursive: true });
    symlinkSync('/etc/passwd', path.join(pbDir, 'templates', 'link.j2'));
    const pb = playbook('symlink', `  templates:\n    - src: link.j2\n      dest: /tmp/lanes-hostile-symlink\n`);
    assertRefused(await runCli(['plan', pb, '-i', ghostInventory]), new RegExp(`^lanes: ${esc(pb)}:8:7: templates\\[0\\]\\.src: template "link\\.j2" leads through a symbolic link out of the playbook directory`));
  });

  it('vars_files and -e @file outside their trees', async () => {
    const pb = playbook('varsfiles', `  vars_files:\n    - /etc/passwd\n`);
    assertRefused(await runCli(['plan', pb, '-i', ghostInventory]), new RegExp(`^lanes: ${esc(pb)}:8:7: vars file "/etc/passwd" is outside the playbook directory`));
    const plain = playbook('atfile');
    assertRefused(await runCli(['plan', plain, '-i', ghostInventory, '-e', '@/etc/passwd'], { cwd: tmp }), /^lanes: --extra-vars file "\/etc\/passwd" is outside the working directory /);
  });

  it('a loop bomb in a template file', async () => {
    const tpl = write('templates/bomb.j2', `{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}\n{{ range(10**9) | length }}\n`);
    const pb = playbook('bomb', `  templates:\n    - src: bomb.j2\n      dest: /tmp/lanes-hostile-bomb\n`);
    assertRefused(await runCli(['plan', pb, '-i', ghostInventory]), new RegExp(`^lanes: ${esc(tpl)}:1:\\d+: the template runs more than 1,000,000 loop iterations and macro calls`));
    write('templates/range.j2', `{{ range(10**9) | length }}\n`);
    const pb2 = playbook('range', `  templates:\n    - src: range.j2\n      dest: /tmp/lanes-hostile-range\n`);
    assertRefused(await runCli(['plan', pb2, '-i', ghostInventory]), /range\.j2:1:\d+: range\(\) would make 1,000,000,000 numbers; the limit is 1,000,000/);
  });
});

describe('against a lab host: lanes apply --yes of a hostile playbook', () => {
  let lab: EnsuredLab;
  let host: string;
  before(async () => {
    lab = await ensureLab(1);
    host = lab.hosts[0]!.name;
  });

  /** SSH sessions the host's sshd accepted so far (each onHost call is one). */
  const sessions = async (): Promise<number> => Number((await onHost(lab, host, `journalctl -q _COMM=sshd 2>/dev/null | grep -c 'Accepted ' || true`)).trim());

  it('is refused before connecting: no session, no file, no marker', async () => {
    const target = `/tmp/lanes-hostile-${path.basename(tmp)}`;
    write('lab.yml', `- hosts: all\n  vars:\n    evil: "${payload.replace(/"/g, '\\"')}"\n  files:\n    - path: ${target}\n      content: "safe"\n    - path: ${target}-2\n      content: "{{ evil }}"\n`);
    const before = await sessions();
    const r = await runCli(['apply', path.join(pbDir, 'lab.yml'), '-i', lab.inventoryFile, '--limit', host, '--yes']);
    assertRefused(r, new RegExp(`lab\\.yml:8:16: files\\[1\\]\\.content: templates cannot access "constructor" \\(in variable "evil"\\) \\(host ${esc(host)}\\)$`));
    const afterCount = await sessions();
    assert.equal(afterCount, before + 1, 'only the check itself opened an SSH session');
    assert.equal((await onHost(lab, host, `ls ${target} ${target}-2 2>/dev/null | wc -l`)).trim(), '0', 'nothing was written on the host');
  });
});
