// service: enable/disable and start/stop of units lanes does not write (nginx, php8.2-fpm…), from
// `systemctl show` only; never touches files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { serviceResource, serviceSchema, type ServiceSpec } from '../../../agent/resources/service.js';
import type { ActualState, PlanContext } from '../../../agent/resources/types.js';
import { actualState, debianFacts, rhelFacts } from '../../support/actual.js';

const ctx: PlanContext = { host: 'web1', source: { file: 'playbooks/site.yml', line: 60, column: 5 }, all: [] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

function spec(over: Loose = {}): ServiceSpec {
  return serviceSchema.parse({ name: 'nginx', enabled: true, state: 'started', ...over });
}

function host(unit: string, props: Record<string, string>, facts = debianFacts): ActualState {
  return actualState(facts, { units: new Map([[unit, { name: unit, props: { LoadState: 'loaded', SubState: 'running', FragmentPath: `/lib/systemd/system/${unit}`, NeedDaemonReload: 'no', ...props } }]]) });
}

function plan(s: ServiceSpec, actual: ActualState, c: PlanContext = ctx) {
  return serviceResource.plan(s, actual, c);
}

describe('service schema', () => {
  it('appends .service when the name has no unit suffix', () => {
    assert.equal(serviceResource.id(spec()), 'nginx.service');
    assert.equal(serviceResource.id(spec({ name: 'php8.2-fpm' })), 'php8.2-fpm.service');
    assert.equal(serviceResource.id(spec({ name: 'php8.2-fpm.service' })), 'php8.2-fpm.service');
    assert.equal(serviceResource.id(spec({ name: 'phpsessionclean.timer' })), 'phpsessionclean.timer');
  });

  it('refuses unknown keys and bad values', () => {
    const r = serviceSchema.safeParse({ name: 'nginx', state: 'reloaded', restart: true });
    assert.equal(r.success, false);
    assert.deepEqual(
      r.error!.issues.map((i) => ({ path: i.path, message: i.message })),
      [
        { path: ['state'], message: 'must be "started" or "stopped"' },
        { path: [], message: 'Unrecognized key: "restart"' },
      ],
    );
    const bad = serviceSchema.safeParse({ name: 'nginx; reboot' });
    assert.deepEqual(bad.error!.issues.map((i) => i.path), [['name']]);
  });

  it('probes only the unit', () => {
    assert.deepEqual(serviceResource.probes(spec({ name: 'php8.2-fpm' })), [{ kind: 'unit', name: 'php8.2-fpm.service', properties: ['ActiveState', 'UnitFileState'] }]);
  });
});

describe('service plan', () => {
  it('is converged when enabled and running', () => {
    assert.deepEqual(plan(spec(), host('nginx.service', { ActiveState: 'active', UnitFileState: 'enabled' })), []);
    assert.deepEqual(plan(spec({ name: 'php-fpm' }), host('php-fpm.service', { ActiveState: 'active', UnitFileState: 'enabled' }, rhelFacts)), []);
  });

  it('leaves out what is not declared', () => {
    assert.deepEqual(plan(serviceSchema.parse({ name: 'nginx' }), host('nginx.service', { ActiveState: 'inactive', UnitFileState: 'disabled' })), []);
    const [onlyStart] = plan(serviceSchema.parse({ name: 'nginx', state: 'started' }), host('nginx.service', { ActiveState: 'inactive', UnitFileState: 'disabled' }));
    assert.deepEqual(onlyStart!.handlers, [{ kind: 'unit', unit: 'nginx.service', action: 'start' }]);
  });

  it('enables and starts', () => {
    const [change, ...rest] = plan(spec(), host('nginx.service', { ActiveState: 'inactive', UnitFileState: 'disabled' }));
    assert.equal(rest.length, 0);
    assert.equal(change!.resource, 'service[nginx.service]');
    assert.equal(change!.action, 'update');
    assert.equal(change!.summary, 'service nginx.service: enable, start');
    assert.deepEqual(change!.operations, []);
    assert.equal(change!.validators, undefined);
    assert.deepEqual(change!.handlers, [
      { kind: 'unit', unit: 'nginx.service', action: 'enable' },
      { kind: 'unit', unit: 'nginx.service', action: 'start' },
    ]);
    assert.deepEqual(change!.fields, [
      { name: 'enabled', before: 'false', after: 'true' },
      { name: 'state', before: 'inactive', after: 'active' },
    ]);
  });

  it('disables and stops', () => {
    const [change] = plan(spec({ enabled: false, state: 'stopped' }), host('nginx.service', { ActiveState: 'active', UnitFileState: 'enabled' }));
    assert.deepEqual(change!.handlers, [
      { kind: 'unit', unit: 'nginx.service', action: 'disable' },
      { kind: 'unit', unit: 'nginx.service', action: 'stop' },
    ]);
    assert.deepEqual(change!.fields, [
      { name: 'enabled', before: 'true', after: 'false' },
      { name: 'state', before: 'active', after: 'inactive' },
    ]);
  });

  it('only enables a running unit, only starts an enabled one (a failed one too)', () => {
    const [enable] = plan(spec(), host('nginx.service', { ActiveState: 'active', UnitFileState: 'disabled' }));
    assert.deepEqual(enable!.handlers, [{ kind: 'unit', unit: 'nginx.service', action: 'enable' }]);
    const [start] = plan(spec(), host('nginx.service', { ActiveState: 'failed', UnitFileState: 'enabled' }));
    assert.deepEqual(start!.handlers, [{ kind: 'unit', unit: 'nginx.service', action: 'start' }]);
    assert.deepEqual(start!.fields, [{ name: 'state', before: 'failed', after: 'active' }]);
    // enabled-runtime is lost at reboot: enable it for good.
    const [persist] = plan(spec(), host('nginx.service', { ActiveState: 'active', UnitFileState: 'enabled-runtime' }));
    assert.deepEqual(persist!.handlers, [{ kind: 'unit', unit: 'nginx.service', action: 'enable' }]);
  });

  it('fails naming the host and the unit when the unit does not exist', () => {
    const missing = host('php8.3-fpm.service', { LoadState: 'not-found', ActiveState: 'inactive', UnitFileState: '' });
    assert.throws(() => plan(spec({ name: 'php8.3-fpm' }), missing), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.kind, 'input');
      assert.equal(err.host, 'web1');
      assert.deepEqual(err.location, ctx.source);
      assert.equal(err.message, 'service[php8.3-fpm.service]: unit php8.3-fpm.service not found on web1');
      assert.match(err.format(), /^playbooks\/site\.yml:60:5: service\[php8\.3-fpm\.service\]: unit php8\.3-fpm\.service not found on web1 \(install the package/);
      return true;
    });
    // No probe result at all counts as not found too.
    assert.throws(() => plan(spec(), actualState(debianFacts)), /unit nginx\.service not found on web1/);
  });

  it('refuses to enable a static unit or to start a masked one', () => {
    assert.throws(() => plan(spec({ state: undefined }), host('nginx.service', { ActiveState: 'inactive', UnitFileState: 'static' })), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.message, 'service[nginx.service]: nginx.service cannot be enabled on web1 (UnitFileState=static)');
      assert.equal(err.hint, 'its unit file has no [Install] section to enable; leave "enabled" out');
      return true;
    });
    assert.throws(() => plan(spec({ enabled: undefined }), host('nginx.service', { LoadState: 'masked', ActiveState: 'inactive', UnitFileState: 'masked' })), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.message, 'service[nginx.service]: nginx.service is masked on web1 and cannot be started');
      assert.equal(err.hint, 'unmask it first (systemctl unmask nginx.service)');
      return true;
    });
    // Disabled and stopped is what a masked unit already is.
    assert.deepEqual(plan(spec({ enabled: false, state: 'stopped' }), host('nginx.service', { LoadState: 'masked', ActiveState: 'inactive', UnitFileState: 'masked' })), []);
  });

  it('fails on a unit that did not load', () => {
    assert.throws(() => plan(spec(), host('nginx.service', { LoadState: 'bad-setting', ActiveState: 'inactive', UnitFileState: 'enabled' })), /unit nginx\.service failed to load on web1 \(LoadState=bad-setting\)/);
  });

  it('fails when systemd is not PID 1', () => {
    assert.throws(() => plan(spec(), actualState({ ...debianFacts, systemd: { pid1: false } })), /systemd is not PID 1 on web1/);
  });
});
