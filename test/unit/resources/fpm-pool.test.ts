// fpm_pool: schema rules (with the exact zod issue paths the playbook loader maps to file:line:column),
// the rendered pool file, and plans against Debian and RHEL hosts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { editGlobalSettings } from '../../../agent/resources/fpm-global.js';
import { fpmPoolResource, fpmPoolSchema, renderPool, type FpmPoolSpec } from '../../../agent/resources/fpm-pool.js';
import type { ActualState, FileState, PlanContext } from '../../../agent/resources/types.js';
import { actualState, debianFacts, fileState, files, rhelFacts } from '../../support/actual.js';
import { fixture } from '../../support/paths.js';
import { DEBIAN_ROOT, debianRootSkip } from '../../support/debian-root.js';

/** Pool files with env[] values are root's alone to read. */
const PRIVATE = { mode: '0640' };

/** The seed article's web_session pool, as a playbook declares it (after the playbook layer added name and php_version). */
const webSession = {
  name: 'web_session',
  php_version: '8.2',
  user: 'www-data',
  group: 'www-data',
  listen: { path: '/run/php/php-fpm-web_session.sock', owner: 'www-data', group: 'www-data', mode: '0660', backlog: 511 },
  pm: { mode: 'dynamic', max_children: 12, start_servers: 4, min_spare_servers: 4, max_spare_servers: 8, max_requests: 800, status_path: '/status' },
  ping: { path: '/ping', response: 'pong' },
  slowlog: { path: '/var/log/php-fpm/web_session.slow.log', timeout: '5s' },
  request_terminate_timeout: '60s',
  catch_workers_output: true,
  clear_env: false,
  env: { APP_ENV: 'production' },
  php_value: { 'session.save_handler': 'redis', 'session.save_path': 'tcp://127.0.0.1:6379?database=1' },
  php_admin_value: { memory_limit: '512M', max_execution_time: '30' },
  php_flag: {},
  php_admin_flag: { log_errors: true },
  extra: { 'pm.max_spawn_rate': 32 },
};

const WEB_SESSION_CONF = `; managed by lanes — changes made here will be overwritten
[web_session]
user = www-data
group = www-data

listen = /run/php/php-fpm-web_session.sock
listen.owner = www-data
listen.group = www-data
listen.mode = 0660
listen.backlog = 511

pm = dynamic
pm.max_children = 12
pm.start_servers = 4
pm.min_spare_servers = 4
pm.max_spare_servers = 8
pm.max_requests = 800
pm.status_path = /status
ping.path = /ping
ping.response = pong

slowlog = /var/log/php-fpm/web_session.slow.log
request_slowlog_timeout = 5s
request_terminate_timeout = 60s

catch_workers_output = yes
clear_env = no

env[APP_ENV] = production

php_value[session.save_handler] = redis
php_value[session.save_path] = "tcp://127.0.0.1:6379?database=1"
php_admin_value[max_execution_time] = 30
php_admin_value[memory_limit] = 512M
php_admin_flag[log_errors] = on

pm.max_spawn_rate = 32
`;

const POOL = '/etc/php/8.2/fpm/pool.d/web_session.conf';
const SOCKET = '/run/php/php-fpm-web_session.sock';
const ctx: PlanContext = { host: 'web1', source: { file: 'playbooks/site.yml', line: 14, column: 5 }, all: [] };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;
const spec = (over: Loose = {}): FpmPoolSpec => fpmPoolSchema.parse({ ...webSession, ...over });
const withPm = (pm: Loose): FpmPoolSpec => spec({ pm: { ...webSession.pm, ...pm } });
const withListen = (listen: Loose): FpmPoolSpec => spec({ listen: { ...webSession.listen, ...listen } });
const socket = (path = SOCKET): FileState => ({ path, type: 'other', mode: '0660', owner: 'www-data', group: 'www-data', size: 0 });
const host = (...states: FileState[]): ActualState => actualState(debianFacts, { files: files(...states) });
const plan = (s: FpmPoolSpec, actual: ActualState, c: PlanContext = ctx) => fpmPoolResource.plan(s, actual, c);

/** The zod issues of an invalid spec, as [path, message] pairs. */
function issues(input: unknown): [PropertyKey[], string][] {
  const r = fpmPoolSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the spec to be refused');
  return r.error!.issues.map((i) => [i.path, i.message]);
}

