// fpm_global: in-place edits of php-fpm.conf's [global] section on the real Debian bookworm file and a
// RHEL-layout one, the reader the release planner uses, and the plan.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { editGlobalSettings, fpmGlobalResource, fpmGlobalSchema, readGlobalSetting } from '../../../agent/resources/fpm-global.js';
import type { PlanContext } from '../../../agent/resources/types.js';
import { actualState, debianFacts, fileState, files, rhelFacts } from '../../support/actual.js';
import { fixture } from '../../support/paths.js';
import { DEBIAN_ROOT, debianRootSkip } from '../../support/debian-root.js';

const DEBIAN = readFileSync(fixture('resources', 'fpm', 'debian-bookworm-php-fpm.conf'), 'utf8');
const RHEL = readFileSync(fixture('resources', 'fpm', 'rhel-php-fpm.conf'), 'utf8');
const DEBIAN_CONF = '/etc/php/8.2/fpm/php-fpm.conf';
const ctx: PlanContext = { host: 'web1', source: { file: 'playbooks/site.yml', line: 3, column: 3 }, all: [] };
const PCT_NOTE = 'process_control_timeout applies from the reload after this one (php-fpm reads it on start); a release later relies on it';

/** Line numbers (0-based) where two texts differ; both must have the same number of lines. */
function changedLines(a: string, b: string): number[] {
  const x = a.split('\n');
  const y = b.split('\n');
  assert.equal(y.length, x.length, 'same number of lines');
  return x.flatMap((line, i) => (line === y[i] ? [] : [i]));
}

const lineOf = (text: string, line: string) => text.split('\n').indexOf(line);

describe('editGlobalSettings on Debian bookworm php-fpm.conf', () => {
  it('uncomments the shipped default ";process_control_timeout = 0" in place, nothing else changes', () => {
    const out = editGlobalSettings(DEBIAN, { process_control_timeout: '10s' });
    const at = lineOf(DEBIAN, ';process_control_timeout = 0');
    assert.ok(at > 0);
    assert.deepEqual(changedLines(DEBIAN, out), [at]);
    assert.equal(out.split('\n')[at], 'process_control_timeout = 10s');
  });

  it('edits several keys where they stand: commented defaults (also "; key = v") and active lines', () => {
    const out = editGlobalSettings(DEBIAN, {
      emergency_restart_threshold: '10',
      emergency_restart_interval: '1m',
      process_control_timeout: '10s',
      log_level: 'notice',
      'process.max': '64',
      error_log: '/var/log/php-fpm/error.log',
    });
    const expected = [
      [';emergency_restart_threshold = 0', 'emergency_restart_threshold = 10'],
      [';emergency_restart_interval = 0', 'emergency_restart_interval = 1m'],
      [';process_control_timeout = 0', 'process_control_timeout = 10s'],
      [';log_level = notice', 'log_level = notice'],
      ['; process.max = 128', 'process.max = 64'],
      ['error_log = /var/log/php8.2-fpm.log', 'error_log = /var/log/php-fpm/error.log'],
    ];
    const lines = out.split('\n');
    for (const [before, after] of expected) assert.equal(lines[lineOf(DEBIAN, before!)], after, before);
    assert.equal(changedLines(DEBIAN, out).length, expected.length);
  });

  it('appends a key without any line inside [global], above the include line and its comment block', () => {
    const without = DEBIAN.replace(';process_control_timeout = 0\n', '');
    const out = editGlobalSettings(without, { process_control_timeout: '10s' });
    assert.equal(out.replace('process_control_timeout = 10s\n\n', ''), without);
    assert.ok(out.indexOf('process_control_timeout = 10s\n\n; Include one or more files.') > 0);
    assert.ok(out.indexOf('process_control_timeout = 10s') < out.indexOf('include=/etc/php/8.2/fpm/pool.d/*.conf'));
    assert.equal(readGlobalSetting(out, 'process_control_timeout'), '10s');
  });

  it('is idempotent and leaves a matching line byte for byte (no respacing of "key=value")', () => {
    const once = editGlobalSettings(DEBIAN, { process_control_timeout: '10s', pid: '/run/php/php8.2-fpm.pid' });
    assert.equal(editGlobalSettings(once, { process_control_timeout: '10s' }), once);
    assert.equal(editGlobalSettings(DEBIAN, { pid: '/run/php/php8.2-fpm.pid' }), DEBIAN);
    const tight = '[global]\nprocess_control_timeout=10s ; set by hand\n';
    assert.equal(editGlobalSettings(tight, { process_control_timeout: '10s' }), tight);
  });

  it('quotes values php-fpm would misread, and keeps yes/no bare for php-fpm booleans', () => {
    const out = editGlobalSettings(DEBIAN, { 'syslog.ident': 'php fpm', daemonize: 'no' });
    assert.equal(out.split('\n')[lineOf(DEBIAN, ';syslog.ident = php-fpm')], 'syslog.ident = "php fpm"');
    assert.equal(out.split('\n')[lineOf(DEBIAN, ';daemonize = yes')], 'daemonize = no');
  });
});

