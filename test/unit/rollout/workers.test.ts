// The drain and undrain scripts run by a real sh against real processes, with supervisorctl and
// systemctl stubbed by a tiny process manager (it starts commands in a directory, stops them with
// TERM then KILL): group vs. lone program addressing, proof that workers are down, workers that will
// not stop or leave children behind, workers that fail to start, and the check that every worker
// runs the release `current` points to — by cwd or by a path on its command line — and started
// after the switch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { FramedScript } from '../../../agent/remote/sh.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { drainScript, parseWorkers, undrainScript, workersFailureMessage, type WorkersResult } from '../../../agent/rollout/workers.js';

const ALIVE = 'alive() { s=$(cat /proc/$1/stat 2>/dev/null) || return 1; s=${s##*) }; case $s in Z*|X*) return 1 ;; esac; }';

const SUPERVISORCTL = `
echo "supervisorctl $*" >> "$S/calls"
SV=$S/sv
key() { echo "$1" | tr ':' '_'; }
${ALIVE}
up() { p=$(cat "$SV/$(key "$1").pid" 2>/dev/null) && [ -n "$p" ] && alive "$p"; }
line() {
  if up "$1"; then printf '%-32s RUNNING   pid %s, uptime 0:00:01\\n' "$1" "$(cat "$SV/$(key "$1").pid")"
  elif [ -f "$SV/$(key "$1").state" ]; then printf '%-32s %s\\n' "$1" "$(cat "$SV/$(key "$1").state")"
  else printf '%-32s STOPPED   Nov 23 01:57 PM\\n' "$1"; fi
}
members() {
  while read -r n; do
    case $1 in
      *:\\*) [ "\${n%%:*}" = "\${1%:\\*}" ] && [ "$n" != "\${n%%:*}" ] && echo "$n" ;;
      *) [ "$n" = "$1" ] && echo "$n" ;;
    esac
  done < "$SV/list"
}
case $1 in
  status) rc=0; while read -r n; do line "$n"; up "$n" || rc=3; done < "$SV/list"; exit $rc ;;
  stop)
    m=$(members "$2"); [ -n "$m" ] || { echo "$2: ERROR (no such process)"; exit 1; }
    for n in $m; do
      if up "$n"; then
        p=$(cat "$SV/$(key "$n").pid"); kill -TERM "$p"
        i=0; while alive "$p" && [ $i -lt 10 ]; do sleep 0.05; i=$((i + 1)); done
        if alive "$p" && [ ! -f "$SV/nokill" ]; then kill -KILL "$p"; sleep 0.05; fi
        alive "$p" && echo "$n: ERROR (abnormal termination)" || echo "$n: stopped"
      else echo "$n: ERROR (not running)"; fi
    done ;;
  start)
    m=$(members "$2"); [ -n "$m" ] || { echo "$2: ERROR (no such process)"; exit 1; }
    for n in $m; do
      if up "$n"; then echo "$n: ERROR (already started)"; continue; fi
      prog=\${n%%:*}
      (cd "$(cat "$SV/dir.$prog")" && exec sh -c "$(cat "$SV/cmd.$prog")") </dev/null >/dev/null 2>&1 &
      echo $! > "$SV/$(key "$n").pid"
      echo $! >> "$S/all-pids"
      sleep 0.2
      if up "$n"; then rm -f "$SV/$(key "$n").state"; echo "$n: started"
      else echo "FATAL     Exited too quickly (process log may have details)" > "$SV/$(key "$n").state"; echo "$n: ERROR (spawn error)"; fi
    done ;;
  tail) echo "PHP Fatal error: Uncaught Error: boom in /app/worker.php:3" ;;
esac
`;

