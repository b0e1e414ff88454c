// The FPM reload script run by a real sh against a fake FPM master (bash that re-executes itself on
// SIGUSR2 after its children finish, like php-fpm), with systemctl and php-fpm stubbed: the config
// test gates the reload, the script waits for the real reload (old children gone, master re-executed),
// fails on a dead master or a reload that does not finish, starts a stopped FPM, serialises reloads
// with a lock. Then the OPcache reset script against a stub pool, and the pure helpers.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { frameShell, parseFrames } from '../../../agent/remote/frame.js';
import { fpmReloadCall, fpmReloadShell, parseFpmReload } from '../../../agent/remote/fpm-reload.js';
import { fcgiShell, SHELL_HELPERS, type FramedScript } from '../../../agent/remote/sh.js';
import {
  EXIT_FPM_RELOAD_FAILED,
  EXIT_FPM_TEST_FAILED,
  fpmReloadScript,
  fpmTestErrors,
  opcacheFailureMessage,
  opcacheResetScript,
  parseOpcache,
  parseReload,
  processControlTimeoutOk,
  reloadFailureMessage,
} from '../../../agent/rollout/reload.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups.reverse()) c();
});

const FAKE_MASTER = `#!/bin/bash
# A fake php-fpm master: 3 children; on SIGUSR2 the idle ones exit at once, the busy one after
# $S/busy seconds, then the master re-executes itself under the same PID ($S/die: it exits instead).
# A SIGUSR2 during start-up is kept for later (the trap is the first thing set), and $S/ready names
# the start it has finished: the fake systemctl reloads only a ready master, as systemd does with
# php-fpm's Type=notify (a loaded CI machine once signalled the new image before its trap was set).
S=$1
trap 'early=1' USR2
echo $$ > "$S/mainpid"
echo $(( $(cat "$S/execs" 2>/dev/null || echo 0) + 1 )) > "$S/execs"
kids=()
for i in 1 2 3; do sleep 1000 & kids+=($!); done
printf '%s\\n' "\${kids[@]}" > "$S/kids"
printf '%s\\n' "\${kids[@]}" >> "$S/kids.all"
reload() {
  [ -f "$S/die" ] && exit 1
  kill "\${kids[@]:1}"
  sleep "$(cat "$S/busy" 2>/dev/null || echo 0)"
  kill "\${kids[0]}"
  wait
  exec -a "php-fpm: master process (fake)" /bin/bash "$0" "$S"
}
trap reload USR2
cat "$S/execs" > "$S/ready"
[ -n "$early" ] && reload
while :; do sleep 0.05 & wait $!; done
`;