describe('editGlobalSettings on other layouts', () => {
  it('RHEL: include before [global], [global] to the end of the file — uncomments in place, appends at the end', () => {
    const out = editGlobalSettings(RHEL, { process_control_timeout: '10s', log_buffering: 'no' });
    const lines = out.split('\n');
    assert.equal(lines[lineOf(RHEL, ';process_control_timeout = 0')], 'process_control_timeout = 10s');
    assert.ok(out.endsWith('; See /etc/php-fpm.d/*.conf\n\nlog_buffering = no\n'));
    assert.equal(out.replace('\nlog_buffering = no\n', '').replace(/^process_control_timeout = 10s$/m, ';process_control_timeout = 0'), RHEL);
    assert.equal(readGlobalSetting(out, 'log_buffering'), 'no');
  });

  it('rewrites every active duplicate (php-fpm takes the last one)', () => {
    assert.equal(editGlobalSettings('[global]\nlog_level = debug\nlog_level = error\n', { log_level: 'notice' }), '[global]\nlog_level = notice\nlog_level = notice\n');
  });

  it('never edits a pool section or the lines after an include (they belong to the last included pool)', () => {
    const text = '[global]\npid = /run/x.pid\ninclude=/etc/x/*.conf\n;log_level = notice\n[www]\nlog_level = debug\n';
    assert.equal(editGlobalSettings(text, { log_level: 'notice' }), '[global]\npid = /run/x.pid\n\nlog_level = notice\n\ninclude=/etc/x/*.conf\n;log_level = notice\n[www]\nlog_level = debug\n');
  });

  it('adds a [global] section at the end when the file has none', () => {
    assert.equal(editGlobalSettings('[www]\nuser = x\n', { process_control_timeout: '10s' }), '[www]\nuser = x\n\n[global]\nprocess_control_timeout = 10s\n');
    assert.equal(editGlobalSettings('', { process_control_timeout: '10s' }), '[global]\nprocess_control_timeout = 10s\n');
  });

  it('keeps CRLF line endings and adds a final newline where the file had none', () => {
    assert.equal(editGlobalSettings('[global]\r\npid = /x\r\n', { pid: '/y', process_control_timeout: '10s' }), '[global]\r\npid = /y\r\n\r\nprocess_control_timeout = 10s\r\n');
    assert.equal(editGlobalSettings('[global]\npid = /x', { process_control_timeout: '10s' }), '[global]\npid = /x\n\nprocess_control_timeout = 10s\n');
  });
});

describe('readGlobalSetting', () => {
  it('reads active global values only: commented defaults are unset', () => {
    assert.equal(readGlobalSetting(DEBIAN, 'process_control_timeout'), undefined);
    assert.equal(readGlobalSetting(DEBIAN, 'pid'), '/run/php/php8.2-fpm.pid');
    assert.equal(readGlobalSetting(RHEL, 'daemonize'), 'yes');
    assert.equal(readGlobalSetting(RHEL, 'include'), undefined);
  });

  it('follows php-fpm: the last value wins, the preamble counts, pools and post-include lines do not, quotes and comments are stripped', () => {
    const text = [
      'process_control_timeout = 5',
      '[global]',
      'process_control_timeout = "20s" ; quoted',
      'include=/etc/x/*.conf',
      'process_control_timeout = 99',
      '[www]',
      'process_control_timeout = 98',
      '',
    ].join('\n');
    assert.equal(readGlobalSetting(text, 'process_control_timeout'), '20s');
    assert.equal(readGlobalSetting('process_control_timeout = 5\n[www]\nuser = x\n', 'process_control_timeout'), '5');
  });
});

