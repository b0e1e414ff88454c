// systemd_service: schema rules, the rendered unit (fields or raw content), plans for new, changed,
// running and stopped units (restart vs set-property, Slice= moves, enable/start), and
// `systemd-analyze verify` of rendered units in a Debian root.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { renderService, runningSlice, systemdServiceResource, systemdServiceSchema, type SystemdServiceSpec } from '../../../agent/resources/systemd-service.js';
import type { ActualState, PlanContext, UnitState } from '../../../agent/resources/types.js';
import { actualState, debianFacts, fileState, files, rhelFacts } from '../../support/actual.js';
import { fixture } from '../../support/paths.js';
import { debianRootSkip, verifyUnitInRoot } from '../../support/debian-root.js';

/** The seed article's scheduler: a CLI worker in the low-priority slice, deprioritised with Nice and idle IO. */
const scheduler = {
  name: 'laravel-scheduler',
  Description: 'Laravel scheduler',
  After: ['network-online.target'],
  Wants: ['network-online.target'],
  User: 'www-data',
  Group: 'www-data',
  WorkingDirectory: '/var/www/app',
  Environment: { APP_ENV: 'production', GREETING: 'say "hi" at 100%' },
  ExecStart: '/usr/bin/php artisan schedule:work',
  Restart: 'always',
  RestartSec: 5,
  TimeoutStopSec: '90s',
  KillSignal: 'SIGTERM',
  Slice: 'workers',
  Nice: 10,
  IOSchedulingClass: 'idle',
  CPUQuota: '60%',
  MemoryMax: '512M',
};

const RENDERED = readFileSync(fixture('resources', 'systemd', 'laravel-scheduler.service'), 'utf8');
const UNIT = 'laravel-scheduler.service';
const PATH = `/etc/systemd/system/${UNIT}`;
const ctx: PlanContext = { host: 'web1', source: { file: 'playbooks/site.yml', line: 52, column: 7 }, all: [] };

/** `systemctl show` of the scheduler running from RENDERED, enabled (as on a booted Debian 12). */
const RUNNING = {
  LoadState: 'loaded',
  ActiveState: 'active',
  SubState: 'running',
  UnitFileState: 'enabled',
  FragmentPath: PATH,
  NeedDaemonReload: 'no',
  Slice: 'workers.slice',
  ControlGroup: '/workers.slice/laravel-scheduler.service',
  DropInPaths: '',
  CPUQuotaPerSecUSec: '600ms',
  MemoryMax: '536870912',
  CPUWeight: '[not set]',
  IOWeight: '[not set]',
  MemoryHigh: 'infinity',
  TasksMax: '4915',
};

