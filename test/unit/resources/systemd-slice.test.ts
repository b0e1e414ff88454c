// systemd_slice: schema rules, the rendered slice unit, plans (file change, live set-property when the
// slice runs, drift of the running values, runtime drop-ins), and `systemd-analyze verify` in a Debian root.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { renderSlice, systemdSliceResource, systemdSliceSchema, type SystemdSliceSpec } from '../../../agent/resources/systemd-slice.js';
import type { ActualState, PlanContext, UnitState } from '../../../agent/resources/types.js';
import { actualState, debianFacts, fileState, files } from '../../support/actual.js';
import { fixture } from '../../support/paths.js';
import { debianRootSkip, verifyUnitInRoot } from '../../support/debian-root.js';

const workers = { name: 'workers', Description: 'Queue workers and scheduler (low priority)', CPUQuota: '60%', CPUWeight: 20, MemoryHigh: '768M', MemoryMax: '1G', IOWeight: 50, TasksMax: 512 };
const RENDERED = readFileSync(fixture('resources', 'systemd', 'workers.slice'), 'utf8');
const PATH = '/etc/systemd/system/workers.slice';
const ctx: PlanContext = { host: 'web1', source: { file: 'playbooks/site.yml', line: 40, column: 7 }, all: [] };

/** `systemctl show` of workers.slice as loaded from RENDERED (values seen on a booted Debian 12). */
const SHOWN = { CPUQuotaPerSecUSec: '600ms', CPUWeight: '20', MemoryHigh: '805306368', MemoryMax: '1073741824', IOWeight: '50', TasksMax: '512' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

function spec(over: Loose = {}): SystemdSliceSpec {
  return systemdSliceSchema.parse({ ...workers, ...over });
}

function unit(props: Record<string, string>): Map<string, UnitState> {
  return new Map([['workers.slice', { name: 'workers.slice', props: { LoadState: 'loaded', SubState: 'active', UnitFileState: '', FragmentPath: PATH, NeedDaemonReload: 'no', DropInPaths: '', ...props } }]]);
}

function plan(s: SystemdSliceSpec, actual: ActualState) {
  return systemdSliceResource.plan(s, actual, ctx);
}

function issues(input: Loose): { path: PropertyKey[]; message: string }[] {
  const r = systemdSliceSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the schema to refuse the input');
  return r.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

describe('systemd_slice schema', () => {
  it('accepts the name with or without .slice; the id has the suffix', () => {
    assert.equal(systemdSliceResource.id(spec()), 'workers.slice');
    assert.equal(systemdSliceResource.id(spec({ name: 'workers.slice' })), 'workers.slice');
    assert.equal(spec({ MemoryMax: 536870912 }).MemoryMax, '536870912');
  });

  it('refuses a CPUQuota that is not a percentage', () => {
    assert.deepEqual(issues({ ...workers, CPUQuota: '0.6' }), [{ path: ['CPUQuota'], message: 'must be a percentage of one CPU such as "60%" (200% = two CPUs)' }]);
    assert.deepEqual(issues({ ...workers, CPUQuota: '0%' }), [{ path: ['CPUQuota'], message: 'must be more than 0%' }]);
  });

  it('refuses malformed memory sizes, weights and task limits', () => {
    assert.deepEqual(issues({ ...workers, MemoryMax: '1GB' }), [
      { path: ['MemoryMax'], message: 'must be bytes with an optional K, M, G or T suffix (1024-based, e.g. "512M"), a share of RAM such as "50%", or "infinity"' },
    ]);
    assert.deepEqual(issues({ ...workers, MemoryHigh: '150%' }), [{ path: ['MemoryHigh'], message: 'must be at most 100%' }]);
    assert.deepEqual(issues({ ...workers, IOWeight: 0 }), [{ path: ['IOWeight'], message: 'must be a whole number from 1 to 10000' }]);
    assert.deepEqual(issues({ ...workers, CPUWeight: 10001 }), [{ path: ['CPUWeight'], message: 'must be a whole number from 1 to 10000' }]);
    assert.deepEqual(issues({ ...workers, TasksMax: 'lots' }), [
      { path: ['TasksMax'], message: 'must be a number of tasks (at least 1), a percentage of the system limit such as "50%", or "infinity"' },
    ]);
    assert.deepEqual(issues({ ...workers, Description: 'two\nlines' }), [{ path: ['Description'], message: 'must be on one line (no newline characters)' }]);
  });

  it('refuses unknown keys', () => {
    assert.deepEqual(issues({ ...workers, CPUShares: 100 }), [{ path: [], message: 'Unrecognized key: "CPUShares"' }]);
  });
});

describe('systemd_slice rendering', () => {
  it('renders [Unit] and [Slice] in a fixed order', () => {
    assert.equal(renderSlice(spec()), RENDERED);
    assert.equal(
      renderSlice(systemdSliceSchema.parse({ name: 'batch', CPUQuota: '25%' })),
      '# managed by lanes — changes made here will be overwritten\n[Unit]\nDescription=batch slice (lanes)\n\n[Slice]\nCPUQuota=25%\n',
    );
  });

  it('probes the file and the resource-control properties', () => {
    assert.deepEqual(systemdSliceResource.probes(spec()), [
      { kind: 'file', path: PATH },
      { kind: 'unit', name: 'workers.slice', properties: ['CPUQuotaPerSecUSec', 'CPUWeight', 'MemoryMax', 'MemoryHigh', 'IOWeight', 'TasksMax', 'DropInPaths'] },
    ]);
  });
});

describe('systemd_slice plan', () => {
  it('is converged when the file is as rendered and the running values match', () => {
    assert.deepEqual(plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, RENDERED)), units: unit({ ActiveState: 'active', ...SHOWN }) })), []);
    // Not running: the running values are not looked at.
    assert.deepEqual(plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, RENDERED)), units: unit({ ActiveState: 'inactive', CPUQuotaPerSecUSec: 'infinity' }) })), []);
  });

  it('creates the slice: verify, daemon-reload, no set-property', () => {
    // systemd loads any slice name implicitly, so a missing slice shows LoadState=loaded, inactive.
    const [change, ...rest] = plan(spec(), actualState(debianFacts, { units: unit({ ActiveState: 'inactive', FragmentPath: '', CPUQuotaPerSecUSec: 'infinity' }) }));
    assert.equal(rest.length, 0);
    assert.equal(change!.resource, 'systemd_slice[workers.slice]');
    assert.equal(change!.action, 'create');
    assert.equal(change!.summary, `create slice workers.slice (${PATH})`);
    assert.deepEqual(change!.operations, [{ op: 'write', path: PATH, content: RENDERED, owner: 'root', group: 'root', mode: '0644' }]);
    assert.deepEqual(change!.validators, [{ kind: 'systemd-verify', path: PATH }]);
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }]);
    assert.deepEqual(change!.fields?.find((f) => f.name === 'CPUQuota'), { name: 'CPUQuota', after: '60%' });
  });

  it('updates an inactive slice with daemon-reload only', () => {
    const old = RENDERED.replace('CPUQuota=60%', 'CPUQuota=80%');
    const [change] = plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, old)), units: unit({ ActiveState: 'inactive', ...SHOWN, CPUQuotaPerSecUSec: '800ms' }) }));
    assert.equal(change!.action, 'update');
    assert.deepEqual(change!.fields, [{ name: 'CPUQuota', before: '80%', after: '60%' }]);
    assert.match(change!.diff!, /^-CPUQuota=80%$/m);
    assert.match(change!.diff!, /^\+CPUQuota=60%$/m);
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }]);
  });

  it('applies changed properties live when the slice is active', () => {
    const old = RENDERED.replace('CPUQuota=60%', 'CPUQuota=80%').replace('MemoryMax=1G', 'MemoryMax=2G');
    const [change] = plan(
      spec(),
      actualState(debianFacts, { files: files(fileState(PATH, old)), units: unit({ ActiveState: 'active', ...SHOWN, CPUQuotaPerSecUSec: '800ms', MemoryMax: '2147483648' }) }),
    );
    assert.deepEqual(change!.validators, [{ kind: 'systemd-verify', path: PATH }]);
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'set-property', unit: 'workers.slice', properties: { CPUQuota: '60%', MemoryMax: '1G' } }]);
    // The running values were what the file said: no extra "(running)" fields.
    assert.deepEqual(change!.fields, [
      { name: 'CPUQuota', before: '80%', after: '60%' },
      { name: 'MemoryMax', before: '2G', after: '1G' },
    ]);
    assert.equal(change!.summary, `slice workers.slice: update ${PATH}, set live`);
  });

  it('resets a property removed from the file on a running slice', () => {
    const old = RENDERED.replace('TasksMax=512', 'TasksMax=512\nMemorySwapMax=0');
    const [none] = plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, old)), units: unit({ ActiveState: 'active', ...SHOWN }) }));
    assert.deepEqual(none!.handlers, [{ kind: 'daemon-reload' }], 'an unmanaged directive is left to daemon-reload');
    const [change] = plan(spec({ TasksMax: undefined }), actualState(debianFacts, { files: files(fileState(PATH, RENDERED)), units: unit({ ActiveState: 'active', ...SHOWN }) }));
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }, { kind: 'set-property', unit: 'workers.slice', properties: { TasksMax: '' } }]);
    assert.deepEqual(change!.fields, [
      { name: 'TasksMax', before: '512', after: undefined },
      { name: 'TasksMax (running)', before: '512', after: '(default)' },
    ]);
  });

  it('corrects drift of the running values with set-property only (file converged)', () => {
    const drifted = { ...SHOWN, CPUQuotaPerSecUSec: '1s', MemoryMax: '2147483648' };
    const [change, ...rest] = plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, RENDERED)), units: unit({ ActiveState: 'active', ...drifted }) }));
    assert.equal(rest.length, 0);
    assert.equal(change!.action, 'update');
    assert.deepEqual(change!.operations, []);
    assert.equal(change!.validators, undefined);
    assert.equal(change!.diff, undefined);
    assert.deepEqual(change!.handlers, [{ kind: 'set-property', unit: 'workers.slice', properties: { CPUQuota: '60%', MemoryMax: '1G' } }]);
    assert.deepEqual(change!.fields, [
      { name: 'CPUQuota (running)', before: '100%', after: '60%' },
      { name: 'MemoryMax (running)', before: '2G', after: '1G' },
    ]);
    assert.equal(change!.summary, 'slice workers.slice: running values differ from the unit file: CPUQuota 100% → 60%, MemoryMax 2G → 1G (set live)');
  });

  it('compares 150% with "1.500000s", and leaves percentages of RAM alone', () => {
    const s = spec({ CPUQuota: '150%', MemoryMax: '50%' });
    const rendered = renderSlice(s);
    const shown = { ...SHOWN, CPUQuotaPerSecUSec: '1.500000s', MemoryMax: '12638248960' };
    assert.deepEqual(plan(s, actualState(debianFacts, { files: files(fileState(PATH, rendered)), units: unit({ ActiveState: 'active', ...shown }) })), []);
  });

  it('corrects a set-property drop-in that overrides the file even when the slice is not running', () => {
    // Seen on systemd 252: a runtime drop-in (system.control) wins over the file after daemon-reload.
    const dropIn = '/run/systemd/system.control/workers.slice.d/50-CPUQuota.conf';
    const [change] = plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, RENDERED)), units: unit({ ActiveState: 'inactive', ...SHOWN, CPUQuotaPerSecUSec: '700ms', DropInPaths: dropIn }) }));
    assert.deepEqual(change!.handlers, [{ kind: 'set-property', unit: 'workers.slice', properties: { CPUQuota: '60%' } }]);
    // With a file change as well, the note says why set-property runs for a slice that is not running.
    const old = RENDERED.replace('IOWeight=50', 'IOWeight=80');
    const [both] = plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, old)), units: unit({ ActiveState: 'inactive', ...SHOWN, IOWeight: '80', CPUQuotaPerSecUSec: '700ms', DropInPaths: dropIn }) }));
    assert.deepEqual(both!.handlers, [{ kind: 'daemon-reload' }, { kind: 'set-property', unit: 'workers.slice', properties: { CPUQuota: '60%', IOWeight: '50' } }]);
    assert.deepEqual(both!.notes, ['a set-property drop-in (system.control) overrides the unit file, so the declared values are also set with set-property']);
  });

  it('reloads a converged file that systemd has not loaded yet', () => {
    const [change] = plan(spec(), actualState(debianFacts, { files: files(fileState(PATH, RENDERED)), units: unit({ ActiveState: 'inactive', NeedDaemonReload: 'yes' }) }));
    assert.deepEqual(change!.handlers, [{ kind: 'daemon-reload' }]);
    assert.deepEqual(change!.operations, []);
  });

  it('fails naming the host when systemd is not PID 1', () => {
    const noSystemd = actualState({ ...debianFacts, systemd: { pid1: false } });
    assert.throws(() => plan(spec(), noSystemd), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.message, 'systemd_slice[workers.slice]: systemd is not PID 1 on web1, so units cannot be managed there');
      assert.deepEqual(err.location, ctx.source);
      return true;
    });
  });
});

// `systemd-analyze verify` of systemd 252 in a Debian root: exit 0 is not enough (unknown keys and bad
// values are only warnings there), so the rendered unit must produce no output at all.
const chrootSkip = debianRootSkip('usr/bin/systemd-analyze', 'systemd-analyze');


describe('systemd_slice against systemd 252 (Debian root)', () => {
  it('rendered slices verify without a warning', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    for (const s of [spec(), spec({ CPUQuota: '150%', MemoryMax: '50%', MemoryHigh: 'infinity', TasksMax: '10%' }), systemdSliceSchema.parse({ name: 'batch' })]) {
      const r = verifyUnitInRoot('workers.slice', renderSlice(s));
      assert.deepEqual(r, { status: 0, output: '' });
    }
  });

  it('verify only warns about what the schema refuses (so the schema has to)', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    const r = verifyUnitInRoot('workers.slice', RENDERED.replace('CPUQuota=60%', 'CPUQuota=0%').replace('MemoryMax=1G', 'MemoryMax=1GB'));
    assert.equal(r.status, 0);
    assert.match(r.output, /Invalid CPU quota '0%', ignoring/);
    assert.match(r.output, /Invalid memory limit '1GB', ignoring/);
  });
});