describe('fpm_pool rendering', () => {
  it('renders the seed web_session pool: header, section, stable directive order, sorted maps', () => {
    assert.equal(renderPool(spec()), WEB_SESSION_CONF);
  });

  it('defaults group to user and renders the short listen forms', () => {
    const text = renderPool(spec({ group: undefined, listen: '127.0.0.1:9001', env: undefined, php_value: undefined, php_admin_value: undefined, php_admin_flag: undefined, extra: undefined }));
    assert.match(text, /^user = www-data\ngroup = www-data\n\nlisten = 127\.0\.0\.1:9001\n\npm = dynamic\n/m);
    assert.match(renderPool(spec({ listen: 9000 })), /^listen = 9000$/m);
    assert.match(renderPool(spec({ listen: '/run/php/x.sock' })), /^listen = \/run\/php\/x\.sock\n\npm = dynamic$/m);
  });

  it('renders ondemand and static pools with only their own pm directives', () => {
    const ondemand = renderPool(spec({ pm: { mode: 'ondemand', max_children: 6, process_idle_timeout: '10s', max_requests: 0 } }));
    assert.match(ondemand, /^pm = ondemand\npm\.max_children = 6\npm\.process_idle_timeout = 10s\npm\.max_requests = 0\nping\.path/m);
    const fixed = renderPool(spec({ pm: { mode: 'static', max_children: 4 } }));
    assert.match(fixed, /^pm = static\npm\.max_children = 4\nping\.path/m);
  });

  it('accepts durations in seconds, s, m, h and d, and renders them as php-fpm reads them', () => {
    const text = renderPool(spec({ request_terminate_timeout: 30, slowlog: { path: '/var/log/s.log', timeout: '2h' }, pm: { mode: 'ondemand', max_children: 2, process_idle_timeout: '5m' } }));
    assert.match(text, /^request_terminate_timeout = 30$/m);
    assert.match(text, /^request_slowlog_timeout = 2h$/m);
    assert.match(text, /^pm\.process_idle_timeout = 5m$/m);
    assert.match(renderPool(spec({ request_terminate_timeout: '1d' })), /^request_terminate_timeout = 1d$/m);
    assert.deepEqual(issues({ ...webSession, request_terminate_timeout: '10 s' }), [[['request_terminate_timeout'], 'must be a duration: whole seconds, or a number with s, m, h or d (e.g. "10s", "5m")']]);
    assert.equal(issues({ ...webSession, request_terminate_timeout: '1w' })[0]![0].join('.'), 'request_terminate_timeout');
  });

  it('quotes values only where php-fpm\'s INI parser needs it, and keeps literal words literal', () => {
    const text = renderPool(
      spec({
        env: { FLAG: 'yes', LEVEL: 'E_ALL', PATH: '$PATH', GREETING: 'hello world', WIN: 'C:\\tmp\\${x}' },
        php_value: { 'session.cookie_samesite': 'None', error_reporting: 'E_ALL & ~E_DEPRECATED', 'date.timezone': 'Europe/Berlin', display_errors: 'Off', 'x.semi': 'a;b=c' },
        php_flag: { display_errors: false, 'short_open_tag': 'On' },
      }),
    );
    // env values are strings: a bare yes would be "1", a bare E_ALL would be 32767
    assert.match(text, /^env\[FLAG\] = "yes"$/m);
    assert.match(text, /^env\[LEVEL\] = "E_ALL"$/m);
    assert.match(text, /^env\[PATH\] = \$PATH$/m);
    assert.match(text, /^env\[GREETING\] = "hello world"$/m);
    // inside double quotes php-fpm expands ${…} and reads \\ as one backslash: both escaped
    assert.match(text, /^env\[WIN\] = "C:\\\\tmp\\\\\\\$\{x\}"$/m);
    // php values: None is quoted (a bare None is empty), constant expressions stay bare, Off stays bare
    assert.match(text, /^php_value\[session\.cookie_samesite\] = "None"$/m);
    assert.match(text, /^php_value\[error_reporting\] = E_ALL & ~E_DEPRECATED$/m);
    assert.match(text, /^php_value\[date\.timezone\] = Europe\/Berlin$/m);
    assert.match(text, /^php_value\[display_errors\] = Off$/m);
    assert.match(text, /^php_value\[x\.semi\] = "a;b=c"$/m);
    assert.match(text, /^php_flag\[display_errors\] = off\nphp_flag\[short_open_tag\] = on$/m);
  });
});