const SYSTEMCTL = `
echo "systemctl $*" >> "$S/calls"
U=$S/units
${ALIVE}
pid() { p=$(cat "$U/pid.$1" 2>/dev/null) && [ -n "$p" ] && alive "$p" && echo "$p"; }
case $1 in
  show)
    case $3 in
      LoadState) [ -f "$U/cmd.$5" ] && echo loaded || echo not-found ;;
      ControlGroup) echo ;;
      MainPID) pid "$5" || echo 0 ;;
      TimeoutStopUSec) echo "1min 30s" ;;
    esac ;;
  is-active) if pid "$2" >/dev/null; then echo active; elif [ -f "$U/stopped.$2" ]; then echo inactive; exit 3; else echo failed; exit 3; fi ;;
  stop) p=$(pid "$2") && { kill -TERM "$p"; i=0; while alive "$p" && [ $i -lt 20 ]; do sleep 0.05; i=$((i + 1)); done; }; touch "$U/stopped.$2" ;;
  start)
    pid "$2" >/dev/null && exit 0
    rm -f "$U/stopped.$2"
    (cd "$(cat "$U/dir.$2")" && exec sh -c "$(cat "$U/cmd.$2")") </dev/null >/dev/null 2>&1 &
    echo $! > "$U/pid.$2"; echo $! >> "$S/all-pids" ;;
  status) echo "● $2.service - fake"; echo "$2[1234]: PHP Fatal error: boom" ;;
esac
`;

const roots: string[] = [];
after(() => {
  for (const S of roots) {
    const pids = existsSync(path.join(S, 'all-pids')) ? readFileSync(path.join(S, 'all-pids'), 'utf8').split('\n').filter(Boolean).map(Number) : [];
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(S, { recursive: true, force: true });
  }
});

/**
 * A host with an application root (releases r1, r2; `current` → r1), Supervisor programs
 * app-queue (a group of 2) and mailer (lone), and a systemd unit scheduler that runs from / with a
 * path under `current` on its command line.
 */
