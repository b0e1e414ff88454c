// The bench's hand-written floor must keep covering what lanes' plan of playbooks/site.yml reads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { floorScript, uncoveredProbes } from '../../../bench/floor.js';
import { probesFor } from '../../../agent/plan/plan-host.js';
import { preparePlaybookRun } from '../../../agent/plan/prepare.js';
import { repoRoot } from '../../support/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-floor-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function siteProbes() {
  const inventory = path.join(dir, 'inventory.yml');
  writeFileSync(inventory, 'all:\n  children:\n    app:\n      hosts:\n        h1: { ansible_host: 127.0.0.1, nginx_listen: "127.0.0.1:80" }\n');
  const prepared = await preparePlaybookRun({ playbook: path.join(repoRoot, 'playbooks', 'site.yml'), inventory: [inventory] });
  return probesFor(prepared.desired.get('h1')!);
}

describe('bench floor', () => {
  it('covers every path, user, group, unit and unit property lanes reads for site.yml', async () => {
    const probes = await siteProbes();
    assert.ok(probes.filter((p) => p.kind === 'file').length > 20, 'site.yml has file probes');
    assert.deepEqual(uncoveredProbes(probes), []);
  });

  it('names what it does not cover', async () => {
    const probes = [...(await siteProbes()), { kind: 'file' as const, path: '/etc/new.conf' }, { kind: 'unit' as const, name: 'nginx.service', properties: ['ExecMainPID'] }];
    assert.deepEqual(uncoveredProbes(probes), ['file /etc/new.conf', 'unit property nginx.service ExecMainPID']);
  });

  it('is a valid sh script, with supervisorctl or with a Python XML-RPC request that compiles', () => {
    execFileSync('sh', ['-n', '-c', floorScript()]);
    execFileSync('sh', ['-n', '-c', floorScript('xmlrpc')]);
    assert.match(floorScript(), /^supervisorctl status$/m);
    const xmlrpc = floorScript('xmlrpc').split('\n').find((l) => l.startsWith('python3 '));
    assert.ok(xmlrpc && !floorScript('xmlrpc').includes('supervisorctl'));
    // The Python itself compiles (sh hands it over as one word: its -c argument).
    const code = /-c '(.*)'$/.exec(xmlrpc)![1]!;
    execFileSync('python3', ['-c', 'import sys; compile(sys.argv[1], "floor", "exec")', code]);
  });
});