describe('fpm_pool schema', () => {
  it('accepts the seed pool and a removal with only a name', () => {
    assert.equal(fpmPoolSchema.safeParse(webSession).success, true);
    assert.deepEqual(fpmPoolSchema.parse({ name: 'www', state: 'absent' }), { name: 'www', state: 'absent' });
  });

  it('refuses start_servers above max_children (outside the spare range), at pm.start_servers', () => {
    assert.deepEqual(issues({ ...webSession, pm: { ...webSession.pm, start_servers: 16 } }), [
      [['pm', 'start_servers'], 'start_servers (16) must be between min_spare_servers (4) and max_spare_servers (8)'],
    ]);
  });

  it('refuses the other dynamic spare rules php-fpm enforces', () => {
    assert.deepEqual(issues({ ...webSession, pm: { ...webSession.pm, max_spare_servers: 16 } }), [
      [['pm', 'max_spare_servers'], 'max_spare_servers (16) must not exceed max_children (12)'],
    ]);
    assert.deepEqual(issues({ ...webSession, pm: { ...webSession.pm, start_servers: undefined, min_spare_servers: 9 } }), [
      [['pm', 'min_spare_servers'], 'min_spare_servers (9) must not exceed max_spare_servers (8)'],
    ]);
    assert.deepEqual(issues({ ...webSession, pm: { mode: 'dynamic', max_children: 5 } }), [
      [['pm', 'min_spare_servers'], 'min_spare_servers is required with mode dynamic (php-fpm refuses a dynamic pool without it)'],
      [['pm', 'max_spare_servers'], 'max_spare_servers is required with mode dynamic (php-fpm refuses a dynamic pool without it)'],
    ]);
    assert.deepEqual(issues({ ...webSession, pm: { mode: 'static', max_children: 5, start_servers: 2 } }), [
      [['pm', 'start_servers'], 'start_servers applies only to mode dynamic (mode is static)'],
    ]);
    assert.deepEqual(issues({ ...webSession, pm: { ...webSession.pm, process_idle_timeout: '10s' } }), [
      [['pm', 'process_idle_timeout'], 'process_idle_timeout applies only to mode ondemand (mode is dynamic)'],
    ]);
  });

  it('refuses pm numbers that are not positive integers', () => {
    assert.deepEqual(issues({ ...webSession, pm: { mode: 'static', max_children: 0 } }), [[['pm', 'max_children'], 'Too small: expected number to be >0']]);
    assert.deepEqual(issues({ ...webSession, pm: { mode: 'static', max_children: 2.5 } }).map(([p]) => p), [['pm', 'max_children']]);
    assert.deepEqual(issues({ ...webSession, pm: { mode: 'static', max_children: '12' } }).map(([p]) => p), [['pm', 'max_children']]);
  });

  it('refuses a relative socket path, in both listen forms', () => {
    assert.deepEqual(issues({ ...webSession, listen: { ...webSession.listen, path: 'run/php.sock' } }), [
      [['listen', 'path'], 'must be an absolute path (starting with "/", without newlines)'],
    ]);
    assert.deepEqual(issues({ ...webSession, listen: 'php-fpm.sock' }), [
      [['listen'], 'must be an absolute socket path (e.g. "/run/php/web.sock"), "host:port" or a port number'],
    ]);
  });

  it('refuses listen settings that do not fit the socket kind', () => {
    assert.deepEqual(issues({ ...webSession, listen: { path: SOCKET, address: '127.0.0.1:9000' } }), [[['listen'], 'needs exactly one of path (a Unix socket) or address ("host:port")']]);
    assert.deepEqual(issues({ ...webSession, listen: { path: SOCKET, allowed_clients: '127.0.0.1' } }), [
      [['listen', 'allowed_clients'], 'applies only to a TCP address; a Unix socket is restricted by owner, group and mode'],
    ]);
    assert.deepEqual(issues({ ...webSession, listen: { address: '127.0.0.1:9000', mode: '0660' } }), [
      [['listen', 'mode'], 'applies only to a Unix socket (path), not to address 127.0.0.1:9000'],
    ]);
    assert.deepEqual(issues({ ...webSession, listen: { address: '127.0.0.1:70000' } }), [[['listen', 'address'], 'must be "host:port", "[ipv6]:port" or a port number (1-65535)']]);
    assert.deepEqual(issues({ ...webSession, listen: { ...webSession.listen, mode: '0999' } }), [[['listen', 'mode'], 'must be an octal mode in quotes, e.g. "0644"']]);
    assert.equal(fpmPoolSchema.safeParse({ ...webSession, listen: { address: '127.0.0.1:9001', allowed_clients: '127.0.0.1, 10.0.0.5', backlog: -1 } }).success, true);
  });

  it('refuses a pool name with a newline or a ";" (it becomes a section name and a file name)', () => {
    const message = 'must contain only letters, digits, ".", "_", "-" or "@" (no spaces, newlines or shell metacharacters)';
    assert.deepEqual(issues({ ...webSession, name: 'web\n[evil]' }), [[['name'], message]]);
    assert.deepEqual(issues({ ...webSession, name: 'web;x' }), [[['name'], message]]);
  });

  it('refuses a php_admin_value with a newline, at its key', () => {
    assert.deepEqual(issues({ ...webSession, php_admin_value: { memory_limit: '512M\nphp_admin_value[disable_functions] =' } }), [
      [['php_admin_value', 'memory_limit'], 'must be on one line (no newline characters)'],
    ]);
  });

  it('refuses INI keys outside [A-Za-z0-9_.], values with a double quote, and env names that are not names', () => {
    assert.deepEqual(issues({ ...webSession, php_value: { 'memory_limit]': '1G' } }), [
      [['php_value', 'memory_limit]'], 'key "memory_limit]" must be a PHP INI setting name: letters, digits, "_" and "." only'],
    ]);
    assert.deepEqual(issues({ ...webSession, php_value: { 'x.y': 'say "hi"' } }), [[['php_value', 'x.y'], 'must not contain a double quote (")']]);
    assert.deepEqual(issues({ ...webSession, env: { '1BAD': 'x' } }), [
      [['env', '1BAD'], 'key "1BAD" must be an environment variable name: letters, digits and "_", not starting with a digit'],
    ]);
    assert.deepEqual(issues({ ...webSession, php_flag: { display_errors: 'maybe' } }), [[['php_flag', 'display_errors'], 'must be a boolean (true/false, on/off, yes/no)']]);
  });

  it('refuses extra directives that are not directive names or that have their own key', () => {
    assert.deepEqual(issues({ ...webSession, extra: { 'pm.max_children': 3, 'Access Log': 'x' } }), [
      [['extra', 'Access Log'], 'key "Access Log" must be a php-fpm directive name: lower-case letters, digits, "_" and "." (e.g. "pm.max_spawn_rate")'],
      [['extra', 'pm.max_children'], 'pm.max_children has its own key in the pool spec; extra is only for directives lanes does not model'],
    ]);
  });

  it('refuses unknown keys, at the object that has them', () => {
    assert.deepEqual(issues({ ...webSession, listen_mode: '0660' }), [[[], 'Unrecognized key: "listen_mode"']]);
    assert.deepEqual(issues({ ...webSession, pm: { ...webSession.pm, max_childs: 3 } }), [[['pm'], 'Unrecognized key: "max_childs"']]);
  });

  it('requires user, listen and pm for a present pool', () => {
    assert.deepEqual(issues({ name: 'api' }), [
      [['user'], 'user is required for a pool with state present'],
      [['listen'], 'listen is required for a pool with state present'],
      [['pm'], 'pm is required for a pool with state present'],
    ]);
  });
});