function fakeHost() {
  const S = mkdtempSync(path.join(os.tmpdir(), 'lanes-workers-'));
  roots.push(S);
  const app = path.join(S, 'app');
  for (const r of ['r1', 'r2']) {
    mkdirSync(path.join(app, 'releases', r), { recursive: true });
    writeFileSync(path.join(app, 'releases', r, 'heartbeat.log'), '');
  }
  symlinkSync('releases/r1', path.join(app, 'current'));
  const bin = path.join(S, 'bin');
  const sv = path.join(S, 'sv');
  const units = path.join(S, 'units');
  for (const d of [bin, sv, units]) mkdirSync(d);
  writeFileSync(path.join(bin, 'supervisorctl'), `#!/bin/sh\nS=${S}\n${SUPERVISORCTL}`, { mode: 0o755 });
  writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\nS=${S}\n${SYSTEMCTL}`, { mode: 0o755 });
  writeFileSync(path.join(sv, 'list'), 'app-queue:app-queue_00\napp-queue:app-queue_01\nmailer\n');
  const program = (name: string, cmd: string, dir = path.join(app, 'current')) => {
    writeFileSync(path.join(sv, `cmd.${name}`), cmd);
    writeFileSync(path.join(sv, `dir.${name}`), dir);
  };
  program('app-queue', 'exec sleep 1000');
  program('mailer', 'exec sleep 1001');
  writeFileSync(path.join(units, 'cmd.scheduler'), `exec tail -f ${path.join(app, 'current', 'heartbeat.log')}`);
  writeFileSync(path.join(units, 'dir.scheduler'), '/');
  const conf = path.join(S, 'supervisor.conf');
  writeFileSync(conf, '[program:app-queue]\ncommand=/usr/bin/php worker.php\nnumprocs=2\nstopwaitsecs = 600 ; long jobs\nstartsecs=3\n\n[program:mailer]\ncommand=x\n');
  const spec = { path: app, workers: { supervisor: ['app-queue', 'mailer'], systemd: ['scheduler'] } };
  const exec = (script: FramedScript) => {
    const r = spawnSync('/bin/sh', ['-s'], { input: script.text, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, LANES_SV_CONFS: conf } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, result: parseWorkers(r.stdout, script.nonce) };
  };
  const pidOf = (name: string) => Number(readFileSync(path.join(sv, `${name.replace(/:/g, '_')}.pid`), 'utf8'));
  return {
    S,
    app,
    sv,
    spec,
    program,
    pidOf,
    unitPid: () => Number(readFileSync(path.join(units, 'pid.scheduler'), 'utf8')),
    /** Start every worker now (as the host had them before a release). */
    startAll() {
      spawnSync('sh', ['-c', 'supervisorctl start "app-queue:*"; supervisorctl start mailer; systemctl start scheduler'], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    },
    /** Switch `current` atomically, as a release does. */
    switchTo(release: string) {
      const tmp = path.join(app, '.current.tmp');
      symlinkSync(`releases/${release}`, tmp);
      renameSync(tmp, path.join(app, 'current'));
    },
    drain: () => exec(drainScript(spec)),
    undrain: (release: string, switchedAt: number, withPath = true) =>
      exec(undrainScript(withPath ? spec : { workers: spec.workers }, { releaseDir: path.join(app, 'releases', release), switchedAt, startTimeoutMs: 3000 })),
    calls: () => readFileSync(path.join(S, 'calls'), 'utf8').split('\n').filter(Boolean),
  };
}

const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};

const states = (r: WorkersResult) => r.workers.map((w) => `${w.name} ${w.state}`);

describe('drain script', () => {
  it('stops a group by name:*, a lone program by its name, a systemd unit, and proves them down', () => {
    const h = fakeHost();
    h.startAll();
    const pids = [h.pidOf('app-queue:app-queue_00'), h.pidOf('app-queue:app-queue_01'), h.pidOf('mailer'), h.unitPid()];
    assert.ok(pids.every(alive));
    const r = h.drain();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.result.ok, true);
    assert.deepEqual(states(r.result), ['app-queue drained', 'mailer drained', 'scheduler drained']);
    assert.ok(r.result.workers.every((w) => typeof w.ms === 'number' && w.ms >= 0));
    assert.deepEqual(pids.filter(alive), []);
    const calls = h.calls().filter((c) => / stop /.test(c));
    assert.deepEqual(calls, ['supervisorctl stop app-queue:*', 'supervisorctl stop mailer', 'systemctl stop scheduler']);
  });

  it('is a no-op success for workers that are already stopped', () => {
    const h = fakeHost();
    const r = h.drain();
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(states(r.result), ['app-queue drained', 'mailer drained', 'scheduler drained']);
  });

  it('fails naming the process and its stopwaitsecs when a worker does not stop', () => {
    const h = fakeHost();
    h.program('app-queue', `trap '' TERM; exec sleep 1000`);
    h.startAll();
    writeFileSync(path.join(h.sv, 'nokill'), '');
    const stubborn = [h.pidOf('app-queue:app-queue_00'), h.pidOf('app-queue:app-queue_01')];
    const r = h.drain();
    assert.equal(r.code, 1);
    assert.equal(r.result.ok, false);
    assert.deepEqual(states(r.result), ['app-queue fail', 'mailer drained', 'scheduler drained'], 'the others are still drained');
    assert.equal(
      r.result.workers[0]!.detail,
      `app-queue:app-queue_00 did not stop within stopwaitsecs=600: it is RUNNING (pid ${stubborn[0]}); ` +
        `app-queue:app-queue_01 did not stop within stopwaitsecs=600: it is RUNNING (pid ${stubborn[1]}); ` +
        `app-queue:app-queue_00 did not stop within stopwaitsecs=600: pid ${stubborn[0]} (sleep 1000) still running; ` +
        `app-queue:app-queue_01 did not stop within stopwaitsecs=600: pid ${stubborn[1]} (sleep 1000) still running ` +
        `(supervisorctl stop said: app-queue:app-queue_00: ERROR (abnormal termination) app-queue:app-queue_01: ERROR (abnormal termination))`,
    );
    assert.match(workersFailureMessage(r.result), /^app-queue:app-queue_00 did not stop within stopwaitsecs=600/);
  });

  it('fails when a stopped worker leaves a child process running', () => {
    const h = fakeHost();
    h.program('mailer', 'sleep 1002 & exec sleep 1001');
    h.startAll();
    const r = h.drain();
    assert.equal(r.code, 1);
    const mailer = r.result.workers.find((w) => w.name === 'mailer')!;
    const child = /pid (\d+)/.exec(mailer.detail ?? '')?.[1];
    if (child) writeFileSync(path.join(h.S, 'all-pids'), `${child}\n`, { flag: 'a' }); // cleaned up after
    assert.equal(mailer.state, 'fail');
    assert.match(mailer.detail!, /^mailer did not stop within stopwaitsecs=10: pid \d+ \(sleep 1002\) still running \(supervisorctl stop said: mailer: stopped\)$/);
  });

  it('fails for a program or unit that does not exist', () => {
    const h = fakeHost();
    const script = drainScript({ workers: { supervisor: ['app-queu'], systemd: ['nope'] } });
    const r = spawnSync('/bin/sh', ['-s'], {
      input: script.text,
      encoding: 'utf8',
      env: { PATH: `${path.join(h.S, 'bin')}:/usr/bin:/bin` },
    });
    const res = parseWorkers(r.stdout, script.nonce);
    assert.equal(r.status, 1);
    assert.equal(workersFailureMessage(res), 'app-queu: no Supervisor program or group of that name; nope: no systemd unit of that name (LoadState not-found)');
  });
});

describe('undrain script', () => {
  it('starts the workers after a switch and proves each runs the new release (cwd or command line)', () => {
    const h = fakeHost();
    h.startAll();
    assert.equal(h.drain().code, 0);
    h.switchTo('r2');
    const switchedAt = Date.now();
    const r = h.undrain('r2', switchedAt);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.result.ok, true);
    const r2 = realpathSync(path.join(h.app, 'releases', 'r2'));
    assert.deepEqual(
      r.result.workers.map((w) => [w.name, w.state, w.pid, w.cwd]),
      [
        ['app-queue:app-queue_00', 'running', h.pidOf('app-queue:app-queue_00'), r2],
        ['app-queue:app-queue_01', 'running', h.pidOf('app-queue:app-queue_01'), r2],
        ['mailer', 'running', h.pidOf('mailer'), r2],
        // runs from / but its command line names a file of the release
        ['scheduler', 'running', h.unitPid(), '/'],
      ],
    );
    assert.ok(h.calls().includes('supervisorctl start app-queue:*'));
    assert.ok(h.calls().includes('supervisorctl start mailer'));
  });

  it('reports workers that were not restarted after the switch as stale, with when they started', () => {
    const h = fakeHost();
    h.startAll();
    spawnSync('sleep', ['0.3']);
    h.switchTo('r2');
    // The switch time comes from the `current` symlink on the host, even when the caller's clock is off.
    const r = h.undrain('r2', Date.now() - 3_600_000);
    assert.equal(r.code, 1);
    assert.deepEqual(states(r.result), ['app-queue:app-queue_00 stale', 'app-queue:app-queue_01 stale', 'mailer stale', 'scheduler stale']);
    const r1 = realpathSync(path.join(h.app, 'releases', 'r1'));
    const r2 = realpathSync(path.join(h.app, 'releases', 'r2'));
    assert.match(
      r.result.workers[0]!.detail!,
      new RegExp(`^app-queue:app-queue_00 \\(pid ${h.pidOf('app-queue:app-queue_00')}\\) started at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ, \\d+(\\.\\d)?s?m?s? before the switch to ${r2}: it runs stale code from ${r1}$`),
    );
    assert.match(workersFailureMessage(r.result), /^stale worker: app-queue:app-queue_00 \(pid \d+\) started at/);
  });

  it('uses the given switch time when it has no application path', () => {
    const h = fakeHost();
    h.startAll();
    spawnSync('sleep', ['0.3']); // start times are good to ~10 ms
    h.switchTo('r2');
    const r = h.undrain('r2', Date.now(), false);
    assert.equal(r.code, 1);
    assert.deepEqual(states(r.result), ['app-queue:app-queue_00 stale', 'app-queue:app-queue_01 stale', 'mailer stale', 'scheduler stale'], r.stdout);
  });

  it('reports a worker that started after the switch but runs somewhere else', () => {
    const h = fakeHost();
    h.program('mailer', 'exec sleep 1001', '/');
    h.switchTo('r2');
    const r = h.undrain('r2', 0);
    assert.equal(r.code, 1);
    const mailer = r.result.workers.find((w) => w.name === 'mailer')!;
    assert.equal(mailer.state, 'stale');
    assert.equal(mailer.detail, `mailer (pid ${h.pidOf('mailer')}) runs in /, not in ${realpathSync(path.join(h.app, 'releases', 'r2'))} (sleep 1001)`);
  });

  it('fails when a program does not reach RUNNING, with the state and its log', () => {
    const h = fakeHost();
    h.program('app-queue', 'exit 1');
    const r = h.undrain('r1', 0);
    assert.equal(r.code, 1);
    const q = r.result.workers.find((w) => w.name === 'app-queue')!;
    assert.equal(q.state, 'fail');
    assert.equal(
      q.detail,
      'app-queue:app-queue_00 is FATAL; app-queue:app-queue_01 is FATAL after supervisorctl start (startsecs=3): app-queue:app-queue_00: ERROR (spawn error) app-queue:app-queue_01: ERROR (spawn error) | log: PHP Fatal error: Uncaught Error: boom in /app/worker.php:3',
    );
  });

  it('fails when a systemd unit does not stay running', () => {
    const h = fakeHost();
    writeFileSync(path.join(h.S, 'units', 'cmd.scheduler'), 'sleep 0.3; exit 1');
    const r = h.undrain('r1', 0);
    assert.equal(r.code, 1);
    const s = r.result.workers.find((w) => w.name === 'scheduler')!;
    assert.equal(s.state, 'fail');
    assert.match(s.detail!, /^scheduler did not stay running after systemctl start: it is failed: .*PHP Fatal error: boom$/);
  });

  it('fails at once when the release directory does not exist', () => {
    const h = fakeHost();
    const r = h.undrain('r9', 0);
    assert.equal(r.code, 1);
    assert.equal(workersFailureMessage(r.result), `release directory ${path.join(h.app, 'releases', 'r9')} does not exist`);
    assert.equal(existsSync(path.join(h.S, 'calls')), false, 'nothing was started');
  });
});

describe('parseWorkers', () => {
  const b = (s: string) => Buffer.from(s).toString('base64');
  const N = 'abcdef012345';
  it('reads was, drained, running (cwd with spaces), stale and fail frames of this nonce only', () => {
    const out = [
      `@@${N} was app-queue running`,
      `@@${N} was mailer stopped`,
      `@@${N} worker app-queue drained 412`,
      `@@${N} worker app-queue:app-queue_00 running 1234 ${b('/var/www/my app/releases/r2')}`,
      `@@${N} worker app-scheduler stale ${b('app-scheduler (pid 9) started … before the switch')}`,
      `@@${N} worker mailer fail ${b('mailer did not stop')}`,
      '@@worker forged running 1 -',
      `@@${N} workers fail`,
    ].join('\n');
    const r = parseWorkers(out, N);
    assert.deepEqual(r.workers, [
      { name: 'app-queue', state: 'drained', ms: 412 },
      { name: 'app-queue:app-queue_00', state: 'running', pid: 1234, cwd: '/var/www/my app/releases/r2' },
      { name: 'app-scheduler', state: 'stale', detail: 'app-scheduler (pid 9) started … before the switch' },
      { name: 'mailer', state: 'fail', detail: 'mailer did not stop' },
    ]);
    assert.deepEqual(r.wasRunning, ['app-queue']);
    assert.equal(r.ok, false);
    assert.equal(r.message, 'stale worker: app-scheduler (pid 9) started … before the switch; mailer did not stop');
  });

  it('is ok only with the final verdict', () => {
    assert.equal(parseWorkers(`@@${N} worker a drained 1\n@@${N} workers ok\n`, N).ok, true);
    assert.equal(parseWorkers(`@@${N} worker a drained 1\n`, N).ok, false);
    assert.equal(parseWorkers('', N).message, 'the worker script stopped before saying what happened');
    assert.equal(parseWorkers(`@@${N} workers ok\n`, N).message, 'all workers ok');
  });
});
