// playbooks/site.yml end to end on 3 lab hosts, through the real CLI: converge, converge again with
// zero changes and no handler, detect a hand edit on one host, refuse a saved plan after drift, and
// keep PHP-FPM serving the old configuration when a new one fails validation.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { parseSupervisorStatus, SUPERVISOR_STATUS_COMMAND } from '../../agent/facts/probe-supervisor.js';
import { jsonEvents, runCli } from '../support/cli.js';
import { cliPath, repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';

const site = path.join(repoRoot, 'playbooks', 'site.yml');
let lab: EnsuredLab;
let names: string[];
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-reconcile-'));

interface HostResult {
  host: string;
  changes: { resource: string; action: string; summary: string; diff?: string }[];
  handlers?: string[];
}

/** The `--json` event stream: every host's result is in its host-end event. */
function results(stdout: string): { ok: HostResult[]; failed: { host: string; message: string }[] } {
  const ends = jsonEvents(stdout).filter((e) => e.type === 'host-end') as unknown as {
    host: string;
    ok: boolean;
    data?: HostResult;
    failure?: { message: string };
  }[];
  return {
    ok: ends.filter((e) => e.ok).map((e) => e.data!),
    failed: ends.filter((e) => !e.ok).map((e) => ({ host: e.host, message: e.failure!.message })),
  };
}

async function fpmMasterPid(host: string): Promise<string> {
  return (await onHost(lab, host, 'systemctl show -p MainPID --value php8.2-fpm')).trim();
}

/** FastCGI GET of a pool's ping path on its own socket; the body must be exactly "pong". */
async function pingPool(host: string, pool: string): Promise<string> {
  const out = await onHost(lab, host, `SCRIPT_NAME=/ping SCRIPT_FILENAME=/ping REQUEST_METHOD=GET cgi-fcgi -bind -connect /run/php/php-fpm-${pool}.sock`);
  return out.split(/\r?\n\r?\n/).slice(1).join('\n\n').trim();
}

async function http(address: string, urlPath: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${address}${urlPath}`);
  return { status: res.status, body: await res.text() };
}

before(async () => {
  lab = await ensureLab(3);
  names = lab.hosts.slice(0, 3).map((h) => h.name);
});

describe('lanes apply playbooks/site.yml', { concurrency: false }, () => {
  it('converges the lab: pools answer, Nginx routes by prefix, workers run as queueuser, the scheduler sits in workers.slice', async () => {
    const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', names.join(':'), '--yes', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = results(r.stdout);
    assert.deepEqual(out.failed, []);
    assert.equal(out.ok.length, 3);

    for (const h of lab.hosts.slice(0, 3)) {
      for (const pool of ['web_public', 'web_session', 'api']) assert.equal(await pingPool(h.name, pool), 'pong', `${h.name} ${pool}`);
      for (const [p, pool] of [['/', 'web_public'], ['/checkout/cart', 'web_session'], ['/login', 'web_session'], ['/api/orders', 'api']] as const) {
        const res = await http(h.address, p);
        assert.equal(res.status, 200, `${h.name} ${p}: ${res.body}`);
        assert.equal((JSON.parse(res.body) as { pool: string }).pool, pool, `${h.name} ${p}`);
      }
      // Programs just (re)started by supervisorctl update are STARTING for their startsecs (1 s).
      const workers = await onHost(
        lab,
        h.name,
        `for i in $(seq 50); do supervisorctl status 'app-queue:*' | grep -q STARTING || break; sleep 0.2; done
supervisorctl status 'app-queue:*'; for n in 00 01; do ps -o user= -p "$(supervisorctl pid app-queue:app-queue_$n)"; done`,
      );
      assert.match(workers, /app-queue:app-queue_00\s+RUNNING/);
      assert.match(workers, /app-queue:app-queue_01\s+RUNNING/);
      assert.deepEqual(workers.trim().split('\n').slice(-2).map((l) => l.trim()), ['queueuser', 'queueuser']);
      const sched = await onHost(lab, h.name, 'systemctl show -p Slice -p ActiveState -p User app-scheduler.service; systemctl show -p CPUQuotaPerSecUSec -p MemoryMax -p IOWeight workers.slice');
      assert.match(sched, /^Slice=workers\.slice$/m);
      assert.match(sched, /^ActiveState=active$/m);
      assert.match(sched, /^User=queueuser$/m);
      assert.match(sched, /^CPUQuotaPerSecUSec=600ms$/m);
      assert.match(sched, /^MemoryMax=1073741824$/m);
      const www = await onHost(lab, h.name, 'ls /etc/php/8.2/fpm/pool.d/; grep -c "^process_control_timeout = 10s" /etc/php/8.2/fpm/php-fpm.conf');
      assert.equal(www, 'api.conf\nweb_public.conf\nweb_session.conf\n1\n', 'Debian\'s default www pool is removed and the timeout set');
    }
  });

  it('a second apply reports zero changes and runs no handler', async () => {
    const pids = await Promise.all(names.map(fpmMasterPid));
    const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', names.join(':'), '--yes', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = results(r.stdout);
    assert.equal(out.ok.length, 3);
    for (const a of out.ok) {
      assert.deepEqual(a.changes, [], `${a.host}: ${JSON.stringify(a.changes)}`);
      assert.deepEqual(a.handlers, []);
    }
    assert.deepEqual(await Promise.all(names.map(fpmMasterPid)), pids, 'php-fpm was not reloaded or restarted');
    const plan = await runCli(['plan', site, '-i', lab.inventoryFile, '--limit', names.join(':'), '--detailed-exitcode']);
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /3 hosts: 0 to change, 3 unchanged, 0 failed/);
  });

  it('a hand edit on one host shows up in lanes plan as a diff on that host only (exit 2)', async () => {
    const [, edited] = names as [string, string, string];
    await onHost(lab, edited, "sed -i 's/^pm.max_children = 8$/pm.max_children = 99/' /etc/php/8.2/fpm/pool.d/web_public.conf");
    const r = await runCli(['plan', site, '-i', lab.inventoryFile, '--limit', names.join(':'), '--detailed-exitcode', '--json']);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    const plan = results(r.stdout);
    assert.equal(plan.ok.length, 3);
    for (const h of plan.ok) {
      if (h.host === edited) {
        assert.equal(h.changes.length, 1);
        assert.equal(h.changes[0]!.resource, 'fpm_pool[web_public]');
        assert.match(h.changes[0]!.diff ?? '', /^-pm\.max_children = 99$/m);
        assert.match(h.changes[0]!.diff ?? '', /^\+pm\.max_children = 8$/m);
      } else assert.deepEqual(h.changes, [], h.host);
    }
    const text = await runCli(['plan', site, '-i', lab.inventoryFile, '--limit', names.join(':')]);
    assert.match(text.stdout, new RegExp(`^${edited}: 1 change$`, 'm'));
    assert.match(text.stdout, /pm\.max_children: 99 → 8/);
  });

  it('a worker stopped by hand is read over Supervisor\'s socket as supervisorctl shows it, planned as a start and started by apply, without touching files', async () => {
    const host = names[2]!;
    await onHost(lab, host, "supervisorctl stop 'app-queue:app-queue_01'");
    // lanes reads Supervisor over its XML-RPC socket (single spaces: not supervisorctl's columns), and
    // reads exactly what supervisorctl status shows.
    const direct = await onHost(lab, host, SUPERVISOR_STATUS_COMMAND);
    assert.match(direct, /^app-queue:app-queue_01 STOPPED /m);
    const ctl = await onHost(lab, host, 'supervisorctl status; echo "rc $?"');
    assert.match(ctl, /^app-queue:app-queue_01 +STOPPED +/m);
    assert.deepEqual(parseSupervisorStatus(direct), parseSupervisorStatus(ctl));
    const plan = await runCli(['plan', site, '-i', lab.inventoryFile, '--limit', host, '--detailed-exitcode']);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    assert.match(plan.stdout, /supervisor_program\[app-queue\]\s+program app-queue: STOPPED → RUNNING/);
    assert.match(plan.stdout, /supervisorctl start app-queue:\*/);
    const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', host, '--yes']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const status = await onHost(lab, host, "for i in $(seq 50); do supervisorctl status 'app-queue:*' | grep -q STARTING || break; sleep 0.2; done; supervisorctl status 'app-queue:*'");
    assert.match(status, /app-queue_01\s+RUNNING/);
  });

  it('on a terminal, apply shows the plan and asks; "n" applies nothing', async () => {
    const host = names[2]!;
    await onHost(lab, host, "sed -i 's/^pm.max_children = 8$/pm.max_children = 77/' /etc/php/8.2/fpm/pool.d/api.conf");
    try {
      // script(1) gives the CLI a real pseudo-terminal, as a person at a shell has.
      const cmd = [process.execPath, cliPath, 'apply', site, '-i', lab.inventoryFile, '--limit', host].map((a) => `'${a}'`).join(' ');
      const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
        const child = spawn('script', ['-qefc', cmd, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' } });
        let text = '';
        let answered = false;
        child.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          if (!answered && /\[y\/N\]/.test(text)) {
            answered = true;
            child.stdin.write('n\n');
          }
        });
        child.on('close', (code) => resolve({ code, text }));
      });
      assert.match(out.text, /pm\.max_children: 77 → 8/);
      assert.match(out.text, /apply \d+ changes? to 1 host\? \[y\/N\]/);
      assert.match(out.text, /not applied/);
      assert.equal(out.code, 1);
      assert.match(await onHost(lab, host, 'grep ^pm.max_children /etc/php/8.2/fpm/pool.d/api.conf'), /= 77$/m, 'nothing was applied');
    } finally {
      const fix = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', host, '--yes']);
      assert.equal(fix.code, 0, fix.stdout + fix.stderr);
    }
  });

  it('a saved plan is applied only where the host still matches it', async () => {
    const [, edited] = names as [string, string, string];
    const planFile = path.join(tmp, 'reviewed.plan.json');
    const p = await runCli(['plan', site, '-i', lab.inventoryFile, '--limit', names.join(':'), '--out', planFile]);
    assert.equal(p.code, 0, p.stderr);
    // Someone edits the host after the review: the reviewed plan no longer describes it.
    await onHost(lab, edited, "sed -i 's/^pm.max_children = 99$/pm.max_children = 98/' /etc/php/8.2/fpm/pool.d/web_public.conf");
    const refused = await runCli(['apply', planFile, '--json']);
    assert.equal(refused.code, 1);
    const out = results(refused.stdout);
    assert.deepEqual(out.failed.map((f) => f.host), [edited]);
    assert.match(out.failed[0]!.message, /changed since the plan was made/);
    assert.match(await onHost(lab, edited, 'grep ^pm.max_children /etc/php/8.2/fpm/pool.d/web_public.conf'), /= 98/, 'the drifted host was not touched');
    // A fresh plan, applied as saved, converges it.
    const again = await runCli(['plan', site, '-i', lab.inventoryFile, '--limit', edited, '--out', planFile]);
    assert.equal(again.code, 0, again.stderr);
    const ok = await runCli(['apply', planFile]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(await onHost(lab, edited, 'grep ^pm.max_children /etc/php/8.2/fpm/pool.d/web_public.conf'), /= 8$/m);
  });

  it('an invalid pool setting is refused by php-fpm -t, the old files are restored and FPM keeps serving', async () => {
    const host = names[0]!;
    // A pool user that does not exist passes lanes' own checks, but php-fpm -t refuses it. The copy sits
    // beside site.yml because template paths are relative to the playbook.
    const bad = path.join(repoRoot, 'playbooks', `.e2e-bad-pool-${process.pid}.yml`);
    writeFileSync(bad, readFileSync(site, 'utf8').replace(/( {6}api:\n {8}user: )www-data/, '$1no-such-user'));
    try {
      assert.ok(readFileSync(bad, 'utf8').includes('user: no-such-user'));
      const pid = await fpmMasterPid(host);
      const before = await onHost(lab, host, 'sha256sum /etc/php/8.2/fpm/pool.d/api.conf');
      const res = await runCli(['apply', bad, '-i', lab.inventoryFile, '--limit', host, '--yes']);
      assert.equal(res.code, 1, res.stdout + res.stderr);
      assert.match(res.stdout + res.stderr, /validation failed \(\/usr\/sbin\/php-fpm8\.2 -t\).*no-such-user.*previous files restored, nothing reloaded/s);
      assert.equal(await onHost(lab, host, 'sha256sum /etc/php/8.2/fpm/pool.d/api.conf'), before, 'api.conf is the old file again');
      assert.equal(await fpmMasterPid(host), pid, 'php-fpm was not reloaded');
      assert.equal(await pingPool(host, 'api'), 'pong', 'the api pool still answers');
    } finally {
      rmSync(bad, { force: true });
    }
  });

  it('a reload that FPM cannot survive (a socket that cannot bind) is told as a sentence, the files are restored and FPM serves again', async () => {
    const host = names[0]!;
    // php-fpm -t cannot see that a socket directory is missing; the reload then kills the master. The
    // FPM handler (the one FPM routine releases use too) must notice, and apply must restore and recover.
    const bad = path.join(repoRoot, 'playbooks', `.e2e-bad-socket-${process.pid}.yml`);
    writeFileSync(bad, readFileSync(site, 'utf8').replace('path: /run/php/php-fpm-api.sock', 'path: /run/php-missing-dir/php-fpm-api.sock'));
    try {
      assert.ok(readFileSync(bad, 'utf8').includes('php-missing-dir'));
      const before = await onHost(lab, host, 'sha256sum /etc/php/8.2/fpm/pool.d/api.conf');
      const res = await runCli(['apply', bad, '-i', lab.inventoryFile, '--limit', host, '--yes']);
      const out = res.stdout + res.stderr;
      assert.equal(res.code, 1, out);
      assert.match(out, /graceful reload of php8\.2-fpm\.service.* failed: .*; previous files restored and services reloaded on them/);
      assert.doesNotMatch(out, /@@[0-9a-f]{12}/, 'no frame line reaches the user');
      assert.equal(await onHost(lab, host, 'sha256sum /etc/php/8.2/fpm/pool.d/api.conf'), before, 'api.conf is the old file again');
      assert.equal(await pingPool(host, 'api'), 'pong', 'FPM serves the api pool again');
      const again = await runCli(['plan', site, '-i', lab.inventoryFile, '--limit', host, '--detailed-exitcode']);
      assert.equal(again.code, 0, again.stdout + again.stderr);
    } finally {
      rmSync(bad, { force: true });
    }
  });
});

describe('plan and apply on the command line', () => {
  it('apply refuses to run unconfirmed when standard input is not a terminal', async () => {
    const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', names[0]!]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to apply without confirmation.*--yes/);
  });

  it('lanes schema prints a JSON Schema that knows every section', async () => {
    const r = await runCli(['schema']);
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    const text = JSON.stringify(schema);
    for (const key of ['fpm', 'supervisor', 'systemd', 'users', 'templates', 'remove_pools', 'max_children', 'stopwaitsecs', 'CPUQuota']) {
      assert.ok(text.includes(`"${key}"`), key);
    }
  });
});

describe('bad playbooks are refused before any connection', () => {
  it('names file:line:column and the rule for an impossible pool setting', async () => {
    const bad = path.join(tmp, 'impossible.yml');
    writeFileSync(
      bad,
      [
        '- hosts: app',
        '  fpm:',
        '    pools:',
        '      web:',
        '        user: www-data',
        '        listen: /run/php/web.sock',
        '        pm:',
        '          mode: dynamic',
        '          max_children: 4',
        '          start_servers: 16',
        '          min_spare_servers: 1',
        '          max_spare_servers: 3',
        '',
      ].join('\n'),
    );
    const r = await runCli(['plan', bad, '-i', lab.inventoryFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:10:\\d+: .*start_servers`));
    assert.doesNotMatch(r.stderr, /connect/);
  });
});