describe('fpm_pool plan (Debian)', () => {
  it('probes both pool layouts and the socket', () => {
    assert.deepEqual(fpmPoolResource.probes(spec()), [
      { kind: 'file', path: '/etc/php/*/fpm/pool.d/web_session.conf' },
      { kind: 'file', path: '/etc/php-fpm.d/web_session.conf' },
      { kind: 'file', path: SOCKET },
    ]);
    assert.equal(fpmPoolResource.id(spec()), 'web_session');
  });

  it('is converged when the rendered file is in place: no changes', () => {
    assert.deepEqual(plan(spec(), host(fileState(POOL, WEB_SESSION_CONF, PRIVATE), socket())), []);
  });

  it('creates a new pool: write as root 0640 (it has env[] values), php-fpm -t, reload (a new pool needs no restart)', () => {
    const [change, ...rest] = plan(spec(), host());
    assert.equal(rest.length, 0);
    assert.equal(change!.resource, 'fpm_pool[web_session]');
    assert.equal(change!.action, 'create');
    assert.equal(change!.summary, `pool web_session: create ${POOL} (listen ${SOCKET}, pm dynamic max_children 12)`);
    assert.deepEqual(change!.operations, [{ op: 'write', path: POOL, content: WEB_SESSION_CONF, owner: 'root', group: 'root', mode: '0640' }]);
    assert.deepEqual(change!.validators, [{ kind: 'fpm-test', binary: '/usr/sbin/php-fpm8.2' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'fpm-reload', unit: 'php8.2-fpm.service', binary: '/usr/sbin/php-fpm8.2', confFile: '/etc/php/8.2/fpm/php-fpm.conf', sockets: [SOCKET] }]);
    assert.equal(change!.fields, undefined);
    assert.equal(change!.notes, undefined);
    assert.match(change!.diff!, /^\+pm\.max_children = 12$/m);
  });

  it('updates with structured before → after fields and a text diff; pm changes need only a reload', () => {
    const old = renderPool(withPm({ max_children: 8 })).replace('memory_limit] = 512M', 'memory_limit] = 256M');
    const [change] = plan(spec(), host(fileState(POOL, old, PRIVATE), socket()));
    assert.equal(change!.action, 'update');
    assert.equal(change!.summary, 'pool web_session: pm.max_children 8 → 12, php_admin_value[memory_limit] 256M → 512M');
    assert.deepEqual(change!.fields, [
      { name: 'pm.max_children', before: '8', after: '12' },
      { name: 'php_admin_value[memory_limit]', before: '256M', after: '512M' },
    ]);
    assert.match(change!.diff!, /^-pm\.max_children = 8\n\+pm\.max_children = 12$/m);
    assert.match(change!.diff!, /^-php_admin_value\[memory_limit\] = 256M\n\+php_admin_value\[memory_limit\] = 512M$/m);
    assert.deepEqual(change!.handlers, [{ kind: 'fpm-reload', unit: 'php8.2-fpm.service', binary: '/usr/sbin/php-fpm8.2', confFile: '/etc/php/8.2/fpm/php-fpm.conf', sockets: [SOCKET] }]);
    assert.equal(change!.notes, undefined);
    assert.deepEqual(change!.operations, [{ op: 'write', path: POOL, content: WEB_SESSION_CONF, owner: 'root', group: 'root', mode: '0640' }]);
  });

  it('restarts instead of reloading when listen.mode changes, and says why', () => {
    const old = renderPool(withListen({ mode: '0666' }));
    const [change] = plan(spec(), host(fileState(POOL, old, PRIVATE), socket()));
    assert.deepEqual(change!.fields, [{ name: 'listen.mode', before: '0666', after: '0660' }]);
    assert.deepEqual(change!.handlers, [
      { kind: 'fpm-restart', unit: 'php8.2-fpm.service', binary: '/usr/sbin/php-fpm8.2', confFile: '/etc/php/8.2/fpm/php-fpm.conf', sockets: [SOCKET], reason: 'listen.mode 0666 → 0660: a reload keeps the old socket' },
    ]);
    assert.deepEqual(change!.notes, [
      'listen.mode 0666 → 0660: a reload keeps the old socket, so php8.2-fpm.service restarts: every pool stops at once (requests in flight are cut) and the sockets are recreated',
    ]);
  });

  it('restarts for listen.owner, listen.group and listen.backlog too, including a removed one', () => {
    const old = renderPool(withListen({ owner: 'nginx', backlog: 1024 }));
    const [change] = plan(spec(), host(fileState(POOL, old, PRIVATE), socket()));
    assert.equal((change!.handlers![0] as { reason: string }).reason, 'listen.owner nginx → www-data, listen.backlog 1024 → 511: a reload keeps the old socket');
    const [dropped] = plan(withListen({ backlog: undefined }), host(fileState(POOL, WEB_SESSION_CONF, PRIVATE), socket()));
    assert.equal(dropped!.handlers![0]!.kind, 'fpm-restart');
    assert.equal(dropped!.summary, 'pool web_session: listen.backlog 511 → (unset)');
  });

  it('reloads when the socket path changes as well: the new socket is created with the new mode', () => {
    const old = renderPool(withListen({ path: '/run/php/old.sock', mode: '0666' }));
    const [change] = plan(spec(), host(fileState(POOL, old, PRIVATE), socket()));
    assert.deepEqual(change!.handlers, [{ kind: 'fpm-reload', unit: 'php8.2-fpm.service', binary: '/usr/sbin/php-fpm8.2', confFile: '/etc/php/8.2/fpm/php-fpm.conf', sockets: [SOCKET] }]);
  });

  it('reads a hand-written pool file tolerantly (comments, aligned "=", quotes) for fields and the restart decision', () => {
    const old = readFileSync(fixture('resources', 'fpm', 'hand-written-web_session.conf'), 'utf8');
    const [change] = plan(spec(), host(fileState(POOL, old, { owner: 'root', group: 'www-data', mode: '0640' }), socket()));
    const byName = new Map(change!.fields!.map((f) => [f.name, f]));
    assert.deepEqual(byName.get('listen.mode'), { name: 'listen.mode', before: '0666', after: '0660' });
    assert.deepEqual(byName.get('pm.max_children'), { name: 'pm.max_children', before: '8', after: '12' });
    assert.deepEqual(byName.get('php_admin_value[memory_limit]'), { name: 'php_admin_value[memory_limit]', before: '256M', after: '512M' });
    // unchanged quoted value: not a field, even though the admin/non-admin prefix moved
    assert.deepEqual(byName.get('php_admin_value[session.save_path]'), { name: 'php_admin_value[session.save_path]', before: 'tcp://127.0.0.1:6379?database=1' });
    assert.equal(byName.has('pm.max_requests'), false);
    assert.deepEqual(byName.get('group'), { name: 'group', before: 'www-data', after: 'root' });
    assert.equal(byName.has('mode'), false, 'a pool file with env[] values is 0640 already');
    assert.equal(change!.handlers![0]!.kind, 'fpm-restart');
    assert.equal(change!.summary, 'pool web_session: listen.mode 0666 → 0660, listen.backlog (unset) → 511, pm.max_children 8 → 12, pm.status_path (unset) → /status, 16 more');
  });

  it('notes when the socket of an existing pool is missing (php-fpm stopped or the pool failed)', () => {
    const old = renderPool(withPm({ max_children: 8 }));
    const [change] = plan(spec(), host(fileState(POOL, old, PRIVATE)));
    assert.deepEqual(change!.notes, [`socket ${SOCKET} does not exist now: php-fpm is stopped or this pool failed to start`]);
  });

  it('fixes only the attributes when the content is right, without test or reload', () => {
    const [change] = plan(spec(), host(fileState(POOL, WEB_SESSION_CONF, { mode: '0664' }), socket()));
    assert.equal(change!.summary, 'pool web_session: mode 0664 → 0640');
    assert.deepEqual(change!.operations, [{ op: 'attrs', path: POOL, owner: 'root', group: 'root', mode: '0640' }]);
    assert.equal(change!.diff, undefined);
    assert.equal(change!.handlers, undefined, 'file attributes do not need a reload');
    assert.equal(change!.validators, undefined);
  });

  it('rewrites a file whose directives match but whose text does not (e.g. the header was edited)', () => {
    const [change] = plan(spec(), host(fileState(POOL, WEB_SESSION_CONF.replace('; managed by lanes', '; edited'), PRIVATE), socket()));
    assert.equal(change!.summary, `pool web_session: rewrite ${POOL} (comments or layout only)`);
    assert.equal(change!.handlers![0]!.kind, 'fpm-reload');
  });

  it('removes a pool with state absent: remove, php-fpm -t, reload; the summary names the socket that goes away', () => {
    const www = '/etc/php/8.2/fpm/pool.d/www.conf';
    const [change, ...rest] = plan(fpmPoolSchema.parse({ name: 'www', state: 'absent' }), host(fileState(www, '[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\n')));
    assert.equal(rest.length, 0);
    assert.equal(change!.resource, 'fpm_pool[www]');
    assert.equal(change!.action, 'delete');
    assert.equal(change!.summary, `pool www: remove ${www}; its socket /run/php/php8.2-fpm.sock goes away`);
    assert.deepEqual(change!.operations, [{ op: 'remove', path: www }]);
    assert.deepEqual(change!.validators, [{ kind: 'fpm-test', binary: '/usr/sbin/php-fpm8.2' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'fpm-reload', unit: 'php8.2-fpm.service', binary: '/usr/sbin/php-fpm8.2', confFile: '/etc/php/8.2/fpm/php-fpm.conf', sockets: [] }]);
    assert.match(change!.diff!, /^-listen = \/run\/php\/php8\.2-fpm\.sock$/m);
  });

  it('is converged for state absent when there is no pool file', () => {
    assert.deepEqual(plan(fpmPoolSchema.parse({ name: 'www', state: 'absent' }), host()), []);
    assert.deepEqual(fpmPoolResource.probes(fpmPoolSchema.parse({ name: 'www', state: 'absent' })).length, 2);
  });

  it('refuses two pools on one socket, naming the other pool', () => {
    const all = [
      { type: 'fpm_pool', id: 'web_session', spec: webSession },
      { type: 'fpm_pool', id: 'api', spec: { ...webSession, name: 'api' } },
    ];
    assert.throws(() => plan(spec(), host(), { ...ctx, all }), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.message, `fpm_pool[web_session]: pool api on web1 listens on ${SOCKET} as well; each pool needs its own socket`);
      return true;
    });
  });
});