function fakeFpm() {
  const S = mkdtempSync(path.join(os.tmpdir(), 'lanes-reload-'));
  const bin = path.join(S, 'bin');
  mkdirSync(bin);
  const master = path.join(S, 'fake-master.sh');
  writeFileSync(master, FAKE_MASTER, { mode: 0o755 });
  const launch = `bash -c 'exec -a "php-fpm: master process (fake)" bash "$0" "$1"' ${master} "$S" </dev/null >/dev/null 2>&1 &`;
  writeFileSync(
    path.join(bin, 'systemctl'),
    [
      '#!/bin/sh',
      `S=${S}`,
      'echo "systemctl $*" >> "$S/calls"',
      'alive() { [ -f "$S/mainpid" ] && kill -0 "$(cat "$S/mainpid")" 2>/dev/null; }',
      'case "$1" in',
      '  is-active) if alive; then echo active; else echo failed; exit 3; fi ;;',
      '  show) if alive; then cat "$S/mainpid"; else echo 0; fi ;;',
      '  reload) i=0; while [ "$(cat "$S/ready" 2>/dev/null)" != "$(cat "$S/execs" 2>/dev/null)" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done',
      '          alive && kill -USR2 "$(cat "$S/mainpid")" ;;',
      `  start) rm -f "$S/mainpid"; ${launch} i=0; while [ ! -s "$S/mainpid" ] && [ $i -lt 50 ]; do sleep 0.05; i=$((i+1)); done ;;`,
      '  status) echo "● php8.2-fpm.service - fake"; echo "     Active: failed" ;;',
      'esac',
      'exit 0',
    ].join('\n'),
    { mode: 0o755 },
  );
  writeFileSync(
    path.join(bin, 'php-fpm8.2'),
    [
      '#!/bin/sh',
      `S=${S}`,
      'echo "php-fpm8.2 $*" >> "$S/calls"',
      'if [ -f "$S/conf-broken" ]; then',
      `  echo "[23-Nov-2026 13:47:38] ERROR: [/etc/php/8.2/fpm/pool.d/api.conf:12] unknown entry 'pm.max_childs'" >&2`,
      `  echo "[23-Nov-2026 13:47:38] ERROR: failed to load configuration file '/etc/php/8.2/fpm/php-fpm.conf'" >&2`,
      '  echo "[23-Nov-2026 13:47:38] ERROR: FPM initialization failed" >&2',
      '  exit 78',
      'fi',
      'echo "[23-Nov-2026 13:47:38] NOTICE: configuration file /etc/php/8.2/fpm/php-fpm.conf test is successful" >&2',
    ].join('\n'),
    { mode: 0o755 },
  );
  const mainPid = () => (existsSync(path.join(S, 'mainpid')) ? Number(readFileSync(path.join(S, 'mainpid'), 'utf8')) : 0);
  /** The fake master and every child it ever had (an exiting master orphans its children). */
  const kill = () => {
    const all = existsSync(path.join(S, 'kids.all')) ? readFileSync(path.join(S, 'kids.all'), 'utf8').split('\n').filter(Boolean).map(Number) : [];
    const pid = mainPid();
    for (const p of [...all, ...(pid ? [pid] : [])]) {
      try {
        if (p === pid || readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep')) process.kill(p);
      } catch {
        /* already gone */
      }
    }
  };
  cleanups.push(() => {
    kill();
    rmSync(S, { recursive: true, force: true });
  });
  return {
    S,
    bin,
    mainPid,
    kids: () => readFileSync(path.join(S, 'kids'), 'utf8').split('\n').filter(Boolean).map(Number),
    execs: () => Number(readFileSync(path.join(S, 'execs'), 'utf8')),
    set: (name: string, value = '') => writeFileSync(path.join(S, name), value),
    calls: () => (existsSync(path.join(S, 'calls')) ? readFileSync(path.join(S, 'calls'), 'utf8').split('\n').filter(Boolean) : []),
    async start() {
      spawn('bash', ['-c', 'exec -a "php-fpm: master process (fake)" bash "$0" "$1"', master, S], { detached: true, stdio: 'ignore' }).unref();
      for (let i = 0; i < 100 && !(mainPid() && existsSync(path.join(S, 'kids'))); i++) await sleep(20);
      await sleep(100);
    },
  };
}
type Fpm = ReturnType<typeof fakeFpm>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function script(f: Fpm, over: { timeoutMs?: number; lockWaitMs?: number } = {}): FramedScript {
  return fpmReloadScript({ fpmUnit: 'php8.2-fpm.service', fpmBinary: path.join(f.bin, 'php-fpm8.2'), confFile: '/etc/php/8.2/fpm/php-fpm.conf', lockFile: path.join(f.S, 'reload.lock'), ...over });
}

/** Run asynchronously, so that several can overlap. */
function run(f: Fpm, script: FramedScript): Promise<{ code: number | null; stdout: string; ms: number; nonce: string }> {
  const t = Date.now();
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-s'], { env: { PATH: `${f.bin}:/usr/bin:/bin` }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, ms: Date.now() - t, nonce: script.nonce }));
    child.stdin.end(script.text);
  });
}

