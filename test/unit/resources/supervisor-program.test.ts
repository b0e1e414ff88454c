// supervisor_program: schema rules (exact zod issue paths and messages), the rendered program file, and
// plans on Debian and RHEL layouts; then the rendered file read by the real Supervisor 4.2.5 parser.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import {
  environmentValue,
  parseEnvironment,
  parseProgram,
  programFields,
  renderProgram,
  supervisorPercentOk,
  supervisorProgramResource,
  supervisorProgramSchema,
  type SupervisorProgramSpec,
} from '../../../agent/resources/supervisor-program.js';
import type { ActualState, PlanContext } from '../../../agent/resources/types.js';
import { actualState, debianFacts, fileState, files, rhelFacts } from '../../support/actual.js';
import { fixture } from '../../support/paths.js';
import { DEBIAN_ROOT, debianRootSkip } from '../../support/debian-root.js';

/** The seed article's queue workers (/work/shared/seeds/000_…): four workers as their own user, long stopwaitsecs. */
const laravelQueue = {
  name: 'laravel-queue',
  command: '/usr/bin/php /var/www/app/artisan queue:work --sleep=3 --tries=3',
  numprocs: 4,
  user: 'queueuser',
  directory: '/var/www/app',
  environment: { APP_ENV: 'production', QUEUE_NAMES: 'default,emails', DISCOUNT: '50%' },
  stopsignal: 'TERM',
  stopwaitsecs: 600,
  redirect_stderr: true,
  stdout_logfile: '/var/log/laravel-queue.log',
  stdout_logfile_maxbytes: '50MB',
  stdout_logfile_backups: 5,
};