describe('fpm_global schema', () => {
  const issues = (input: unknown) => {
    const r = fpmGlobalSchema.safeParse(input);
    assert.equal(r.success, false);
    return r.error!.issues.map((i) => [i.path, i.message]);
  };

  it('accepts durations, numbers and booleans (as yes/no)', () => {
    assert.deepEqual(fpmGlobalSchema.parse({ php_version: '8.2', settings: { process_control_timeout: '10s', emergency_restart_threshold: 10, emergency_restart_interval: '1m', log_level: 'notice', daemonize: true } }), {
      php_version: '8.2',
      settings: { process_control_timeout: '10s', emergency_restart_threshold: '10', emergency_restart_interval: '1m', log_level: 'notice', daemonize: 'yes' },
    });
  });

  it('refuses bad keys, bad durations, include, multi-line values and unknown keys, at their paths', () => {
    assert.deepEqual(issues({ settings: { 'Log Level': 'notice' } }), [
      [['settings', 'Log Level'], 'key "Log Level" must be a php-fpm directive name: lower-case letters, digits, "_" and "." (e.g. "pm.max_spawn_rate")'],
    ]);
    assert.deepEqual(issues({ settings: { process_control_timeout: '10 seconds' } }), [
      [['settings', 'process_control_timeout'], 'process_control_timeout must be a duration: whole seconds, or a number with s, m, h or d (e.g. "10s")'],
    ]);
    assert.deepEqual(issues({ settings: { include: '/tmp/*.conf' } }), [[['settings', 'include'], 'include is not a setting: pool files are managed by fpm_pool']]);
    assert.deepEqual(issues({ settings: { log_level: 'notice\n[www]' } }), [[['settings', 'log_level'], 'must be on one line (no newline characters)']]);
    assert.deepEqual(issues({ settings: {}, reload: true }), [[[], 'Unrecognized key: "reload"']]);
  });
});

describe('fpm_global plan', () => {
  const spec = (settings: Record<string, unknown>, php_version?: string) => fpmGlobalSchema.parse({ php_version, settings });
  const debian = (content = DEBIAN, attrs = {}) => actualState(debianFacts, { files: files(fileState(DEBIAN_CONF, content, attrs)) });

  it('probes both layouts and has the id "global"', () => {
    assert.deepEqual(fpmGlobalResource.probes(spec({})), [
      { kind: 'file', path: '/etc/php/*/fpm/php-fpm.conf' },
      { kind: 'file', path: '/etc/php-fpm.conf' },
    ]);
    assert.equal(fpmGlobalResource.id(spec({})), 'global');
  });

  it('sets process_control_timeout: write keeping owner/group/mode, php-fpm -t, reload without sockets, and the note', () => {
    const [change, ...rest] = fpmGlobalResource.plan(spec({ process_control_timeout: '10s', log_level: 'notice' }), debian(DEBIAN, { group: 'adm', mode: '0640' }), ctx);
    assert.equal(rest.length, 0);
    assert.equal(change!.resource, 'fpm_global[global]');
    assert.equal(change!.action, 'update');
    assert.equal(change!.summary, `php-fpm 8.2 global (${DEBIAN_CONF}): process_control_timeout (unset) → 10s, log_level (unset) → notice`);
    assert.deepEqual(change!.fields, [
      { name: 'process_control_timeout', before: undefined, after: '10s' },
      { name: 'log_level', before: undefined, after: 'notice' },
    ]);
    assert.deepEqual(change!.operations, [
      { op: 'write', path: DEBIAN_CONF, content: editGlobalSettings(DEBIAN, { process_control_timeout: '10s', log_level: 'notice' }), owner: 'root', group: 'adm', mode: '0640' },
    ]);
    assert.deepEqual(change!.validators, [{ kind: 'fpm-test', binary: '/usr/sbin/php-fpm8.2' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'fpm-reload', unit: 'php8.2-fpm.service', binary: '/usr/sbin/php-fpm8.2', confFile: '/etc/php/8.2/fpm/php-fpm.conf', sockets: [] }]);
    assert.deepEqual(change!.notes, [PCT_NOTE]);
    assert.match(change!.diff!, /^-;process_control_timeout = 0\n\+process_control_timeout = 10s$/m);
  });

  it('is converged when the declared values are in place', () => {
    const done = editGlobalSettings(DEBIAN, { process_control_timeout: '10s' });
    assert.deepEqual(fpmGlobalResource.plan(spec({ process_control_timeout: '10s' }), debian(done), ctx), []);
    assert.deepEqual(fpmGlobalResource.plan(spec({}), debian(), ctx), []);
  });

  it('has no note when process_control_timeout does not change', () => {
    const done = editGlobalSettings(DEBIAN, { process_control_timeout: '10s' });
    const [change] = fpmGlobalResource.plan(spec({ process_control_timeout: '10s', emergency_restart_threshold: 10 }), debian(done), ctx);
    assert.deepEqual(change!.fields, [{ name: 'emergency_restart_threshold', before: undefined, after: '10' }]);
    assert.equal(change!.notes, undefined);
  });

  it('shows an active value as before', () => {
    const [change] = fpmGlobalResource.plan(spec({ process_control_timeout: '20s' }), debian(editGlobalSettings(DEBIAN, { process_control_timeout: '10s' })), ctx);
    assert.equal(change!.summary, `php-fpm 8.2 global (${DEBIAN_CONF}): process_control_timeout 10s → 20s`);
    assert.deepEqual(change!.notes, [PCT_NOTE]);
  });

  it('uses /etc/php-fpm.conf, /usr/sbin/php-fpm and php-fpm.service on RHEL', () => {
    const [change] = fpmGlobalResource.plan(spec({ process_control_timeout: '10s' }), actualState(rhelFacts, { files: files(fileState('/etc/php-fpm.conf', RHEL)) }), ctx);
    assert.equal((change!.operations[0] as { path: string }).path, '/etc/php-fpm.conf');
    assert.deepEqual(change!.validators, [{ kind: 'fpm-test', binary: '/usr/sbin/php-fpm' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'fpm-reload', unit: 'php-fpm.service', binary: '/usr/sbin/php-fpm', confFile: '/etc/php-fpm.conf', sockets: [] }]);
  });

  it('fails naming the host when php-fpm.conf is missing, or php-fpm is not installed', () => {
    assert.throws(
      () => fpmGlobalResource.plan(spec({ process_control_timeout: '10s' }), actualState(debianFacts), ctx),
      (err: unknown) => {
        assert.ok(err instanceof LanesError);
        assert.equal(err.message, `fpm_global[global]: ${DEBIAN_CONF} on web1 does not exist; php-fpm 8.2's main configuration is needed to edit [global]`);
        assert.deepEqual(err.location, ctx.source);
        return true;
      },
    );
    assert.throws(
      () => fpmGlobalResource.plan(spec({ process_control_timeout: '10s' }, '7.4'), debian(), ctx),
      /^LanesError: fpm_global\[global\]: php-fpm 7\.4 is not installed on web1 \(installed: php-fpm 8\.2\)$/,
    );
  });
});

