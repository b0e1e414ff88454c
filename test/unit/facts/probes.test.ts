// Probe kinds: batched commands and their parsers on outputs recorded on the lab (test/fixtures/facts/probes/),
// deduplication, assembly into ActualState, and the saved-plan fingerprint over every reading.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { hostFacts, parseGathered, gatherScript } from '../../../agent/facts/gather.js';
import { parseUsers } from '../../../agent/facts/probe-account.js';
import { parseFiles } from '../../../agent/facts/probe-file.js';
import { perProbeCommand, perProbeOutputs } from '../../../agent/facts/probe-kind.js';
import { parseUnitBlocks } from '../../../agent/facts/probe-unit.js';
import { assembleState, dedupeProbes, probeKey, stateFacts } from '../../../agent/facts/probes.js';
import { stateFingerprint } from '../../../agent/plan/plan-host.js';
import type { Probe } from '../../../agent/resources/types.js';
import { debianFacts } from '../../support/actual.js';
import { fixture } from '../../support/paths.js';

const recorded = (name: string) => readFileSync(fixture('facts', 'probes', name), 'utf8');

const LAB_UNITS = ['nope.service', 'php8.2-fpm.service', 'foo@bar\\x2dbaz.service', 'getty@tty1.service', 'app-scheduler.service', 'workers.slice'];

describe('unit probes: one systemctl show for all units', () => {
  it('splits the recorded blocks in argument order, a missing unit included', () => {
    const blocks = parseUnitBlocks(recorded('units-lab.txt'), LAB_UNITS.length);
    assert.deepEqual(
      blocks.map((b) => b.Id),
      LAB_UNITS,
    );
    assert.equal(blocks[0]!.LoadState, 'not-found');
    assert.equal(blocks[2]!.LoadState, 'not-found');
    assert.equal(blocks[3]!.FragmentPath, '/lib/systemd/system/getty@.service');
    assert.equal(blocks[5]!.UnitFileState, 'static');
  });

  it('keeps a value with `=` whole and an empty value empty', () => {
    const blocks = parseUnitBlocks(recorded('units-lab.txt'), LAB_UNITS.length);
    assert.match(blocks[1]!.ExecStart!, /^\{ path=\/usr\/sbin\/php-fpm8\.2 ; argv\[\]=\/usr\/sbin\/php-fpm8\.2 --nodaemonize .* status=0\/0 \}$/);
    assert.equal(blocks[1]!.Environment, '');
  });

  it('gives every unit no properties when systemctl printed nothing, and refuses a block count that does not match', () => {
    assert.deepEqual(parseUnitBlocks('', 2), [{}, {}]);
    assert.throws(() => parseUnitBlocks(recorded('units-lab.txt'), 5), /6 unit blocks for 5 units/);
  });

  it('asks once for the union of properties and gives each unit only what its probes asked for', () => {
    const probes: Probe[] = [
      { kind: 'unit', name: 'a.service', properties: ['ExecStart'] },
      { kind: 'unit', name: 'b.slice', properties: ['CPUWeight'] },
      { kind: 'unit', name: 'a.service', properties: ['Environment'] },
    ];
    const fact = stateFacts(probes).probe_unit!;
    assert.equal((fact.command.match(/systemctl show/g) ?? []).length, 1);
    assert.match(fact.command, /-p Id,LoadState,[^ ]*,ExecStart,Environment,CPUWeight -- a\.service b\.slice$/);
    const out = 'Id=a.service\nLoadState=loaded\nExecStart=x=1\nCPUWeight=[not set]\nEnvironment=A=b\n\nId=b.slice\nLoadState=loaded\nCPUWeight=100\n';
    const readings = fact.parse(out) as Record<string, { props: Record<string, string> }>;
    assert.deepEqual(readings['unit:a.service']!.props, { Id: 'a.service', LoadState: 'loaded', ExecStart: 'x=1', Environment: 'A=b' });
    assert.deepEqual(readings['unit:b.slice']!.props, { Id: 'b.slice', LoadState: 'loaded', CPUWeight: '100' });
  });
});

describe('user probes: getent for all users, groups as id -Gn reports them', () => {
  it('equals id -gn / id -Gn for every user of the lab host (recorded)', () => {
    const users = parseUsers(recorded('users-lab.txt'));
    const ids = recorded('users-lab-id.txt').trim().split('\n');
    assert.ok(ids.length > 20);
    for (const line of ids) {
      const [name, primary, all] = line.split('|') as [string, string, string];
      const u = users.find((x) => x.name === name);
      assert.ok(u, name);
      assert.equal(u.group, primary, name);
      assert.deepEqual(u.groups, all.split(/\s+/).filter((g) => g && g !== primary).sort(), name);
    }
    const deploy = users.find((u) => u.name === 'deploy')!;
    assert.deepEqual(deploy.groups, ['app']);
    assert.equal(users.find((u) => u.name === 'no-such-user'), undefined);
  });

  it('names a gid without a group by its number, as id does', () => {
    const out = [':: passwd', 'svc:x:1500:4242:Svc:/srv:/bin/sh', ':: initgroups', 'svc   4242 27', ':: group', 'sudo:x:27:svc', ''].join('\n');
    assert.deepEqual(parseUsers(out), [{ name: 'svc', uid: 1500, gid: 4242, group: '4242', groups: ['sudo'], home: '/srv', shell: '/bin/sh', comment: 'Svc' }]);
  });

  it('reads all users with three getent calls, whatever their number', () => {
    const cmd = stateFacts([1, 2, 3, 4].map((i): Probe => ({ kind: 'user', name: `u${i}` }))).probe_user!.command;
    assert.equal((cmd.match(/getent /g) ?? []).length, 3);
    assert.doesNotMatch(cmd, /\bid /);
  });
});