const RENDERED = readFileSync(fixture('resources', 'supervisor', 'laravel-queue.conf'), 'utf8');
const DEBIAN_PATH = '/etc/supervisor/conf.d/laravel-queue.conf';
const RHEL_PATH = '/etc/supervisord.d/laravel-queue.ini';
const ctx: PlanContext = { host: 'web1', source: { file: 'playbooks/site.yml', line: 30, column: 7 }, all: [] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

function spec(over: Loose = {}): SupervisorProgramSpec {
  return supervisorProgramSchema.parse({ ...laravelQueue, ...over });
}

function plan(s: SupervisorProgramSpec, actual: ActualState, c: PlanContext = ctx) {
  return supervisorProgramResource.plan(s, actual, c);
}

function issues(input: Loose): { path: PropertyKey[]; message: string }[] {
  const r = supervisorProgramSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the schema to refuse the input');
  return r.error!.issues.map((i) => ({ path: i.path, message: i.message }));
}

describe('supervisor_program schema', () => {
  it('applies Supervisor defaults explicitly', () => {
    const s = supervisorProgramSchema.parse({ name: 'mailer', command: '/usr/bin/php artisan mail:work' });
    assert.equal(s.numprocs, 1);
    assert.equal(s.autostart, true);
    assert.equal(s.autorestart, true);
    assert.equal(s.state, 'present');
    assert.equal(supervisorProgramResource.id(s), 'mailer');
  });

  it('refuses a newline in command', () => {
    assert.deepEqual(issues({ ...laravelQueue, command: '/usr/bin/php artisan queue:work\nrm -rf /' }), [
      { path: ['command'], message: 'must be on one line (no newline characters)' },
    ]);
  });

  it('refuses unknown keys (typos) at the top level', () => {
    assert.deepEqual(issues({ ...laravelQueue, numproc: 2 }), [{ path: [], message: 'Unrecognized key: "numproc"' }]);
  });

  it('refuses a relative directory', () => {
    assert.deepEqual(issues({ ...laravelQueue, directory: 'var/www/app' }), [
      { path: ['directory'], message: 'must be an absolute path (starting with "/", without newlines)' },
    ]);
  });

  it('refuses an environment value with a double quote, a newline or quotes at its ends', () => {
    assert.deepEqual(issues({ ...laravelQueue, environment: { GREETING: 'say "hi"' } }), [
      { path: ['environment', 'GREETING'], message: 'must not contain a double quote (Supervisor\'s environment syntax cannot escape it)' },
    ]);
    assert.deepEqual(issues({ ...laravelQueue, environment: { A: 'x\ny' } }), [{ path: ['environment', 'A'], message: 'must be on one line (no newline characters)' }]);
    assert.deepEqual(issues({ ...laravelQueue, environment: { A: "'quoted'" } }), [
      { path: ['environment', 'A'], message: 'must not start or end with a single quote (Supervisor strips quotes at both ends)' },
    ]);
    assert.deepEqual(issues({ ...laravelQueue, environment: { 'BAD-NAME': 'x' } }), [
      { path: ['environment', 'BAD-NAME'], message: 'must be an environment variable name: letters, digits and "_", not starting with a digit' },
    ]);
  });

  it('refuses values that configparser would cut at an inline comment', () => {
    assert.deepEqual(issues({ ...laravelQueue, command: '/usr/bin/php artisan queue:work ; echo done' }), [
      { path: ['command'], message: 'must not contain " ;" or " #" (Supervisor would cut the value there as a comment)' },
    ]);
    assert.deepEqual(issues({ ...laravelQueue, environment: { NOTE: 'a ;b' } }), [
      { path: ['environment', 'NOTE'], message: 'must not contain " ;" or " #" (Supervisor would cut the value there as a comment)' },
    ]);
  });

  it('refuses a stray "%" where Supervisor expands %(name)s, and accepts the expansions', () => {
    assert.deepEqual(issues({ ...laravelQueue, command: 'date +%s' }), [
      { path: ['command'], message: 'a literal "%" must be written "%%" (Supervisor expands %(name)s references)' },
    ]);
    assert.ok(supervisorPercentOk('/usr/bin/php %(ENV_HOME)s/artisan --worker=%(process_num)02d --rate=100%%'));
    assert.ok(!supervisorPercentOk('100%'));
  });

  it('refuses other malformed values with the allowed form', () => {
    assert.deepEqual(issues({ ...laravelQueue, user: 'Queue User' }), [
      { path: ['user'], message: 'must be a Unix name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters' },
    ]);
    assert.deepEqual(issues({ ...laravelQueue, stopsignal: 'SIGWINCH' }), [{ path: ['stopsignal'], message: 'must be one of TERM, INT, QUIT, KILL, HUP, USR1, USR2' }]);
    assert.deepEqual(issues({ ...laravelQueue, autorestart: 'always' }), [{ path: ['autorestart'], message: 'must be true, false or "unexpected"' }]);
    assert.deepEqual(issues({ ...laravelQueue, numprocs: 0 }), [{ path: ['numprocs'], message: 'must be a whole number (at least 1)' }]);
    assert.deepEqual(issues({ ...laravelQueue, process_name: 'worker' }), [
      { path: ['process_name'], message: 'must contain %(process_num)02d (or another %(process_num) format) when numprocs > 1' },
    ]);
    assert.deepEqual(issues({ ...laravelQueue, stderr_logfile: '/var/log/err.log' }), [
      { path: ['stderr_logfile'], message: 'is not used when redirect_stderr is true (stderr goes to stdout_logfile)' },
    ]);
    assert.deepEqual(issues({ ...laravelQueue, state: 'stopped' }), [{ path: ['state'], message: 'must be "present" or "absent"' }]);
  });
});

describe('supervisor_program rendering', () => {
  it('renders [program:NAME] deterministically, with the header and explicit defaults', () => {
    assert.equal(renderProgram(spec()), RENDERED);
    // Key order of the playbook does not matter.
    const reordered = spec({ environment: { QUEUE_NAMES: 'default,emails', DISCOUNT: '50%', APP_ENV: 'production' } });
    assert.equal(renderProgram(reordered), RENDERED);
  });

  it('uses %(program_name)s for a single process and keeps a declared process_name', () => {
    const one = renderProgram(supervisorProgramSchema.parse({ name: 'mailer', command: '/usr/bin/php artisan mail:work' }));
    assert.equal(
      one,
      ['; managed by lanes — changes made here will be overwritten', '[program:mailer]', 'command=/usr/bin/php artisan mail:work', 'process_name=%(program_name)s', 'numprocs=1', 'autostart=true', 'autorestart=true', ''].join('\n'),
    );
    assert.match(renderProgram(spec({ process_name: 'w%(process_num)d' })), /^process_name=w%\(process_num\)d$/m);
  });

  it('quotes environment values for Supervisor and keeps "%" literal', () => {
    assert.equal(environmentValue({ B: 'x,y', A: '50%', C: "it's" }), 'A="50%%",B="x,y",C="it\'s"');
    assert.deepEqual([...parseEnvironment('A="50%%",B="x,y",C=plain')], [
      ['A', '50%%'],
      ['B', 'x,y'],
      ['C', 'plain'],
    ]);
  });

  it('parses an existing file as configparser does (inline comments, case, other sections)', () => {
    const text = readFileSync(fixture('resources', 'supervisor', 'hand-written-laravel-queue.conf'), 'utf8');
    const parsed = parseProgram(text, 'laravel-queue');
    assert.equal(parsed.get('command'), '/usr/bin/php /var/www/app/artisan queue:work --sleep=3 --tries=3');
    assert.equal(parsed.get('numprocs'), '2');
    assert.equal(parsed.get('stopwaitsecs'), '60');
    assert.equal(parsed.get('user'), 'queueuser');
    assert.equal(parsed.has('files'), false);
  });
});

describe('supervisor_program plan', () => {
  it('is converged when the file is as rendered and every process runs', () => {
    const supervisor = new Map(
      ['00', '01', '02', '03'].map((n) => [`laravel-queue:laravel-queue_${n}`, { name: `laravel-queue:laravel-queue_${n}`, state: 'RUNNING' }]),
    );
    assert.deepEqual(plan(spec(), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, RENDERED, PRIVATE)), supervisor })), []);
    assert.deepEqual(plan(spec(), actualState(rhelFacts, { files: files(fileState(RHEL_PATH, RENDERED, PRIVATE)), supervisor })), []);
  });

  it('creates the program file in conf.d on Debian, with reread as validator and update as handler', () => {
    const [change, ...rest] = plan(spec(), actualState(debianFacts));
    assert.equal(rest.length, 0);
    assert.equal(change!.resource, 'supervisor_program[laravel-queue]');
    assert.equal(change!.action, 'create');
    assert.equal(change!.summary, `create program laravel-queue (${DEBIAN_PATH})`);
    assert.deepEqual(change!.operations, [{ op: 'write', path: DEBIAN_PATH, content: RENDERED, owner: 'root', group: 'root', mode: '0640' }]);
    assert.deepEqual(change!.validators, [{ kind: 'supervisor-reread' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'supervisor-update' }]);
    assert.ok(change!.diff?.includes('+numprocs=4'));
    assert.deepEqual(
      change!.fields?.find((f) => f.name === 'numprocs'),
      { name: 'numprocs', before: undefined, after: '4' },
    );
    assert.deepEqual(change!.fields?.find((f) => f.name === 'environment.DISCOUNT'), { name: 'environment.DISCOUNT', before: undefined, after: '50%' });
  });

  it('writes /etc/supervisord.d/NAME.ini on RHEL', () => {
    const [change] = plan(spec(), actualState(rhelFacts));
    assert.deepEqual(change!.operations, [{ op: 'write', path: RHEL_PATH, content: RENDERED, owner: 'root', group: 'root', mode: '0640' }]);
  });

  it('probes both layouts and the process states', () => {
    assert.deepEqual(supervisorProgramResource.probes(spec()), [
      { kind: 'file', path: DEBIAN_PATH },
      { kind: 'file', path: RHEL_PATH },
      { kind: 'supervisor' },
    ]);
  });

  it('updates a hand-written file with before → after per directive and a diff', () => {
    const text = readFileSync(fixture('resources', 'supervisor', 'hand-written-laravel-queue.conf'), 'utf8');
    const [change] = plan(spec(), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, text, PRIVATE)) }));
    assert.equal(change!.action, 'update');
    assert.deepEqual(change!.validators, [{ kind: 'supervisor-reread' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'supervisor-update' }]);
    const byName = new Map(change!.fields!.map((f) => [f.name, f]));
    assert.deepEqual(byName.get('numprocs'), { name: 'numprocs', before: '2', after: '4' });
    assert.deepEqual(byName.get('stopwaitsecs'), { name: 'stopwaitsecs', before: '60', after: '600' });
    assert.deepEqual(byName.get('directory'), { name: 'directory', before: undefined, after: '/var/www/app' });
    assert.deepEqual(byName.get('environment.APP_ENV'), { name: 'environment.APP_ENV', before: 'staging', after: 'production' });
    assert.deepEqual(byName.get('environment.DEBUG'), { name: 'environment.DEBUG', before: '1', after: undefined });
    assert.equal(byName.has('command'), false, 'an unchanged directive is not a field');
    assert.equal(change!.summary, 'program laravel-queue: numprocs 2 → 4, directory (unset) → /var/www/app, environment.APP_ENV staging → production, … (7 more)');
    assert.match(change!.diff!, /^-numprocs=2$/m);
    assert.match(change!.diff!, /^\+numprocs=4$/m);
    assert.match(change!.diff!, /^--- \/etc\/supervisor\/conf\.d\/laravel-queue\.conf/m);
  });

  it('shows one changed directive of a managed file', () => {
    const old = RENDERED.replace('stopwaitsecs=600', 'stopwaitsecs=300');
    const [change] = plan(spec(), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, old, PRIVATE)) }));
    assert.deepEqual(change!.fields, [{ name: 'stopwaitsecs', before: '300', after: '600' }]);
    assert.equal(change!.summary, 'program laravel-queue: stopwaitsecs 300 → 600');
  });

  it('fixes only the mode without reread or update', () => {
    const [change] = plan(spec(), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, RENDERED, { mode: '0666' })) }));
    assert.equal(change!.action, 'update');
    assert.deepEqual(change!.fields, [{ name: 'mode', before: '0666', after: '0640' }]);
    assert.deepEqual(change!.operations, [{ op: 'attrs', path: DEBIAN_PATH, owner: 'root', group: 'root', mode: '0640' }]);
    assert.equal(change!.validators, undefined);
    assert.equal(change!.handlers, undefined);
  });

  it('removes the file for state absent; update then stops and removes the program', () => {
    const [change] = plan(spec({ state: 'absent' }), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, RENDERED, PRIVATE)) }));
    assert.equal(change!.action, 'delete');
    assert.deepEqual(change!.operations, [{ op: 'remove', path: DEBIAN_PATH }]);
    assert.deepEqual(change!.validators, [{ kind: 'supervisor-reread' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'supervisor-update' }]);
    assert.match(change!.diff!, /^-command=/m);
    assert.deepEqual(plan(spec({ state: 'absent' }), actualState(debianFacts)), []);
    assert.deepEqual(plan(spec({ state: 'absent' }), actualState(rhelFacts, { files: files(fileState(DEBIAN_PATH, RENDERED, PRIVATE)) })), [], 'the Debian path is not included on RHEL');
  });

  it('fails naming the host when Supervisor is not installed (absent is then converged)', () => {
    const bare = actualState({ ...debianFacts, supervisor: { installed: false } });
    assert.throws(() => plan(spec(), bare, { host: 'db1', source: ctx.source, all: [] }), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.kind, 'input');
      assert.equal(err.host, 'db1');
      assert.deepEqual(err.location, ctx.source);
      assert.equal(err.message, 'supervisor_program[laravel-queue]: Supervisor is not installed on db1');
      assert.equal(err.format(), 'playbooks/site.yml:30:7: supervisor_program[laravel-queue]: Supervisor is not installed on db1 (install it first (package "supervisor"))');
      return true;
    });
    assert.deepEqual(plan(spec({ state: 'absent' }), bare), []);
  });

  it('fails when supervisord has no include directory', () => {
    const odd = actualState({ ...debianFacts, supervisor: { installed: true, version: '4.2.5' } });
    assert.throws(() => plan(spec(), odd), /supervisord on web1 has no \[include\] files = DIR\/\*\.EXT line/);
  });

  it('warns that reread will fail when supervisord is not running', () => {
    const down = actualState(debianFacts);
    down.supervisor = undefined;
    const [change] = plan(spec(), down);
    assert.match(change!.notes![0]!, /^supervisord is not running/);
  });

  it('starts a converged program that is not running (autostart), as the whole group', () => {
    const supervisor = new Map([
      ['laravel-queue:laravel-queue_00', { name: 'laravel-queue:laravel-queue_00', state: 'STOPPED' }],
      ['laravel-queue:laravel-queue_01', { name: 'laravel-queue:laravel-queue_01', state: 'RUNNING' }],
    ]);
    const changes = plan(spec(), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, RENDERED, PRIVATE)), supervisor }));
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.summary, 'program laravel-queue: STOPPED → RUNNING');
    assert.deepEqual(changes[0]!.operations, []);
    assert.deepEqual(changes[0]!.handlers, [{ kind: 'supervisor-start', program: 'laravel-queue:*' }]);
  });

  it('loads a converged program file that supervisord does not know yet', () => {
    const changes = plan(spec(), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, RENDERED, PRIVATE)), supervisor: new Map() }));
    assert.deepEqual(changes[0]?.handlers, [{ kind: 'supervisor-update' }]);
    assert.equal(changes[0]?.summary, 'program laravel-queue: not loaded → RUNNING');
  });

  it('leaves a program alone that is not meant to start by itself (autostart false)', () => {
    const supervisor = new Map([['laravel-queue:laravel-queue_00', { name: 'laravel-queue:laravel-queue_00', state: 'STOPPED' }]]);
    const rendered = renderProgram(spec({ autostart: false }));
    assert.deepEqual(plan(spec({ autostart: false }), actualState(debianFacts, { files: files(fileState(DEBIAN_PATH, rendered, PRIVATE)), supervisor })), []);
  });

  it('compares environment per variable, as the program sees it', () => {
    const before = parseProgram('[program:x]\nenvironment=A="1",B="50%%"\n', 'x');
    const after = parseProgram('[program:x]\nenvironment=A="2",B="50%%",C="new"\n', 'x');
    assert.deepEqual(programFields(before, after), [
      { name: 'environment.A', before: '1', after: '2' },
      { name: 'environment.C', before: undefined, after: 'new' },
    ]);
  });
});

