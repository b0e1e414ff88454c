// package: apt on Debian, dnf/yum on RHEL; every script is run through a real sh with the package
// managers stubbed, so the exact argv (and the apt environment) is what is asserted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostFacts } from '../../../agent/facts/gather.js';
import { LanesError } from '../../../agent/errors.js';
import { packageResource, packageSchema, versionMatches, type PackageSpec } from '../../../agent/resources/package.js';
import type { ActualState, Change, PackageState, PlanContext } from '../../../agent/resources/types.js';
import { runStubbed } from '../../support/stubs.js';
import { actualState, debianFacts, rhelFacts } from '../../support/actual.js';

const ctx: PlanContext = { host: 'web1', source: { file: 'play.yml', line: 4, column: 7 }, all: [] };

const STUBBED = ['apt-get', 'dnf', 'yum'];
const runStubbedHere = (script: string): string[][] => runStubbed(script, STUBBED, 'DEBIAN_FRONTEND');

function parse(value: unknown): PackageSpec {
  return packageSchema.parse(value);
}

function issues(value: unknown): { path: PropertyKey[]; message: string }[] {
  const result = packageSchema.safeParse(value);
  assert.equal(result.success, false, `expected ${JSON.stringify(value)} to be refused`);
  return result.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

function installed(...pkgs: PackageState[]): Map<string, PackageState> {
  return new Map(pkgs.map((p) => [p.name, p]));
}

function state(facts: HostFacts, pkgs: PackageState[] = []): ActualState {
  return actualState(facts, { packages: installed(...pkgs) });
}

function plan(spec: unknown, actual: ActualState): Change[] {
  return packageResource.plan(parse(spec), actual, ctx);
}

/** The single run script of a single change. */
function script(changes: Change[]): string {
  assert.equal(changes.length, 1);
  const ops = changes[0]!.operations;
  assert.equal(ops.length, 1);
  const op = ops[0]!;
  assert.equal(op.op, 'run');
  assert.ok(op.op === 'run' && op.phase === 'prepare');
  return op.script;
}

const APT_INSTALL = ['DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold'];

describe('package schema', () => {
  it('accepts a bare name as a present package', () => {
    assert.deepEqual(parse('nginx'), { name: 'nginx', state: 'present' });
    assert.deepEqual(parse('php8.2-fpm'), { name: 'php8.2-fpm', state: 'present' });
  });

  it('accepts the object form with version and state', () => {
    assert.deepEqual(parse({ name: 'nginx', version: '1.22.1-9' }), { name: 'nginx', version: '1.22.1-9', state: 'present' });
    assert.deepEqual(parse({ name: 'apache2', state: 'absent' }), { name: 'apache2', state: 'absent' });
    assert.deepEqual(parse({ name: 'libstdc++6' }), { name: 'libstdc++6', state: 'present' });
    assert.deepEqual(parse({ name: 'NetworkManager' }), { name: 'NetworkManager', state: 'present' }, 'RPM names may be upper case');
  });

  const NAME = 'must be a package name: letters, digits, "+", ".", "_" or "-", starting with a letter or digit';
  for (const bad of ['nginx;id', 'nginx\nid', 'nginx id', '-oAPT::Get::Trivial-Only=true', '$(id)', '', 'nginx=1.2', "ngi'nx"]) {
    it(`refuses the name ${JSON.stringify(bad)}, bare or in an object`, () => {
      assert.deepEqual(issues(bad), [{ path: ['name'], message: NAME }]);
      assert.deepEqual(issues({ name: bad }), [{ path: ['name'], message: NAME }]);
    });
  }

  it('refuses a version that is not a quoted version string', () => {
    assert.deepEqual(issues({ name: 'nginx', version: 8.2 }), [{ path: ['version'], message: 'must be a version in quotes, e.g. "1.22.1-9"' }]);
    const VERSION = 'must be a package version: letters, digits and ". + ~ : ^ _ -", starting with a letter or digit';
    for (const bad of ['1.2; id', '1.2\n', '-1', '1.2 3', '$(id)', '']) {
      assert.deepEqual(issues({ name: 'nginx', version: bad }), [{ path: ['version'], message: VERSION }], bad);
    }
  });

  it('refuses unknown keys, an unknown state and non-objects', () => {
    assert.deepEqual(issues({ name: 'nginx', versoin: '1.2' }), [{ path: [], message: 'Unrecognized key: "versoin"' }]);
    assert.deepEqual(issues({ name: 'nginx', state: 'latest' }), [{ path: ['state'], message: 'Invalid option: expected one of "present"|"absent"' }]);
    assert.deepEqual(issues(42), [{ path: [], message: 'Invalid input: expected object, received number' }]);
  });

  it('is identified by name and probes the package', () => {
    const spec = parse('nginx');
    assert.equal(packageResource.type, 'package');
    assert.equal(packageResource.id(spec), 'nginx');
    assert.deepEqual(packageResource.probes(spec), [{ kind: 'package', name: 'nginx' }]);
  });
});

describe('package plan on Debian (apt)', () => {
  it('is converged when installed (any version) or pinned and matching', () => {
    assert.deepEqual(plan('nginx', state(debianFacts, [{ name: 'nginx', version: '1.22.1-9' }])), []);
    assert.deepEqual(plan({ name: 'nginx', version: '1.22.1-9' }, state(debianFacts, [{ name: 'nginx', version: '1.22.1-9' }])), []);
    assert.deepEqual(plan({ name: 'nginx', state: 'absent' }, state(debianFacts)), []);
    assert.deepEqual(plan({ name: 'nginx', state: 'absent' }, state(debianFacts, [{ name: 'nginx' }])), [], 'known but not installed');
  });

  it('installs a missing package', () => {
    const changes = plan('nginx', state(debianFacts));
    assert.equal(changes.length, 1);
    const change = changes[0]!;
    assert.equal(change.resource, 'package[nginx]');
    assert.equal(change.action, 'create');
    assert.equal(change.summary, 'install package nginx');
    assert.equal(change.fields, undefined);
    assert.deepEqual(change.operations, [
      {
        op: 'run',
        phase: 'prepare',
        script: 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold nginx',
        describe: 'install package nginx',
      },
    ]);
    assert.deepEqual(runStubbedHere(script(changes)), [[...APT_INSTALL, 'nginx']]);
  });

  it('installs a pinned version as NAME=VERSION', () => {
    const changes = plan({ name: 'php8.2-fpm', version: '8.2.32-1+deb12u1' }, state(debianFacts));
    assert.equal(changes[0]!.summary, 'install package php8.2-fpm 8.2.32-1+deb12u1');
    assert.deepEqual(changes[0]!.fields, [{ name: 'version', after: '8.2.32-1+deb12u1' }]);
    assert.deepEqual(runStubbedHere(script(changes)), [[...APT_INSTALL, 'php8.2-fpm=8.2.32-1+deb12u1']]);
  });

  it('changes the version of an installed package (allowing a downgrade)', () => {
    const changes = plan({ name: 'nginx', version: '1.22.1-9' }, state(debianFacts, [{ name: 'nginx', version: '1.22.1-10' }]));
    const change = changes[0]!;
    assert.equal(change.action, 'update');
    assert.equal(change.summary, 'package nginx: version 1.22.1-10 → 1.22.1-9');
    assert.deepEqual(change.fields, [{ name: 'version', before: '1.22.1-10', after: '1.22.1-9' }]);
    assert.deepEqual(runStubbedHere(script(changes)), [[...APT_INSTALL, '--allow-downgrades', 'nginx=1.22.1-9']]);
  });

  it('removes an installed package', () => {
    const changes = plan({ name: 'apache2', state: 'absent' }, state(debianFacts, [{ name: 'apache2', version: '2.4.62-1~deb12u2' }]));
    const change = changes[0]!;
    assert.equal(change.resource, 'package[apache2]');
    assert.equal(change.action, 'delete');
    assert.equal(change.summary, 'remove package apache2 2.4.62-1~deb12u2');
    assert.deepEqual(change.fields, [{ name: 'version', before: '2.4.62-1~deb12u2' }]);
    assert.deepEqual(runStubbedHere(script(changes)), [['DEBIAN_FRONTEND=noninteractive', 'apt-get', 'remove', '-y', 'apache2']]);
  });

  it('passes an unusual but valid version (epoch, tilde, plus, colon) through sh as one argument', () => {
    const changes = plan({ name: 'libfoo+bar_x', version: '1:2.0~rc1+dfsg-1' }, state(debianFacts));
    assert.deepEqual(runStubbedHere(script(changes)), [[...APT_INSTALL, 'libfoo+bar_x=1:2.0~rc1+dfsg-1']]);
  });
});

describe('package plan on RHEL (dnf / yum)', () => {
  it('installs with dnf, pinned as NAME-VERSION', () => {
    const plain = plan('nginx', state(rhelFacts));
    assert.equal(script(plain), 'dnf install -y nginx');
    assert.deepEqual(runStubbedHere(script(plain)), [['DEBIAN_FRONTEND=', 'dnf', 'install', '-y', 'nginx']]);
    const pinned = plan({ name: 'nginx', version: '1:1.20.1-14.el9_2.1' }, state(rhelFacts));
    assert.equal(pinned[0]!.summary, 'install package nginx 1:1.20.1-14.el9_2.1');
    assert.deepEqual(runStubbedHere(script(pinned)), [['DEBIAN_FRONTEND=', 'dnf', 'install', '-y', 'nginx-1:1.20.1-14.el9_2.1']]);
  });

  it('treats a version without release as matching any release', () => {
    assert.deepEqual(plan({ name: 'nginx', version: '1.20.1' }, state(rhelFacts, [{ name: 'nginx', version: '1.20.1-14.el9_2.1' }])), []);
    assert.deepEqual(plan({ name: 'nginx', version: '1.20.1' }, state(rhelFacts, [{ name: 'nginx', version: '1:1.20.1-14.el9_2.1' }])), []);
  });

  it('changes the version with dnf install (which also downgrades)', () => {
    const changes = plan({ name: 'nginx', version: '1.20.1' }, state(rhelFacts, [{ name: 'nginx', version: '1.22.0-1.el9' }]));
    assert.equal(changes[0]!.summary, 'package nginx: version 1.22.0-1.el9 → 1.20.1');
    assert.equal(changes[0]!.notes, undefined);
    assert.deepEqual(runStubbedHere(script(changes)), [['DEBIAN_FRONTEND=', 'dnf', 'install', '-y', 'nginx-1.20.1']]);
  });

  it('removes with dnf', () => {
    const changes = plan({ name: 'httpd', state: 'absent' }, state(rhelFacts, [{ name: 'httpd', version: '2.4.57-5.el9' }]));
    assert.equal(changes[0]!.summary, 'remove package httpd 2.4.57-5.el9');
    assert.deepEqual(runStubbedHere(script(changes)), [['DEBIAN_FRONTEND=', 'dnf', 'remove', '-y', 'httpd']]);
  });

  it('uses yum where there is no dnf, and notes that yum does not downgrade', () => {
    const yumFacts: HostFacts = { ...rhelFacts, package_manager: { manager: 'yum' } };
    assert.deepEqual(runStubbedHere(script(plan('nginx', state(yumFacts)))), [['DEBIAN_FRONTEND=', 'yum', 'install', '-y', 'nginx']]);
    const update = plan({ name: 'nginx', version: '1.20.1' }, state(yumFacts, [{ name: 'nginx', version: '1.22.0-1.el7' }]));
    assert.deepEqual(update[0]!.notes, ['yum install only upgrades: if the pinned version is older than the installed one, yum leaves it']);
    const remove = plan({ name: 'nginx', state: 'absent' }, state(yumFacts, [{ name: 'nginx', version: '1.22.0-1.el7' }]));
    assert.deepEqual(runStubbedHere(script(remove)), [['DEBIAN_FRONTEND=', 'yum', 'remove', '-y', 'nginx']]);
  });
});

describe('package plan without a package manager', () => {
  const unknown: HostFacts = { ...debianFacts, package_manager: { manager: 'unknown' } };

  it('is fine while nothing has to change', () => {
    assert.deepEqual(plan('nginx', state(unknown, [{ name: 'nginx', version: '1.22.1-9' }])), []);
    assert.deepEqual(plan({ name: 'nginx', state: 'absent' }, state(unknown)), []);
  });

  it('refuses a change with a LanesError naming the host and the playbook location', () => {
    assert.throws(
      () => plan('nginx', state(unknown)),
      (err: unknown) => {
        assert.ok(err instanceof LanesError);
        assert.equal(err.message, 'package[nginx]: no supported package manager on web1 (looked for apt-get, dnf and yum)');
        assert.deepEqual(err.location, ctx.source);
        assert.equal(err.host, 'web1');
        return true;
      },
    );
  });
});

describe('versionMatches', () => {
  const cases: [manager: 'apt' | 'dnf', installed: string, want: string, match: boolean][] = [
    ['apt', '1.22.1-9', '1.22.1-9', true],
    ['apt', '1.22.1-9', '1.22.1', false],
    ['apt', '2:8.2.32-1', '8.2.32-1', true],
    ['apt', '2:8.2.32-1', '2:8.2.32-1', true],
    ['apt', '2:8.2.32-1', '1:8.2.32-1', false],
    ['dnf', '1.20.1-14.el9', '1.20.1', true],
    ['dnf', '1.20.1-14.el9', '1.20.1-14.el9', true],
    ['dnf', '1.20.10-1.el9', '1.20.1', false],
    ['dnf', '1.20.1-14.el9', '1.20.1-13.el9', false],
    ['dnf', '1:1.20.1-14.el9', '1:1.20.1', true],
  ];
  for (const [manager, have, want, match] of cases) {
    it(`${manager}: installed ${have} ${match ? 'satisfies' : 'does not satisfy'} ${want}`, () => {
      assert.equal(versionMatches(manager, have, want), match);
    });
  }
});