describe('file probes: one fact, split back per probe', () => {
  it('keeps each probe its own lines', () => {
    const texts = perProbeOutputs(['@@P 0', 'F L2V0Yy9h file 644 root root 1 - - eA==', '@@P 1', '@@P 2', 'x'].join('\n'), 3);
    assert.deepEqual(parseFiles(texts[0]!).map((f) => [f.path, f.content]), [['/etc/a', 'x']]);
    assert.equal(texts[1], '');
    assert.equal(texts[2], 'x\n');
    assert.match(perProbeCommand(['true', 'false']), /^echo '@@P 0'\n\( true\n\)\necho '@@P 1'\n\( false\n\)$/);
  });
});

describe('probes: dedupe, one fact per kind, assembled state', () => {
  it('merges probes with the same key and batches each kind into one fact', () => {
    const probes: Probe[] = [
      { kind: 'file', path: '/etc/a' },
      { kind: 'file', path: '/etc/a' },
      { kind: 'unit', name: 'x.service', properties: ['A'] },
      { kind: 'unit', name: 'x.service', properties: ['B'] },
      { kind: 'supervisor' },
      { kind: 'supervisor' },
    ];
    assert.deepEqual(dedupeProbes(probes), [
      { kind: 'file', path: '/etc/a' },
      { kind: 'supervisor' },
      { kind: 'unit', name: 'x.service', properties: ['A', 'B'] },
    ]);
    assert.deepEqual(Object.keys(stateFacts(probes)), [...Object.keys(hostFacts), 'probe_file', 'probe_supervisor', 'probe_unit']);
    assert.equal(probeKey({ kind: 'user', name: 'deploy' }), 'user:deploy');
  });

  it('assembles the readings into ActualState and keeps them by key', () => {
    const probes: Probe[] = [{ kind: 'group', name: 'app' }, { kind: 'supervisor' }];
    const facts = stateFacts(probes);
    const nonce = 'n1';
    const sections: Record<string, string> = {
      os: 'ID=debian\n',
      hardware: 'cpus 2\n',
      php_fpm: '',
      supervisor: '',
      systemd: 'pid1 systemd\n',
      package_manager: 'found apt-get\n',
      probe_group: 'app:x:997:queueuser,deploy\n',
      probe_supervisor: 'app-queue:app-queue_00           RUNNING   pid 507, uptime 0:02:04\nrc 0\n',
    };
    assert.match(gatherScript(facts, nonce), /begin probe_group/);
    const out = Object.entries(sections).map(([k, v]) => `@@${nonce} begin ${k}\n${v}@@${nonce} end ${k} 0`).join('\n');
    const state = assembleState(parseGathered(facts, out, nonce, 'h1'));
    assert.deepEqual(state.groups.get('app'), { name: 'app', gid: 997, members: ['queueuser', 'deploy'] });
    assert.equal(state.supervisor?.get('app-queue:app-queue_00')?.state, 'RUNNING');
    assert.deepEqual(Object.keys(state.readings).sort(), ['fact:hardware', 'fact:os', 'fact:package_manager', 'fact:php_fpm', 'fact:supervisor', 'fact:systemd', 'group:app', 'supervisor']);
  });
});

describe('stateFingerprint: every reading, by key', () => {
  const base = (): Record<string, unknown> => ({
    'fact:os': debianFacts.os,
    'fact:hardware': debianFacts.hardware,
    'fact:systemd': debianFacts.systemd,
    'fact:php_fpm': debianFacts.php_fpm,
    'unit:x.service': { name: 'x.service', props: { ActiveState: 'active' } },
    'file:/etc/a': [{ path: '/etc/a', type: 'file', mode: '0644', owner: 'root', group: 'root', size: 1, content: 'x' }],
  });
  const fp = (readings: Record<string, unknown>) => stateFingerprint({ facts: debianFacts, files: new Map(), users: new Map(), groups: new Map(), packages: new Map(), units: new Map(), readings });

  it('changes when any reading changes', () => {
    const before = fp(base());
    for (const key of Object.keys(base())) {
      if (key === 'fact:hardware') continue;
      const r = base();
      r[key] = { changed: true };
      assert.notEqual(fp(r), before, key);
    }
    const r = base();
    (r['unit:x.service'] as { props: Record<string, string> }).props.ActiveState = 'failed';
    assert.notEqual(fp(r), before);
  });

  it('covers a reading of a kind it was never told about (a resource adding a fact)', () => {
    const r = base();
    r['cron:deploy'] = ['*/5 * * * * /srv/app/bin/tick'];
    const withCron = fp(r);
    assert.notEqual(withCron, fp(base()));
    (r['cron:deploy'] as string[])[0] = '*/10 * * * * /srv/app/bin/tick';
    assert.notEqual(fp(r), withCron);
  });

  it('ignores volatile readings (hardware, systemd running state) and key order', () => {
    const before = fp(base());
    const r = base();
    r['fact:hardware'] = { cpus: 64, memoryMiB: 1 };
    r['fact:systemd'] = { ...debianFacts.systemd, state: 'degraded' };
    assert.equal(fp(r), before);
    const reversed = Object.fromEntries(Object.entries(base()).reverse());
    assert.equal(fp(reversed), before);
  });
});