// Proof against the real parser: the edited Debian and RHEL files pass `php-fpm8.2 -t` in a Debian root.
const ROOT = DEBIAN_ROOT;
const chrootSkip = debianRootSkip('usr/sbin/php-fpm8.2', 'php-fpm8.2');

describe('edited php-fpm.conf under the real php-fpm8.2 -t', () => {
  it('accepts the edited Debian and RHEL files and reads the values lanes wrote', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    const dir = mkdtempSync(path.join(ROOT, 'tmp', 'lanes-fpm-global-'));
    const inside = `/tmp/${path.basename(dir)}`;
    try {
      mkdirSync(path.join(dir, 'pool.d'));
      writeFileSync(path.join(dir, 'pool.d', 'p.conf'), `[p]\nuser = www-data\nlisten = ${inside}/p.sock\npm = static\npm.max_children = 1\n`);
      const cases = {
        // the commented default removed, so the line is appended above the include block
        debian: DEBIAN.replace(';process_control_timeout = 0\n', '').replace('include=/etc/php/8.2/fpm/pool.d/*.conf', `include=${inside}/pool.d/*.conf`),
        rhel: RHEL.replace('include=/etc/php-fpm.d/*.conf', `include=${inside}/pool.d/*.conf`),
      };
      for (const [name, base] of Object.entries(cases)) {
        const edited = editGlobalSettings(base, {
          pid: `${inside}/${name}.pid`,
          error_log: `${inside}/${name}.log`,
          process_control_timeout: '10s',
          emergency_restart_threshold: '10',
          emergency_restart_interval: '1m',
          log_buffering: 'no',
        });
        writeFileSync(path.join(dir, `${name}.conf`), edited);
        const run = spawnSync('chroot', [ROOT, '/usr/sbin/php-fpm8.2', '-tt', '-y', `${inside}/${name}.conf`], { encoding: 'utf8' });
        assert.equal(run.status, 0, `${name}: ${run.stderr}`);
        assert.match(run.stderr, /test is successful/);
        assert.match(run.stderr, /\tprocess_control_timeout = 10s$/m);
        assert.match(run.stderr, /\temergency_restart_interval = 60s$/m);
        assert.match(run.stderr, /\tlog_buffering = no$/m);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