/** What `systemctl show` says about a unit that does not exist. */
const NOT_FOUND = { LoadState: 'not-found', ActiveState: 'inactive', SubState: 'dead', UnitFileState: '', FragmentPath: '', NeedDaemonReload: 'no', Slice: '', ControlGroup: '', DropInPaths: '' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

function spec(over: Loose = {}): SystemdServiceSpec {
  return systemdServiceSchema.parse({ ...scheduler, ...over });
}

function units(props: Record<string, string>): Map<string, UnitState> {
  return new Map([[UNIT, { name: UNIT, props }]]);
}

function host(content: string | undefined, props: Record<string, string>, facts = debianFacts): ActualState {
  return actualState(facts, { files: content === undefined ? new Map() : files(fileState(PATH, content, /^Environment=/m.test(content) ? { mode: '0640' } : {})), units: units(props) });
}

function plan(s: SystemdServiceSpec, actual: ActualState) {
  return systemdServiceResource.plan(s, actual, ctx);
}

function issues(input: Loose): { path: PropertyKey[]; message: string }[] {
  const r = systemdServiceSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the schema to refuse the input');
  return r.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

describe('systemd_service schema', () => {
  it('defaults to enabled and started; the id has the .service suffix', () => {
    const s = systemdServiceSchema.parse({ name: 'worker', ExecStart: '/usr/bin/php artisan queue:work' });
    assert.equal(s.enabled, true);
    assert.equal(s.state, 'started');
    assert.equal(systemdServiceResource.id(s), 'worker.service');
    assert.equal(spec().Slice, 'workers.slice');
  });

  it('requires ExecStart unless content is given', () => {
    const { ExecStart: _drop, ...noExec } = scheduler;
    assert.deepEqual(issues(noExec), [{ path: ['ExecStart'], message: 'is required (or give the whole unit as "content")' }]);
  });

  it('refuses a newline, a trailing backslash or a bare "%" in ExecStart', () => {
    assert.deepEqual(issues({ ...scheduler, ExecStart: '/usr/bin/php artisan\nschedule:work' }), [{ path: ['ExecStart'], message: 'must be on one line (no newline characters)' }]);
    assert.deepEqual(issues({ ...scheduler, ExecStart: '/usr/bin/php artisan \\' }), [
      { path: ['ExecStart'], message: 'must not end with a backslash (systemd would join the next line)' },
    ]);
    assert.deepEqual(issues({ ...scheduler, ExecStart: '/usr/bin/php artisan report --threshold=50%' }), [
      { path: ['ExecStart'], message: 'a literal "%" must be written "%%" (systemd expands %-specifiers such as %n or %i here)' },
    ]);
  });

  it('refuses bad resource-control values, names and enums', () => {
    assert.deepEqual(issues({ ...scheduler, CPUQuota: '60' }), [{ path: ['CPUQuota'], message: 'must be a percentage of one CPU such as "60%" (200% = two CPUs)' }]);
    assert.deepEqual(issues({ ...scheduler, Nice: 20 }), [{ path: ['Nice'], message: 'must be a whole number from -20 to 19' }]);
    assert.deepEqual(issues({ ...scheduler, WorkingDirectory: 'var/www/app' }), [{ path: ['WorkingDirectory'], message: 'must be an absolute path (starting with "/", without newlines)' }]);
    assert.deepEqual(issues({ ...scheduler, After: ['network'] }), [{ path: ['After', 0], message: 'must be a unit name with its suffix, e.g. "network-online.target"' }]);
    assert.deepEqual(issues({ ...scheduler, Restart: 'sometimes' }), [
      { path: ['Restart'], message: 'must be one of no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always' },
    ]);
    assert.deepEqual(issues({ ...scheduler, state: 'restarted' }), [{ path: ['state'], message: 'must be "started" or "stopped"' }]);
    assert.deepEqual(issues({ ...scheduler, Environment: { 'APP-ENV': 'x' } }), [
      { path: ['Environment', 'APP-ENV'], message: 'must be an environment variable name: letters, digits and "_", not starting with a digit' },
    ]);
    assert.deepEqual(issues({ ...scheduler, KillSignal: 'TERMINATE' }), [{ path: ['KillSignal'], message: 'must be a signal name such as SIGTERM, SIGINT or SIGQUIT' }]);
    assert.deepEqual(issues({ ...scheduler, EnvironmentFile: 'app.env' }), [
      { path: ['EnvironmentFile'], message: 'must be an absolute path, optionally prefixed with "-" (ignored when missing)' },
    ]);
  });

  it('refuses unknown keys', () => {
    assert.deepEqual(issues({ ...scheduler, ExecStartPre: '/bin/true' }), [{ path: [], message: 'Unrecognized key: "ExecStartPre"' }]);
  });

  it('refuses content combined with fields, content without [Install] when enabled, and enabling without WantedBy', () => {
    const content = '[Service]\nExecStart=/bin/sleep 1000\n';
    assert.deepEqual(issues({ name: 'x', content, User: 'app', enabled: false }), [
      { path: ['User'], message: 'cannot be combined with "content": write the directive into content instead' },
    ]);
    assert.deepEqual(issues({ name: 'x', content }), [{ path: ['enabled'], message: 'content has no [Install] WantedBy= to enable the unit for: add one, or set enabled: false' }]);
    assert.deepEqual(issues({ name: 'x', content: '[Unit]\nDescription=x\n' }), [{ path: ['content'], message: 'must be a unit file with a [Service] section' }]);
    assert.deepEqual(issues({ name: 'x', content: '[Service]\nUser=app\n', enabled: false }), [{ path: ['content'], message: 'must set ExecStart= in [Service]' }]);
    const oneshot = 'a oneshot service is inactive again once it ran, so "started" would start it on every run: set state: stopped, or give content with RemainAfterExit=yes';
    assert.deepEqual(issues({ ...scheduler, Type: 'oneshot' }), [{ path: ['state'], message: oneshot }]);
    assert.deepEqual(issues({ name: 'x', content: '[Service]\nType=oneshot\nExecStart=/bin/true\n', enabled: false }), [{ path: ['state'], message: oneshot }]);
    systemdServiceSchema.parse({ name: 'x', content: '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n', enabled: false });
    assert.deepEqual(issues({ ...scheduler, WantedBy: [] }), [{ path: ['enabled'], message: 'needs a WantedBy= target to enable the unit for: set WantedBy, or enabled: false' }]);
  });
});

describe('systemd_service rendering', () => {
  it('renders [Unit], [Service] and [Install] with quoted Environment lines', () => {
    assert.equal(renderService(spec()), RENDERED);
  });

  it('writes content verbatim (with a final newline)', () => {
    const content = '[Unit]\nDescription=raw\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target';
    assert.equal(renderService(systemdServiceSchema.parse({ name: 'raw', content })), `${content}\n`);
  });

  it('probes the file and the unit', () => {
    assert.deepEqual(systemdServiceResource.probes(spec()), [
      { kind: 'file', path: PATH },
      {
        kind: 'unit',
        name: UNIT,
        properties: ['ActiveState', 'UnitFileState', 'Slice', 'NeedDaemonReload', 'FragmentPath', 'ControlGroup', 'DropInPaths', 'CPUQuotaPerSecUSec', 'CPUWeight', 'MemoryMax', 'MemoryHigh', 'IOWeight', 'TasksMax'],
      },
    ]);
  });

  it('finds the slice a service runs in from its ControlGroup', () => {
    assert.equal(runningSlice('/workers.slice/laravel-scheduler.service'), 'workers.slice');
    assert.equal(runningSlice('/workers.slice/workers-low.slice/x.service'), 'workers-low.slice');
    assert.equal(runningSlice(''), undefined);
  });
});

describe('systemd_service plan', () => {
  it('is converged when the file is as rendered and the service runs, enabled, in its slice', () => {
    assert.deepEqual(plan(spec(), host(RENDERED, RUNNING)), []);
    assert.deepEqual(plan(spec(), host(RENDERED, RUNNING, rhelFacts)), []);
  });

  it('creates a new unit: verify, daemon-reload, enable, start — no restart', () => {
    const [change, ...rest] = plan(spec(), host(undefined, NOT_FOUND));
    assert.equal(rest.length, 0);
    assert.equal(change!.resource, `systemd_service[${UNIT}]`);
    assert.equal(change!.action, 'create');
    assert.equal(change!.summary, `service ${UNIT}: create ${PATH}, enable, start`);
    assert.deepEqual(change!.operations, [{ op: 'write', path: PATH, content: RENDERED, owner: 'root', group: 'root', mode: '0640' }], 'Environment= values: root only');
    assert.deepEqual(change!.validators, [{ kind: 'systemd-verify', path: PATH }]);
    assert.deepEqual(change!.handlers, [
      { kind: 'daemon-reload' },
      { kind: 'unit', unit: UNIT, action: 'enable' },
      { kind: 'unit', unit: UNIT, action: 'start' },
    ]);
    const fields = change!.fields!;
    assert.deepEqual(fields.find((f) => f.name === 'Slice'), { name: 'Slice', after: 'workers.slice' });
    assert.deepEqual(fields.slice(-2), [
      { name: 'enabled', before: 'false', after: 'true' },
      { name: 'state', before: 'inactive', after: 'active' },
    ]);
    assert.equal(change!.notes, undefined);
  });

  it('creates a unit that stays disabled and stopped', () => {
    const [change] = plan(spec({ enabled: false, state: 'stopped' }), host(undefined, NOT_FOUND));
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }]);
  });

  it('restarts a running service whose Slice= changed, and says why', () => {
    const old = RENDERED.replace('Slice=workers.slice', 'Slice=system.slice');
    const [change] = plan(spec(), host(old, { ...RUNNING, Slice: 'system.slice', ControlGroup: `/system.slice/${UNIT}` }));
    assert.equal(change!.action, 'update');
    assert.deepEqual(change!.fields, [{ name: 'Slice', before: 'system.slice', after: 'workers.slice' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'unit', unit: UNIT, action: 'restart' }]);
    assert.deepEqual(change!.notes, [
      `Slice= changed (system.slice → workers.slice): a running service moves to another slice only when it restarts, so ${UNIT} restarts`,
    ]);
    assert.equal(change!.summary, `service ${UNIT}: update ${PATH} (Slice), restart`);
    assert.match(change!.diff!, /^-Slice=system\.slice$/m);
  });

  it('restarts a service that still runs in its old slice although the file is converged', () => {
    // After daemon-reload without restart, `systemctl show -p Slice` already names the new slice
    // while the processes stay in the old cgroup (seen on systemd 252): ControlGroup tells.
    const [change] = plan(spec(), host(RENDERED, { ...RUNNING, ControlGroup: `/system.slice/${UNIT}` }));
    assert.deepEqual(change!.handlers, [{ kind: 'unit', unit: UNIT, action: 'restart' }]);
    assert.deepEqual(change!.fields, [{ name: 'Slice (running)', before: 'system.slice', after: 'workers.slice' }]);
    assert.deepEqual(change!.notes, [
      `Slice= differs from where the service runs (system.slice → workers.slice): a running service moves to another slice only when it restarts, so ${UNIT} restarts`,
    ]);
    assert.equal(change!.summary, `service ${UNIT}: move from system.slice to workers.slice, restart`);
  });

  it('restarts for a changed ExecStart, but not for Description or [Install] only', () => {
    const oldExec = RENDERED.replace('schedule:work', 'schedule:run');
    const [exec] = plan(spec(), host(oldExec, RUNNING));
    assert.deepEqual(exec!.handlers, [{ kind: 'daemon-reload' }, { kind: 'unit', unit: UNIT, action: 'restart' }]);
    assert.deepEqual(exec!.fields, [{ name: 'ExecStart', before: '/usr/bin/php artisan schedule:run', after: '/usr/bin/php artisan schedule:work' }]);
    assert.deepEqual(exec!.notes, [`${UNIT} is running: it restarts to apply ExecStart`]);

    const oldDesc = RENDERED.replace('Description=Laravel scheduler', 'Description=Scheduler');
    const [desc] = plan(spec(), host(oldDesc, RUNNING));
    assert.deepEqual(desc!.handlers, [{ kind: 'daemon-reload' }]);

    const oldInstall = RENDERED.replace('WantedBy=multi-user.target', 'WantedBy=default.target');
    const [install] = plan(spec(), host(oldInstall, RUNNING));
    assert.deepEqual(install!.handlers, [{ kind: 'daemon-reload' }]);
    assert.deepEqual(install!.notes, ['[Install] changed: symlinks made for the old targets stay until `systemctl reenable`']);
  });

  it('applies a CPUQuota/MemoryMax change live instead of restarting', () => {
    const old = RENDERED.replace('CPUQuota=60%', 'CPUQuota=80%');
    const [change] = plan(spec(), host(old, { ...RUNNING, CPUQuotaPerSecUSec: '800ms' }));
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'set-property', unit: UNIT, properties: { CPUQuota: '60%' } }]);
    assert.deepEqual(change!.notes, ['CPUQuota applied live with set-property: no restart needed']);
    assert.deepEqual(change!.fields, [{ name: 'CPUQuota', before: '80%', after: '60%' }]);
  });

  it('corrects live drift of CPUQuota/MemoryMax on a running service', () => {
    const [change] = plan(spec(), host(RENDERED, { ...RUNNING, MemoryMax: 'infinity' }));
    assert.deepEqual(change!.handlers, [{ kind: 'set-property', unit: UNIT, properties: { MemoryMax: '512M' } }]);
    assert.deepEqual(change!.fields, [{ name: 'MemoryMax (running)', before: 'infinity', after: '512M' }]);
    assert.deepEqual(change!.operations, []);
  });

  it('also sets a property when a set-property drop-in would survive the restart', () => {
    const old = RENDERED.replace('CPUQuota=60%', 'CPUQuota=80%').replace('Nice=10', 'Nice=5');
    const props = { ...RUNNING, CPUQuotaPerSecUSec: '800ms', DropInPaths: `/run/systemd/system.control/${UNIT}.d/50-CPUQuota.conf` };
    const [change] = plan(spec(), host(old, props));
    assert.deepEqual(change!.handlers, [
      { kind: 'daemon-reload' },
      { kind: 'set-property', unit: UNIT, properties: { CPUQuota: '60%' } },
      { kind: 'unit', unit: UNIT, action: 'restart' },
    ]);
  });

  it('enables a disabled unit and starts a stopped one (no restart when it was not running)', () => {
    const [change] = plan(spec(), host(RENDERED, { ...RUNNING, UnitFileState: 'disabled', ActiveState: 'inactive', SubState: 'dead', ControlGroup: '' }));
    assert.equal(change!.action, 'update');
    assert.deepEqual(change!.operations, []);
    assert.deepEqual(change!.handlers, [
      { kind: 'unit', unit: UNIT, action: 'enable' },
      { kind: 'unit', unit: UNIT, action: 'start' },
    ]);
    assert.deepEqual(change!.fields, [
      { name: 'enabled', before: 'false', after: 'true' },
      { name: 'state', before: 'inactive', after: 'active' },
    ]);
    assert.equal(change!.summary, `service ${UNIT}: enable, start`);
  });

  it('starts a failed unit after a file change, without a restart', () => {
    const old = RENDERED.replace('schedule:work', 'schedule:run');
    const [change] = plan(spec(), host(old, { ...RUNNING, ActiveState: 'failed', SubState: 'failed', ControlGroup: '' }));
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'unit', unit: UNIT, action: 'start' }]);
    assert.deepEqual(change!.fields!.at(-1), { name: 'state', before: 'failed', after: 'active' });
  });

  it('disables and stops a unit declared enabled: false, state: stopped', () => {
    const [change] = plan(spec({ enabled: false, state: 'stopped' }), host(RENDERED, RUNNING));
    assert.deepEqual(change!.handlers, [
      { kind: 'unit', unit: UNIT, action: 'disable' },
      { kind: 'unit', unit: UNIT, action: 'stop' },
    ]);
    assert.deepEqual(change!.fields, [
      { name: 'enabled', before: 'true', after: 'false' },
      { name: 'state', before: 'active', after: 'inactive' },
    ]);
    // A changed file of a service that is to be stopped: stop, never restart.
    const [stop] = plan(spec({ state: 'stopped' }), host(RENDERED.replace('Nice=10', 'Nice=5'), RUNNING));
    assert.deepEqual(stop!.handlers, [{ kind: 'daemon-reload' }, { kind: 'unit', unit: UNIT, action: 'stop' }]);
  });

  it('reloads and restarts a running service whose file changed on disk since it was loaded', () => {
    const [change] = plan(spec(), host(RENDERED, { ...RUNNING, NeedDaemonReload: 'yes' }));
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'unit', unit: UNIT, action: 'restart' }]);
    assert.deepEqual(change!.notes, [`${UNIT} changed on disk since systemd loaded it: daemon-reload, and a restart so that the running service uses it`]);
  });

  it('reloads a converged file systemd has not loaded yet, then enables and starts it', () => {
    const [change] = plan(spec(), host(RENDERED, NOT_FOUND));
    assert.deepEqual(change!.handlers, [
      { kind: 'daemon-reload' },
      { kind: 'unit', unit: UNIT, action: 'enable' },
      { kind: 'unit', unit: UNIT, action: 'start' },
    ]);
    assert.equal(change!.summary, `service ${UNIT}: daemon-reload (the file on disk is not what systemd loaded), enable, start`);
  });

  it('notes that a new file overrides a unit from /lib', () => {
    const vendor = { ...RUNNING, FragmentPath: `/lib/systemd/system/${UNIT}`, Slice: 'system.slice', ControlGroup: `/system.slice/${UNIT}` };
    const [change] = plan(spec(), host(undefined, vendor));
    assert.equal(change!.action, 'create');
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'unit', unit: UNIT, action: 'restart' }]);
    assert.ok(change!.notes!.includes(`${PATH} overrides the unit loaded from /lib/systemd/system/${UNIT}`));
  });

  it('plans raw content like fields', () => {
    const content = '[Unit]\nDescription=raw\n\n[Service]\nExecStart=/bin/sleep 1000\nSlice=workers.slice\n\n[Install]\nWantedBy=multi-user.target\n';
    const s = systemdServiceSchema.parse({ name: 'laravel-scheduler', content });
    assert.deepEqual(plan(s, host(content, RUNNING)), []);
    const [change] = plan(s, host(content.replace('sleep 1000', 'sleep 10'), RUNNING));
    assert.deepEqual(change!.fields, [{ name: 'ExecStart', before: '/bin/sleep 10', after: '/bin/sleep 1000' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'unit', unit: UNIT, action: 'restart' }]);
  });

  it('fails naming the host when systemd is not PID 1', () => {
    const bare = actualState({ ...debianFacts, systemd: { pid1: false } });
    assert.throws(() => plan(spec(), bare), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.host, 'web1');
      assert.equal(err.message, `systemd_service[${UNIT}]: systemd is not PID 1 on web1, so units cannot be managed there`);
      return true;
    });
  });
});

const chrootSkip = debianRootSkip('usr/bin/systemd-analyze', 'systemd-analyze');


describe('systemd_service against systemd 252 (Debian root)', () => {
  it('rendered units verify without a warning', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    const minimal = systemdServiceSchema.parse({ name: 'worker', ExecStart: '/usr/bin/php -r "echo 1;"', EnvironmentFile: '-/etc/default/worker', KillMode: 'mixed', Type: 'exec' });
    for (const s of [spec(), minimal]) assert.deepEqual(verifyUnitInRoot(`${s.name}.service`, renderService(s)), { status: 0, output: '' });
  });

  it('verify fails on a missing binary and only warns on a bad value', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    const missing = verifyUnitInRoot(UNIT, RENDERED.replace('/usr/bin/php', '/usr/bin/php9'));
    assert.notEqual(missing.status, 0);
    assert.match(missing.output, /Command \/usr\/bin\/php9 is not executable/);
    const bad = verifyUnitInRoot(UNIT, RENDERED.replace('Nice=10', 'Nice=42'));
    assert.equal(bad.status, 0);
    assert.match(bad.output, /Nice/);
  });
});