describe('fpm reload script', () => {
  it('tests the configuration, reloads, and waits for the busy child and the re-exec', async () => {
    const f = fakeFpm();
    f.set('busy', '1');
    await f.start();
    const pid = f.mainPid();
    const oldKids = f.kids();
    const r = await run(f, script(f));
    assert.equal(r.code, 0, r.stdout);
    const res = parseReload(r.stdout, r.nonce);
    assert.equal(res.ok, true);
    assert.equal(res.outcome, 'reloaded');
    assert.equal(res.pid, pid, 'same master PID');
    assert.ok(res.ms! >= 900, `waited for the request in flight (${res.ms} ms)`);
    assert.equal(f.execs(), 2, 'the master re-executed once');
    assert.deepEqual(oldKids.filter(alive), [], 'every old child is gone');
    assert.ok(alive(pid));
    const calls = f.calls();
    assert.ok(calls.indexOf('php-fpm8.2 -t -y /etc/php/8.2/fpm/php-fpm.conf') < calls.indexOf('systemctl reload php8.2-fpm.service'));
  });

  it('is one routine another script can define and call: its exit stays inside, its outcome is a frame of that script', async () => {
    const f = fakeFpm();
    await f.start();
    const nonce = '00aa11bb22cc';
    // As apply's script would: its own frames and helpers, then the routine, then more work after it.
    const text = [
      'set -u',
      frameShell(nonce),
      SHELL_HELPERS,
      fcgiShell(),
      fpmReloadShell(),
      'LANES_W=$(mktemp -d)',
      `${fpmReloadCall({ fpmUnit: 'php8.2-fpm.service', fpmBinary: path.join(f.bin, 'php-fpm8.2'), confFile: '/etc/php/8.2/fpm/php-fpm.conf', lockFile: path.join(f.S, 'reload.lock') })}; lanes_say after "$?"`,
      `touch ${path.join(f.S, 'conf-broken')}`,
      `${fpmReloadCall({ fpmUnit: 'php8.2-fpm.service', fpmBinary: path.join(f.bin, 'php-fpm8.2'), confFile: '/etc/php/8.2/fpm/php-fpm.conf', lockFile: path.join(f.S, 'reload.lock') })}; lanes_say after "$?"`,
      'rm -rf "$LANES_W"',
    ].join('\n');
    const r = await run(f, { text, nonce });
    assert.equal(r.code, 0, r.stdout);
    const frames = parseFrames(r.stdout, nonce);
    assert.deepEqual(
      frames.map((x) => (x.kind === 'fpm' ? `fpm ${x.fields[0]}` : `${x.kind} ${x.fields.join(' ')}`)),
      ['fpm ok', 'after 0', 'fpm test-fail', `after ${EXIT_FPM_TEST_FAILED}`],
    );
    assert.equal(parseFpmReload(frames.slice(0, 1)).outcome, 'reloaded');
    // Every value quoted: a hostile unit name is one argument.
    const argv = spawnSync('/bin/sh', ['-c', `lanes_fpm_reload() { printf '%s\\n' "$@"; }; ${fpmReloadCall({ fpmUnit: "u'; rm -rf /", fpmBinary: 'b', confFile: 'c', action: 'restart', sockets: ['/run/a b.sock'] })}`], { encoding: 'utf8' }).stdout;
    assert.deepEqual(argv.split('\n').filter(Boolean), ['restart', "u'; rm -rf /", 'b', 'c', '60000', '/run/lanes-fpm-reload.lock', '120', '/run/a b.sock']);
  });

  it('reloads nothing when php-fpm -t fails, and says why', async () => {
    const f = fakeFpm();
    await f.start();
    const kids = f.kids();
    f.set('conf-broken');
    const r = await run(f, script(f));
    assert.equal(r.code, EXIT_FPM_TEST_FAILED);
    const res = parseReload(r.stdout, r.nonce);
    assert.equal(res.outcome, 'test-failed');
    assert.equal(
      reloadFailureMessage(res),
      "php-fpm -t refused the configuration, nothing was reloaded: ERROR: [/etc/php/8.2/fpm/pool.d/api.conf:12] unknown entry 'pm.max_childs'; ERROR: failed to load configuration file '/etc/php/8.2/fpm/php-fpm.conf'",
    );
    assert.equal(f.calls().some((c) => c.startsWith('systemctl reload')), false);
    assert.equal(f.execs(), 1);
    assert.deepEqual(kids.filter(alive), kids);
  });

  it('fails when the master dies on the reload', async () => {
    const f = fakeFpm();
    await f.start();
    f.set('die');
    const r = await run(f, script(f));
    assert.equal(r.code, EXIT_FPM_RELOAD_FAILED);
    const res = parseReload(r.stdout, r.nonce);
    assert.equal(res.outcome, 'failed');
    assert.match(reloadFailureMessage(res), /^FPM reload failed: php8\.2-fpm\.service is failed after the reload/);
  });

  it('fails when the old children do not finish in time', async () => {
    const f = fakeFpm();
    f.set('busy', '30');
    await f.start();
    const busyKid = f.kids()[0]!;
    const r = await run(f, script(f, { timeoutMs: 1000 }));
    assert.equal(r.code, EXIT_FPM_RELOAD_FAILED);
    // It gave up at its limit, not when the busy child finished (30 s: far beyond any slow machine).
    assert.ok(r.ms < 20_000, `${r.ms} ms`);
    assert.equal(reloadFailureMessage(parseReload(r.stdout, r.nonce)), `FPM reload failed: the reload did not finish within 1s: old children ${busyKid} are still running (requests in flight?)`);
  });

  it('starts FPM when it is not running', async () => {
    const f = fakeFpm();
    const r = await run(f, script(f));
    assert.equal(r.code, 0, r.stdout);
    const res = parseReload(r.stdout, r.nonce);
    assert.equal(res.outcome, 'started');
    assert.equal(res.pid, f.mainPid());
    assert.equal(res.detail, 'php8.2-fpm.service was failed: started it');
    assert.ok(f.calls().includes('systemctl start php8.2-fpm.service'));
  });

  it('runs one reload at a time: a second waits for the first, and gives up when the lock stays taken', async () => {
    const f = fakeFpm();
    f.set('busy', '1');
    await f.start();
    const [a, b] = await Promise.all([run(f, script(f)), run(f, script(f))]);
    assert.equal(a.code, 0, a.stdout);
    assert.equal(b.code, 0, b.stdout);
    assert.equal(f.execs(), 3, 'two reloads, one after the other');
    assert.ok(Math.max(a.ms, b.ms) >= 1900, `the second waited (${a.ms}, ${b.ms} ms)`);

    // The holder marks the moment it has the lock, so a loaded machine cannot start the third reload
    // before the lock is taken (a fixed 200 ms wait lost that race on CI once).
    const held = path.join(f.S, 'held');
    const holder = spawn('flock', [path.join(f.S, 'reload.lock'), 'sh', '-c', `: > '${held}'; sleep 60`], { detached: true, stdio: 'ignore' });
    cleanups.push(() => {
      try {
        process.kill(-holder.pid!);
      } catch {
        /* gone */
      }
    });
    for (let i = 0; i < 200 && !existsSync(held); i++) await sleep(50);
    assert.ok(existsSync(held), 'the holder took the lock within 10 s');
    const c = await run(f, script(f, { lockWaitMs: 1000 }));
    assert.equal(c.code, EXIT_FPM_RELOAD_FAILED);
    assert.equal(parseReload(c.stdout, c.nonce).detail, `another FPM reload still holds ${path.join(f.S, 'reload.lock')} after 1s`);
  });
});