describe('fpm_pool plan (other hosts)', () => {
  it('uses the RHEL layout: /etc/php-fpm.d, php-fpm.service, /usr/sbin/php-fpm', () => {
    const [change] = plan(spec(), actualState(rhelFacts));
    assert.equal(change!.summary, `pool web_session: create /etc/php-fpm.d/web_session.conf (listen ${SOCKET}, pm dynamic max_children 12)`);
    assert.deepEqual(change!.operations, [{ op: 'write', path: '/etc/php-fpm.d/web_session.conf', content: WEB_SESSION_CONF, owner: 'root', group: 'root', mode: '0640' }]);
    assert.deepEqual(change!.validators, [{ kind: 'fpm-test', binary: '/usr/sbin/php-fpm' }]);
    assert.deepEqual(change!.handlers, [{ kind: 'fpm-reload', unit: 'php-fpm.service', binary: '/usr/sbin/php-fpm', confFile: '/etc/php-fpm.conf', sockets: [SOCKET] }]);
    assert.deepEqual(plan(spec(), actualState(rhelFacts, { files: files(fileState('/etc/php-fpm.d/web_session.conf', WEB_SESSION_CONF, PRIVATE)) })), []);
  });

  it('picks the declared version on a host with two installs, and the primary one without php_version', () => {
    const old = { ...debianFacts.php_fpm.primary!, version: '8.1', fullVersion: '8.1.31', binary: '/usr/sbin/php-fpm8.1', confFile: '/etc/php/8.1/fpm/php-fpm.conf', poolDir: '/etc/php/8.1/fpm/pool.d', unit: 'php8.1-fpm.service' };
    const facts = { ...debianFacts, php_fpm: { installs: [debianFacts.php_fpm.primary!, old], primary: debianFacts.php_fpm.primary } };
    const [on81] = plan(spec({ php_version: '8.1' }), actualState(facts));
    assert.deepEqual(on81!.handlers, [{ kind: 'fpm-reload', unit: 'php8.1-fpm.service', binary: '/usr/sbin/php-fpm8.1', confFile: '/etc/php/8.1/fpm/php-fpm.conf', sockets: [SOCKET] }]);
    assert.equal((on81!.operations[0] as { path: string }).path, '/etc/php/8.1/fpm/pool.d/web_session.conf');
    const [primary] = plan(spec({ php_version: undefined }), actualState(facts));
    assert.equal((primary!.operations[0] as { path: string }).path, POOL);
  });

  it('fails naming the host, the source and what is installed when the version is missing', () => {
    assert.throws(() => plan(spec({ php_version: '8.3' }), actualState(debianFacts)), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.kind, 'input');
      assert.equal(err.host, 'web1');
      assert.deepEqual(err.location, ctx.source);
      assert.equal(err.message, 'fpm_pool[web_session]: php-fpm 8.3 is not installed on web1 (installed: php-fpm 8.2)');
      assert.match(err.format(), /^playbooks\/site\.yml:14:5: fpm_pool\[web_session\]: php-fpm 8\.3 is not installed on web1/);
      return true;
    });
  });

  it('fails naming the host when no php-fpm is installed at all', () => {
    const bare = actualState({ ...debianFacts, php_fpm: { installs: [] } });
    assert.throws(() => plan(spec({ php_version: undefined }), bare, { host: 'db1', all: [] }), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.message, 'fpm_pool[web_session]: php-fpm is not installed on db1 (no php-fpm is installed)');
      assert.equal(err.format(), 'db1: fpm_pool[web_session]: php-fpm is not installed on db1 (no php-fpm is installed) (install it first (package resource), or set php_version to an installed version)');
      return true;
    });
  });
});