// Proof against the real parser: the rendered file goes through Supervisor 4.2.5's own option
// processing (ServerOptions.realize: configparser, %(…)s expansion, environment parsing, user lookup)
// in a Debian root. realize() builds the process configs and starts nothing.
const ROOT = DEBIAN_ROOT;
const chrootSkip = debianRootSkip('usr/lib/python3/dist-packages/supervisor/options.py', 'supervisor');

const REALIZE = `
import sys, json
from supervisor.options import ServerOptions
o = ServerOptions()
o.realize(['-c', sys.argv[1]])
out = []
for g in o.process_group_configs:
    for p in g.process_configs:
        out.append(dict(group=g.name, name=p.name, command=p.command, environment=p.environment, autostart=p.autostart,
                        autorestart=p.autorestart.__name__, stopsignal=int(p.stopsignal), stopwaitsecs=p.stopwaitsecs, uid=p.uid,
                        directory=p.directory, redirect_stderr=p.redirect_stderr, stdout_logfile=p.stdout_logfile,
                        maxbytes=p.stdout_logfile_maxbytes, backups=p.stdout_logfile_backups))
print(json.dumps(out))
`;

/** Program files with environment values are root's alone to read. */
const PRIVATE = { mode: '0640' };

function realize(programFile: string): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(ROOT, 'tmp', 'lanes-supervisor-'));
  const inside = `/tmp/${path.basename(dir)}`;
  try {
    writeFileSync(path.join(dir, 'supervisord.conf'), `[supervisord]\nlogfile=${inside}/sd.log\npidfile=${inside}/sd.pid\n[include]\nfiles = ${inside}/*.conf\n`);
    writeFileSync(path.join(dir, 'program.conf'), programFile);
    writeFileSync(path.join(dir, 'realize.py'), REALIZE);
    // No LANG: supervisord under systemd often runs in the C locale; the header's "—" must still parse.
    const run = spawnSync('chroot', [ROOT, 'python3', `${inside}/realize.py`, `${inside}/supervisord.conf`], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/bin' } });
    return { status: run.status, stdout: run.stdout, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('supervisor_program against Supervisor 4.2.5 (Debian root)', () => {
  it('the rendered file parses to exactly the declared program', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    // www-data exists in the root; the program's user must exist for realize().
    const s = spec({ user: 'www-data', environment: { APP_ENV: 'production', QUEUE_NAMES: 'default,emails', DISCOUNT: '50%', QUOTE: "it's", EMPTY: '', HASH: 'a#b' } });
    const r = realize(renderProgram(s));
    assert.equal(r.status, 0, r.stderr);
    const procs = JSON.parse(r.stdout) as Loose[];
    assert.deepEqual(
      procs.map((p) => p.name),
      ['laravel-queue_00', 'laravel-queue_01', 'laravel-queue_02', 'laravel-queue_03'],
    );
    assert.deepEqual(procs[0], {
      group: 'laravel-queue',
      name: 'laravel-queue_00',
      command: laravelQueue.command,
      environment: { APP_ENV: 'production', QUEUE_NAMES: 'default,emails', DISCOUNT: '50%', QUOTE: "it's", EMPTY: '', HASH: 'a#b' },
      autostart: true,
      autorestart: 'RestartUnconditionally',
      stopsignal: 15,
      stopwaitsecs: 600,
      uid: 33,
      directory: '/var/www/app',
      redirect_stderr: true,
      stdout_logfile: '/var/log/laravel-queue.log',
      maxbytes: 50 * 1024 * 1024,
      backups: 5,
    });
  });

  it('the refused forms really break Supervisor (so the schema rules are needed)', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    const base = renderProgram(spec({ user: 'www-data', environment: undefined }));
    // An inline comment inside a quoted environment value cuts it: "No closing quotation".
    const cut = realize(base.replace('autostart=true', 'environment=NOTE="a ;b"\nautostart=true'));
    assert.notEqual(cut.status, 0);
    assert.match(cut.stderr, /No closing quotation/);
    // Quotes at both ends of a value are stripped.
    const stripped = realize(base.replace('autostart=true', `environment=Q="'x'"\nautostart=true`));
    assert.equal(stripped.status, 0, stripped.stderr);
    assert.deepEqual((JSON.parse(stripped.stdout) as Loose[])[0]!.environment, { Q: 'x' });
    // A single "%" is an expansion error.
    const pct = realize(base.replace('--tries=3', '--tries=3 100%'));
    assert.notEqual(pct.status, 0);
  });
});