describe('opcache reset script', () => {
  /** A pool that runs the PHP file it is asked for the way the mode file says: reset, refused, 404, nothing. */
  function fakePools() {
    const S = mkdtempSync(path.join(os.tmpdir(), 'lanes-opcache-'));
    const bin = path.join(S, 'bin');
    const run = path.join(S, 'run');
    mkdirSync(bin);
    mkdirSync(run);
    cleanups.push(() => rmSync(S, { recursive: true, force: true }));
    writeFileSync(
      path.join(bin, 'cgi-fcgi'),
      [
        '#!/bin/sh',
        `S=${S}`,
        'echo "$3 $SCRIPT_FILENAME $(stat -c %a "$SCRIPT_FILENAME")" >> "$S/calls"',
        'mode=$(cat "$S/mode.$(basename "$3")" 2>/dev/null || echo reset)',
        'n=$(basename "$SCRIPT_FILENAME" .php)',
        'grep -q "opcache_reset()" "$SCRIPT_FILENAME" || mode=404',
        'case $mode in',
        '  reset|disabled) printf "Content-type: text/plain\\r\\n\\r\\nlanes-opcache %s %s" "$n" "$mode" ;;',
        '  refused) printf "Content-type: text/plain\\r\\n\\r\\nlanes-opcache %s refused /var/www/admin" "$n" ;;',
        '  404) printf "Status: 404 Not Found\\r\\nContent-type: text/html\\r\\n\\r\\nFile not found.\\n" ;;',
        '  none) exit 111 ;;',
        'esac',
      ].join('\n'),
      { mode: 0o755 },
    );
    return {
      S,
      run,
      mode: (sock: string, m: string) => writeFileSync(path.join(S, `mode.${sock}`), m),
      exec: () => {
        const pools = ['web', 'api', 'admin'].map((name) => ({ name, listen: `/run/php/${name}.sock` }));
        const script = opcacheResetScript(pools, { dir: run });
        const r = spawnSync('/bin/sh', ['-s'], { input: script.text, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
        return { code: r.status, result: parseOpcache(r.stdout, script.nonce), calls: readFileSync(path.join(S, 'calls'), 'utf8').split('\n').filter(Boolean) };
      },
    };
  }

  it('requests a world-readable PHP file in every pool, and removes it', () => {
    const p = fakePools();
    p.mode('admin.sock', 'disabled');
    const r = p.exec();
    assert.equal(r.code, 0);
    assert.deepEqual(r.result, {
      ok: true,
      pools: [
        { name: 'web', ok: true, detail: 'OPcache reset' },
        { name: 'api', ok: true, detail: 'OPcache reset' },
        { name: 'admin', ok: true, detail: 'OPcache is disabled in this pool: nothing to reset' },
      ],
    });
    assert.equal(r.calls.length, 3);
    for (const c of r.calls) assert.match(c, new RegExp(`^/run/php/\\w+\\.sock ${p.run}/lanes-opcache-\\w{10}\\.php 644$`));
    assert.deepEqual(readdirSync(p.run), [], 'the PHP file is gone');
  });

  it('fails naming the pool when the reset is refused, the file is not found or the pool does not answer', () => {
    const p = fakePools();
    p.mode('web.sock', 'refused');
    p.mode('api.sock', '404');
    p.mode('admin.sock', 'none');
    const r = p.exec();
    assert.equal(r.code, 1);
    assert.equal(r.result.ok, false);
    assert.equal(
      opcacheFailureMessage(r.result),
      "pool web: opcache_reset() was refused (opcache.restrict_api = '/var/www/admin'); pool api: the reset script answered 'File not found.' (HTTP status 404) instead of running; pool admin: no FastCGI answer on /run/php/admin.sock: connection refused",
    );
    assert.deepEqual(readdirSync(p.run), []);
  });
});

describe('reload helpers', () => {
  it('processControlTimeoutOk: only a non-zero duration lets requests finish', () => {
    for (const v of ['10s', '10', '1m', ' 30s ', '"10s"', '2h', '1d', '5S']) assert.equal(processControlTimeoutOk(v), true, v);
    for (const v of [undefined, '', '0', '0s', '00', '0m', 'ten', '-1', '10x', '1.5s']) assert.equal(processControlTimeoutOk(v), false, String(v));
  });

  it('parseReload reads every outcome of this nonce only, and says so when there is none', () => {
    const N = '0123456789ab';
    const b = (s: string) => Buffer.from(s).toString('base64');
    assert.deepEqual(parseReload(`@@${N} fpm ok 2710 740 8 ${b('reloaded')}\n`, N), { ok: true, outcome: 'reloaded', ms: 2710, pid: 740, children: 8, detail: 'reloaded' });
    assert.equal(parseReload(`@@${N} fpm started 300 741 8 ${b('x')}\n`, N).outcome, 'started');
    assert.deepEqual(parseReload(`@@${N} fpm fail ${b('boom')}\n@@other fpm ok 1 1 1 -\n`, N), { ok: false, outcome: 'failed', detail: 'boom' });
    assert.deepEqual(parseReload('sh: 3: flock: not found\n', N), { ok: false, outcome: 'failed', detail: 'the reload script stopped before saying what happened' });
  });

  it('fpmTestErrors keeps the ERROR lines without timestamps', () => {
    assert.equal(fpmTestErrors('[23-Nov-2026 13:47:38] NOTICE: configuration file /x test is successful\n'), 'NOTICE: configuration file /x test is successful');
    assert.equal(fpmTestErrors('[d] ERROR: bad thing\n[d] ERROR: FPM initialization failed\n'), 'ERROR: bad thing');
  });
});
