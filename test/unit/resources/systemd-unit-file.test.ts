// Shared systemd unit helpers: rendering and parsing unit files, and the conversions between declared
// resource-control values and what `systemctl show` prints (systemd 252); format_timespan is checked
// against the real `systemd-analyze timespan` of a Debian 12 root when it is there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  bytesToMemory,
  changedDirectives,
  cpuQuotaToPerSecUSec,
  directive,
  directiveFields,
  environmentLine,
  expectedShown,
  formatTimespan,
  liveControl,
  memoryToBytes,
  parseTimespan,
  parseUnit,
  perSecUSecToCpuQuota,
  renderUnit,
  specifiersOk,
} from '../../../agent/resources/unit-file.js';
import { DEBIAN_ROOT, debianRootSkip } from '../../support/debian-root.js';

describe('unit files', () => {
  it('renders sections in order, skipping unset values and empty sections', () => {
    const text = renderUnit([
      ['Unit', [['Description', 'x'], ['After', undefined]]],
      ['Service', [['Environment', '"A=1"'], ['Environment', '"B=2"'], ['ExecStart', '/bin/true']]],
      ['Install', [['WantedBy', undefined]]],
    ]);
    assert.equal(text, '# managed by lanes — changes made here will be overwritten\n[Unit]\nDescription=x\n\n[Service]\nEnvironment="A=1"\nEnvironment="B=2"\nExecStart=/bin/true\n');
  });

  it('parses directives per section: comments, repeats, resets and continuations', () => {
    const parsed = parseUnit(
      ['# comment', '[Unit]', 'Description = Queue', 'After=a.target', 'After=b.target', '', '[Service]', '; another comment', 'ExecStart=/usr/bin/php \\', '  artisan queue:work', 'Environment=A=1', 'Environment=', 'Environment=B=2'].join('\n'),
    );
    assert.deepEqual([...parsed], [
      ['Unit.Description', ['Queue']],
      ['Unit.After', ['a.target', 'b.target']],
      ['Service.ExecStart', ['/usr/bin/php    artisan queue:work']],
      ['Service.Environment', ['B=2']],
    ]);
    assert.equal(directive(parsed, 'Unit.After'), 'a.target b.target');
    assert.equal(directive(parsed, 'Service.Slice'), undefined);
  });

  it('lists directive changes before → after, qualified only when a key is in two sections', () => {
    const before = parseUnit('[Unit]\nDescription=a\n[Service]\nSlice=system.slice\nNice=5\n');
    const after = parseUnit('[Unit]\nDescription=a\n[Service]\nSlice=workers.slice\nUser=app\n[X]\nUser=other\n');
    assert.deepEqual(directiveFields(before, after), [
      { name: 'Slice', before: 'system.slice', after: 'workers.slice' },
      { name: 'Service.User', before: undefined, after: 'app' },
      { name: 'X.User', before: undefined, after: 'other' },
      { name: 'Nice', before: '5', after: undefined },
    ]);
    assert.deepEqual(changedDirectives(before, after), ['Service.Slice', 'Service.User', 'X.User', 'Service.Nice']);
  });

  it('quotes Environment= values: backslash, double quote and "%" escaped', () => {
    assert.equal(environmentLine('GREETING', 'say "hi" at 100%'), '"GREETING=say \\"hi\\" at 100%%"');
    assert.equal(environmentLine('P', 'a\\b c'), '"P=a\\\\b c"');
  });

  it('knows where systemd expands %-specifiers', () => {
    assert.ok(specifiersOk('/usr/bin/php %h/artisan --name=%n 50%%'));
    assert.ok(!specifiersOk('date +%s 100%'));
    assert.ok(!specifiersOk('100%'));
  });
});

