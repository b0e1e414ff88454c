// Hosts whose key would be accepted unchecked are named once before connecting (or refused).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { hostKeyPreflight, uncheckedHostKeys } from '../../../agent/transport/host-key-policy.js';
import { resolveTarget } from '../../../agent/transport/target.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-hkp-'));
const env = { HOME: dir };
// A real ed25519 public key blob (from ssh-keygen), so the known_hosts line parses.
const KEY = 'AAAAC3NzaC1lZDI1NTE5AAAAIFjDMrbNdrQtCupXxGa7K56TrlX2Nz8Jvl4E2W5sc3vo';
const kh = path.join(dir, 'known_hosts');
writeFileSync(kh, `known.example ssh-ed25519 ${KEY}\n[known.example]:2222 ssh-ed25519 ${KEY}\n`);

const target = (name: string, args: string, extra: Record<string, unknown> = {}) =>
  resolveTarget(name, { ansible_ssh_common_args: args, ...extra }, { env });

describe('uncheckedHostKeys', () => {
  it('names hosts with StrictHostKeyChecking=no and UserKnownHostsFile=/dev/null', async () => {
    const ts = [target('a', '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'), target('b', '-o StrictHostKeyChecking=no -o UserKnownHostsFile=none')];
    assert.deepEqual(await uncheckedHostKeys(ts), ['a', 'b']);
  });

  it('a host that a known_hosts file lists is checked, on its port', async () => {
    const ok = target('x', `-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${kh}`, { ansible_host: 'known.example' });
    const port = target('y', `-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${kh}`, { ansible_host: 'known.example', ansible_port: 2222 });
    const other = target('z', `-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${kh}`, { ansible_host: 'known.example', ansible_port: 2200 });
    assert.deepEqual(await uncheckedHostKeys([ok, port, other]), ['z']);
  });

  it('strict checking (the default) leaves nothing unchecked: unknown keys are refused at connect', async () => {
    assert.deepEqual(await uncheckedHostKeys([target('s', '-o UserKnownHostsFile=/dev/null')]), []);
  });

  it('names jump hosts too (with --accept-new-host-keys and no entry for them)', async () => {
    const t = resolveTarget('app', { ansible_ssh_common_args: '-o UserKnownHostsFile=/dev/null -J gw' }, { env, acceptNewHostKeys: true });
    assert.deepEqual(await uncheckedHostKeys([t]), ['app (jump host gw)', 'app']);
  });
});

describe('hostKeyPreflight', () => {
  const ts = [target('lab1', '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'), target('lab2', '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null')];

  it('warns once naming every host', async () => {
    const n = await hostKeyPreflight(ts, false);
    assert.deepEqual(n?.hosts, ['lab1', 'lab2']);
    assert.match(n?.text ?? '', /host keys NOT checked for lab1, lab2/);
  });

  it('refuses with --strict-host-keys, one line naming the hosts', async () => {
    await assert.rejects(hostKeyPreflight(ts, true), (e: unknown) => {
      assert.ok(e instanceof LanesError);
      assert.match(e.format(), /refusing to connect: the host keys of lab1, lab2 would be accepted without being checked/);
      assert.ok(!e.format().includes('\n'));
      return true;
    });
  });

  it('nothing to say when every key is checked', async () => {
    assert.equal(await hostKeyPreflight([target('s', '')], true), undefined);
  });
});