// Proof against the real parser: rendered pools pass `php-fpm8.2 -t` in a Debian root, and `-tt` (which
// dumps the configuration as php-fpm understood it) shows the values exactly as declared.
const ROOT = DEBIAN_ROOT;
const chrootSkip = debianRootSkip('usr/sbin/php-fpm8.2', 'php-fpm8.2');

describe('rendered pools under the real php-fpm8.2 -t', () => {
  /** Writes the pools next to a copy of Debian's php-fpm.conf that includes them, runs php-fpm8.2 -tt. */
  function fpmTest(pools: (dir: string) => FpmPoolSpec[]): { status: number | null; stderr: string } {
    const dir = mkdtempSync(path.join(ROOT, 'tmp', 'lanes-fpm-pool-'));
    const inside = `/tmp/${path.basename(dir)}`;
    try {
      mkdirSync(path.join(dir, 'pool.d'));
      for (const p of pools(inside)) writeFileSync(path.join(dir, 'pool.d', `${p.name}.conf`), renderPool(p));
      const debian = readFileSync(fixture('resources', 'fpm', 'debian-bookworm-php-fpm.conf'), 'utf8').replace('include=/etc/php/8.2/fpm/pool.d/*.conf', `include=${inside}/pool.d/*.conf`);
      writeFileSync(path.join(dir, 'php-fpm.conf'), editGlobalSettings(debian, { pid: `${inside}/fpm.pid`, error_log: `${inside}/fpm.log`, process_control_timeout: '10s' }));
      const run = spawnSync('chroot', [ROOT, '/usr/sbin/php-fpm8.2', '-tt', '-y', `${inside}/php-fpm.conf`], { encoding: 'utf8' });
      return { status: run.status, stderr: run.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('accepts the seed pools (web_session, web_public, api) and reads every value as declared', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    const run = fpmTest((dir) => [
      spec({ slowlog: { path: `${dir}/web_session.slow.log`, timeout: '5s' } }),
      spec({ name: 'web_public', listen: `${dir}/web_public.sock`, pm: { mode: 'dynamic', max_children: 8, start_servers: 2, min_spare_servers: 2, max_spare_servers: 4, max_requests: 1000 }, slowlog: undefined, ping: undefined }),
      spec({ name: 'api', listen: { address: '127.0.0.1:9101', allowed_clients: '127.0.0.1', backlog: 1024 }, pm: { mode: 'ondemand', max_children: 6, process_idle_timeout: '10s' }, slowlog: undefined, ping: undefined }),
      spec({
        name: 'quoting',
        listen: `${dir}/quoting.sock`,
        slowlog: undefined,
        ping: { path: '/ping', response: 'yes' },
        env: { FLAG: 'yes', LEVEL: 'E_ALL', PATH: '$PATH', GREETING: 'hello world', WIN: 'C:\\tmp\\${HOME}' },
        php_value: { 'session.cookie_samesite': 'None', error_reporting: 'E_ALL & ~E_DEPRECATED', 'x.semi': 'a;b=c d' },
        php_flag: { display_errors: false },
      }),
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /test is successful/);
    const dumped = (line: string) => assert.ok(run.stderr.includes(`\t${line}\n`), `php-fpm -tt shows "${line}"`);
    dumped('process_control_timeout = 10s');
    for (const pool of ['web_session', 'web_public', 'api', 'quoting']) assert.ok(run.stderr.includes(`NOTICE: [${pool}]\n`), pool);
    for (const line of ['listen.mode = 0660', 'listen.backlog = 511', 'pm.max_children = 12', 'pm.start_servers = 4', 'request_slowlog_timeout = 5s', 'request_terminate_timeout = 60s']) dumped(line);
    for (const line of ['env[APP_ENV] = production', 'php_value[session.save_path] = tcp://127.0.0.1:6379?database=1', 'php_admin_value[memory_limit] = 512M', 'pm.max_spawn_rate = 32']) dumped(line);
    for (const line of ['listen = 127.0.0.1:9101', 'listen.allowed_clients = 127.0.0.1', 'pm = ondemand', 'pm.process_idle_timeout = 10']) dumped(line);
    // literal strings stay literal; the constant expression is evaluated by PHP's INI parser, as intended
    for (const line of ['ping.response = yes', 'env[FLAG] = yes', 'env[LEVEL] = E_ALL', 'env[PATH] = $PATH', 'env[GREETING] = hello world', 'env[WIN] = C:\\tmp\\${HOME}']) dumped(line);
    for (const line of ['php_value[session.cookie_samesite] = None', 'php_value[error_reporting] = 24575', 'php_value[x.semi] = a;b=c d', 'php_value[display_errors] = 0']) dumped(line);
  });

  it('shows that the schema refuses what php-fpm itself would refuse (start_servers outside the spare range)', (t) => {
    if (chrootSkip) return t.skip(chrootSkip);
    // Bypass the schema to let php-fpm judge the same numbers.
    const unchecked = { ...spec(), pm: { ...spec().pm!, start_servers: 16 } };
    const run = fpmTest((dir) => [{ ...unchecked, slowlog: undefined, listen: { path: `${dir}/x.sock` } }]);
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /pm\.start_servers\(16\) must not be less than pm\.min_spare_servers\(4\) and not greater than pm\.max_spare_servers\(8\)/);
    assert.equal(issues({ ...webSession, pm: { ...webSession.pm, start_servers: 16 } })[0]![0].join('.'), 'pm.start_servers');
  });
});