describe('values as systemctl show prints them', () => {
  it('CPUQuota → CPUQuotaPerSecUSec (format_timespan)', () => {
    assert.equal(cpuQuotaToPerSecUSec('60%'), '600ms');
    assert.equal(cpuQuotaToPerSecUSec('100%'), '1s');
    assert.equal(cpuQuotaToPerSecUSec('150%'), '1.500000s');
    assert.equal(cpuQuotaToPerSecUSec('5%'), '50ms');
    assert.equal(cpuQuotaToPerSecUSec('1%'), '10ms');
    assert.equal(cpuQuotaToPerSecUSec('1000%'), '10s');
    assert.equal(cpuQuotaToPerSecUSec('10050%'), '1min 40.500000s');
  });

  it('formats time spans like systemd, and parses them back', () => {
    assert.equal(formatTimespan(0), '0');
    assert.equal(formatTimespan(333_333), '333.333ms');
    assert.equal(formatTimespan(1_234_567), '1.234567s');
    assert.equal(formatTimespan(90_000_000), '1min 30s');
    assert.equal(formatTimespan(3_600_000_000), '1h');
    assert.equal(formatTimespan(3_723_000_001), '1h 2min 3.000001s');
    assert.equal(formatTimespan(86_400_000_001), '1d 1us');
    for (const s of ['600ms', '1.500000s', '1min 30s', '1h 2min 3.000001s', '1d 1us', '333.333ms']) {
      assert.equal(formatTimespan(parseTimespan(s)!), s, s);
    }
    assert.equal(parseTimespan('soon'), undefined);
  });

  it('converts shown values back to the declared form', () => {
    assert.equal(perSecUSecToCpuQuota('600ms'), '60%');
    assert.equal(perSecUSecToCpuQuota('1.500000s'), '150%');
    assert.equal(perSecUSecToCpuQuota('infinity'), 'infinity');
    assert.equal(perSecUSecToCpuQuota('1.234567s'), '123.4567%');
    assert.equal(bytesToMemory('1073741824'), '1G');
    assert.equal(bytesToMemory('536870912'), '512M');
    assert.equal(bytesToMemory('1000'), '1000');
    assert.equal(bytesToMemory('infinity'), 'infinity');
  });

  it('memory sizes are 1024-based bytes; percentages have no fixed value', () => {
    assert.equal(memoryToBytes('1G'), '1073741824');
    assert.equal(memoryToBytes('512M'), '536870912');
    assert.equal(memoryToBytes('768M'), '805306368');
    assert.equal(memoryToBytes('2T'), '2199023255552');
    assert.equal(memoryToBytes('4096'), '4096');
    assert.equal(memoryToBytes('infinity'), 'infinity');
    assert.equal(memoryToBytes('50%'), undefined);
    assert.equal(expectedShown('TasksMax', '10%'), undefined);
    assert.equal(expectedShown('TasksMax', '512'), '512');
    assert.equal(expectedShown('IOWeight', '50'), '50');
  });
});

describe('liveControl', () => {
  const shown = { CPUQuotaPerSecUSec: '1s', MemoryMax: '1073741824', CPUWeight: '[not set]', IOWeight: '50', MemoryHigh: 'infinity', TasksMax: 'infinity' };

  it('sets what differs from systemctl show, in declared form', () => {
    const r = liveControl({ CPUQuota: '60%', MemoryMax: '1G', IOWeight: '50' }, undefined, shown);
    assert.deepEqual(r.properties, { CPUQuota: '60%' });
    assert.deepEqual(r.fields, [{ name: 'CPUQuota (running)', before: '100%', after: '60%' }]);
  });

  it('resets a directive the file no longer sets, and sets percentages when the file changes them', () => {
    const r = liveControl({ MemoryMax: '50%' }, { CPUQuota: '100%', MemoryMax: '40%' }, shown);
    assert.deepEqual(r.properties, { CPUQuota: '', MemoryMax: '50%' });
    assert.deepEqual(r.fields, [
      { name: 'CPUQuota (running)', before: '100%', after: '(default)' },
      { name: 'MemoryMax (running)', before: '40%', after: '50%' },
    ]);
    // Unchanged percentage: nothing to compare, nothing to do.
    assert.deepEqual(liveControl({ MemoryMax: '50%' }, { MemoryMax: '50%' }, shown).properties, {});
  });
});

// The real formatter: `systemd-analyze timespan` prints "Human:" with format_timespan(t, 0), the same
// call `systemctl show` makes for *USec properties (shared/bus-print-properties.c in systemd 252).
const ROOT = DEBIAN_ROOT;
const chrootSkip = debianRootSkip('usr/bin/systemd-analyze', 'systemd-analyze');

describe('formatTimespan against systemd 252 (Debian root)', () => {
  it('prints what systemd-analyze timespan prints', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    const usecs = [1, 999, 1000, 10_000, 333_333, 600_000, 1_000_000, 1_500_000, 1_234_567, 59_999_999, 60_000_000, 100_500_000, 90_000_000, 3_723_000_001, 86_400_000_000, 86_400_000_001, 31_557_600_000_000];
    const run = spawnSync('chroot', [ROOT, 'systemd-analyze', 'timespan', ...usecs.map((u) => `${u}us`)], {
      encoding: 'utf8',
      env: { PATH: '/usr/sbin:/usr/bin:/bin', SYSTEMD_COLORS: '0' },
    });
    assert.equal(run.status, 0, run.stderr);
    const human = [...run.stdout.matchAll(/Human: (.*)$/gm)].map((m) => m[1]!.trim());
    assert.deepEqual(human, usecs.map((u) => formatTimespan(u)));
  });
});
