// The release steps' remote scripts on a real provisioned lab host (lab3, so as to stay out of the way
// of tests using lab1/lab2): the health gate (healthy; a wrong ping answer names the pool), a graceful
// FPM reload that waits for a request in flight and for new children, a refused config test that
// reloads nothing, OPcache reset per pool, draining and starting app-queue and app-scheduler with
// proof they run the release `current` points to, and a worker left running across a switch reported
// stale. The host is left as found: `current` unchanged, workers running on it, FPM on its config.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { healthFailureMessage, healthScript, parseHealth } from '../../agent/rollout/health.js';
import { fpmReloadScript, opcacheResetScript, parseOpcache, parseReload, reloadFailureMessage } from '../../agent/rollout/reload.js';
import type { ReleasePool, ReleaseSpec } from '../../agent/rollout/types.js';
import { drainScript, parseWorkers, undrainScript } from '../../agent/rollout/workers.js';
import { shq } from '../../agent/transport/quote.js';
import type { FramedScript } from '../../agent/remote/sh.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { noHooks } from '../../agent/rollout/hooks.js';

const APP = '/var/www/app';
const COPY = 'lanes-e2e-steps-copy';
const FPM = { fpmUnit: 'php8.2-fpm.service', fpmBinary: '/usr/sbin/php-fpm8.2', confFile: '/etc/php/8.2/fpm/php-fpm.conf' };

let lab: EnsuredLab;
let host: string;
let address: string;

/** The release `current` points to now (other test files may release to the lab too). */
async function live(): Promise<{ link: string; dir: string }> {
  const out = (await sh(`readlink ${shq(`${APP}/current`)}; readlink -f ${shq(`${APP}/current`)}`)).trim().split('\n');
  return { link: out[0] ?? '', dir: out[1] ?? '' };
}

const pools: ReleasePool[] = ['web_public', 'web_session', 'api'].map((name) => ({
  name,
  listen: `/run/php/php-fpm-${name}.sock`,
  ping: { path: '/ping', response: 'pong' },
  statusPath: '/status',
}));

function spec(over: Partial<ReleaseSpec> = {}): ReleaseSpec {
  return {
    path: APP,
    keep: 5,
    shared: [],
    owner: 'root',
    group: 'app',
    user: 'root',
    hooks: noHooks(),
    workers: { supervisor: ['app-queue'], systemd: ['app-scheduler'] },
    pools,
    reload: 'reload',
    health: { timeoutMs: 15_000 },
    serial: [1],
    maxFail: 0,
    lockTtlMs: 60_000,
    notify: [],
    ...over,
  };
}

const sh = (script: string) => onHost(lab, host, script, { allowFail: true });

/** Run a step script in its own sh on lab3; its stdout and exit code. */
async function step(script: FramedScript, prefix = ''): Promise<{ stdout: string; code: number; nonce: string }> {
  const out = await sh(`${prefix}sh -c ${shq(script.text)}\necho "@@rc $?"`);
  const m = /@@rc (\d+)\s*$/.exec(out);
  return { stdout: out, code: m ? Number(m[1]) : -1, nonce: script.nonce };
}

/** Supervisor and systemd state of the workers, and their processes. */
async function workerState(): Promise<{ supervisor: string[]; scheduler: string; processes: string[] }> {
  const out = await sh(
    [
      'supervisorctl status app-queue:* | awk \'{ print "sv " $1 " " $2 }\'',
      'echo "unit $(systemctl is-active app-scheduler)"',
      "pgrep -f '/current/(worker|scheduler)\\.php' | while read -r p; do echo \"proc $p $(readlink /proc/$p/cwd)\"; done",
    ].join('\n'),
  );
  const lines = out.split('\n');
  return {
    supervisor: lines.filter((l) => l.startsWith('sv ')).map((l) => l.slice(3)),
    scheduler: lines.find((l) => l.startsWith('unit '))?.slice(5) ?? '',
    processes: lines.filter((l) => l.startsWith('proc ')).map((l) => l.slice(5)),
  };
}

/** Switch `current` atomically, as a release does. */
const switchTo = (target: string) => sh(`cd ${shq(APP)} && ln -sfn ${shq(target)} .current.lanes-e2e && mv -fT .current.lanes-e2e current`);

before(async () => {
  lab = await ensureLab(3);
  const h = lab.hosts[2]!;
  host = h.name;
  address = h.address;
  const probe = await sh('test -S /run/php/php-fpm-api.sock && supervisorctl status app-queue:* >/dev/null 2>&1; echo $?');
  if (probe.trim() !== '0' && probe.trim() !== '3') {
    const r = await runCli(['apply', path.join(repoRoot, 'playbooks', 'site.yml'), '-i', lab.inventoryFile, '--limit', host, '--yes']);
    assert.equal(r.code, 0, `provisioning ${host} failed: ${r.stdout}${r.stderr}`);
  }
  assert.match((await live()).link, /^releases\//);
});

/** If `current` still points at this file's copy, back to what it pointed at before. */
let restoreLink: string | undefined;

after(async () => {
  if (!lab) return;
  // Whatever happened: `current` as found, the copy gone, workers running on the live release.
  await sh(
    [
      `cd ${shq(APP)}`,
      restoreLink
        ? `[ "$(readlink current)" = ${shq(`releases/${COPY}`)} ] && { ln -sfn ${shq(restoreLink)} .current.lanes-e2e && mv -fT .current.lanes-e2e current; }`
        : 'true',
      `if pgrep -f /current/ | while read -r p; do readlink "/proc/$p/cwd"; done | grep -q ${shq(COPY)}; then supervisorctl restart 'app-queue:*'; systemctl restart app-scheduler; fi`,
      `rm -rf ${shq(`releases/${COPY}`)} /run/lanes-e2e-slow.php /run/lanes-e2e-slow.out /tmp/lanes-e2e-broken-fpm.conf`,
      "supervisorctl start 'app-queue:*' >/dev/null 2>&1",
      'systemctl start app-scheduler',
    ].join('\n'),
  );
});

describe('release steps on a lab host', { concurrency: false }, () => {
  it('health gate: a provisioned host passes every check, with cgi-fcgi and with the PHP client', async () => {
    const release = path.basename((await live()).dir);
    const s = spec({ health: { timeoutMs: 15_000, http: { url: `http://${address}/`, expect: `"release":"${release}"` } } });
    for (const prefix of ['', 'LANES_FCGI_CLIENT=php ']) {
      const r = await step(healthScript(s, { releaseId: release, fpmUnit: FPM.fpmUnit }), prefix);
      const h = parseHealth(r.stdout, r.nonce);
      assert.equal(r.code, 0, healthFailureMessage(h) + r.stdout);
      assert.equal(h.ok, true);
      assert.deepEqual(
        h.checks.map((c) => `${c.name} ${c.ok}`),
        ['fpm true', 'ping:web_public true', 'status:web_public true', 'ping:web_session true', 'status:web_session true', 'ping:api true', 'status:api true', 'http true'],
      );
      assert.match(h.checks.find((c) => c.name === 'status:api')!.detail, /^accepted conn \d+, active processes [1-9]\d*, idle processes \d+, listen queue 0, max children reached \d+$/);
    }
  });

  it('health gate: a pool answering something else fails, naming the pool and the answer', async () => {
    const s = spec({
      pools: [
        { ...pools[2]!, ping: { path: '/ping', response: 'ready' } },
        { ...pools[0]!, ping: { path: '/not-the-ping-path', response: 'pong' } },
        pools[1]!,
      ],
      health: { timeoutMs: 1500 },
    });
    const r = await step(healthScript(s, { releaseId: 'x', fpmUnit: FPM.fpmUnit }));
    const h = parseHealth(r.stdout, r.nonce);
    assert.equal(r.code, 1);
    assert.equal(h.ok, false);
    assert.ok(h.rounds! >= 2, 'it retried until the deadline');
    assert.equal(
      healthFailureMessage(h).replace(/ \(after .*\)$/, ''),
      "pool api: /ping answered 'pong' instead of 'ready'; pool web_public: /not-the-ping-path answered 'File not found.' instead of 'pong' (HTTP status 404)",
    );
  });

  it('reload: waits for the request in flight and the re-exec; same master, all-new children, the request completed', async () => {
    const reloadScript = fpmReloadScript(FPM);
    const busy = '<?php $t = microtime(true); while (microtime(true) - $t < 2) {} echo "slow request done";';
    const out = await sh(
      [
        `printf '%s' ${shq(busy)} > /run/lanes-e2e-slow.php && chmod 0644 /run/lanes-e2e-slow.php`,
        'M=$(systemctl show -p MainPID --value php8.2-fpm)',
        'echo "@@before $M $(ps -o pid= --ppid $M | tr -d " " | sort -n | tr "\\n" " ")"',
        '(env -i SCRIPT_NAME=/slow SCRIPT_FILENAME=/run/lanes-e2e-slow.php REQUEST_METHOD=GET cgi-fcgi -bind -connect /run/php/php-fpm-api.sock </dev/null >/run/lanes-e2e-slow.out 2>&1) &',
        'sleep 0.4',
        `sh -c ${shq(reloadScript.text)}`,
        'echo "@@rc $?"',
        'wait',
        'M=$(systemctl show -p MainPID --value php8.2-fpm)',
        'echo "@@after $M $(ps -o pid= --ppid $M | tr -d " " | sort -n | tr "\\n" " ")"',
        'echo "@@slow $(tr -d "\\r" </run/lanes-e2e-slow.out | tail -n 1)"',
        'rm -f /run/lanes-e2e-slow.php /run/lanes-e2e-slow.out',
      ].join('\n'),
    );
    const field = (tag: string) => new RegExp(`^@@${tag} (.*)$`, 'm').exec(out)?.[1]?.trim() ?? '';
    const [masterBefore, ...kidsBefore] = field('before').split(/\s+/);
    const [masterAfter, ...kidsAfter] = field('after').split(/\s+/);
    const r = parseReload(out, reloadScript.nonce);
    assert.equal(field('rc'), '0', reloadFailureMessage(r) + out);
    assert.equal(r.outcome, 'reloaded');
    assert.ok(r.ms! >= 1200, `the reload waited for the 2 s request (${r.ms} ms)`);
    assert.equal(masterAfter, masterBefore, 'the master re-executed in place');
    assert.equal(r.pid, Number(masterBefore));
    assert.ok(kidsBefore.length > 0 && kidsAfter.length > 0, out);
    assert.deepEqual(kidsAfter.filter((k) => kidsBefore.includes(k)), [], 'every child is new');
    assert.equal(field('slow'), 'slow request done', 'the request in flight finished (process_control_timeout)');
    const hs = await step(healthScript(spec(), { releaseId: 'x', fpmUnit: FPM.fpmUnit }));
    const h = parseHealth(hs.stdout, hs.nonce);
    assert.equal(h.ok, true, healthFailureMessage(h));
  });

  it('reload: a configuration php-fpm -t refuses reloads nothing', async () => {
    await sh(`printf '[global]\\nerror_log = /proc/self/fd/2\\n[broken]\\nlisten = /run/php/lanes-e2e-broken.sock\\npm = sometimes\\n' > /tmp/lanes-e2e-broken-fpm.conf`);
    const before = await sh('M=$(systemctl show -p MainPID --value php8.2-fpm); echo $M $(ps -o pid= --ppid $M | sort -n)');
    const r = await step(fpmReloadScript({ ...FPM, confFile: '/tmp/lanes-e2e-broken-fpm.conf' }));
    const res = parseReload(r.stdout, r.nonce);
    assert.equal(r.code, 3);
    assert.equal(res.outcome, 'test-failed');
    assert.match(reloadFailureMessage(res), /^php-fpm -t refused the configuration, nothing was reloaded: .*pm/);
    const afterState = await sh('M=$(systemctl show -p MainPID --value php8.2-fpm); echo $M $(ps -o pid= --ppid $M | sort -n)');
    assert.equal(afterState, before, 'same master, same children');
    await sh('rm -f /tmp/lanes-e2e-broken-fpm.conf');
  });

  it('opcache reset: every pool runs opcache_reset() and the PHP file is removed', async () => {
    const r = await step(opcacheResetScript(pools));
    const res = parseOpcache(r.stdout, r.nonce);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(res.pools, pools.map((p) => ({ name: p.name, ok: true, detail: 'OPcache reset' })));
    assert.equal((await sh('ls /run | grep -c "^lanes-opcache-" || true')).trim(), '0');
  });

  it('drain stops app-queue and app-scheduler; undrain starts them and proves they run the release current points to', async () => {
    const d = await step(drainScript(spec()));
    const dr = parseWorkers(d.stdout, d.nonce);
    assert.equal(d.code, 0, dr.message + d.stdout);
    assert.deepEqual(dr.workers.map((w) => `${w.name} ${w.state}`), ['app-queue drained', 'app-scheduler drained']);
    const down = await workerState();
    assert.deepEqual(down, { supervisor: ['app-queue:app-queue_00 STOPPED', 'app-queue:app-queue_01 STOPPED'], scheduler: 'inactive', processes: [] });

    const liveRelease = (await live()).dir;
    const switchedAt = Number((await sh('date +%s%3N')).trim());
    const u = await step(undrainScript(spec(), { releaseDir: liveRelease, switchedAt }));
    const ur = parseWorkers(u.stdout, u.nonce);
    assert.equal(u.code, 0, ur.message + u.stdout);
    assert.deepEqual(
      ur.workers.map((w) => [w.name, w.state, w.cwd]),
      [
        ['app-queue:app-queue_00', 'running', liveRelease],
        ['app-queue:app-queue_01', 'running', liveRelease],
        ['app-scheduler', 'running', liveRelease],
      ],
    );
    const up = await workerState();
    assert.deepEqual(up.supervisor, ['app-queue:app-queue_00 RUNNING', 'app-queue:app-queue_01 RUNNING']);
    assert.equal(up.scheduler, 'active');
    assert.deepEqual(up.processes.map((p) => p.split(' ')[0]).sort(), ur.workers.map((w) => String(w.pid)).sort());
  });

  it('a worker left running across a switch of current is reported stale; after drain and start it runs the new release', async () => {
    const copy = `${APP}/releases/${COPY}`;
    const { link: originalLink, dir: liveRelease } = await live();
    await sh(`cp -a ${shq(liveRelease)} ${shq(copy)}`);
    await sh('sleep 0.2');
    restoreLink = originalLink;
    await switchTo(`releases/${COPY}`);
    try {
      const switchedAt = Number((await sh('date +%s%3N')).trim());
      const stale = await step(undrainScript(spec(), { releaseDir: copy, switchedAt }));
      const sr = parseWorkers(stale.stdout, stale.nonce);
      assert.equal(stale.code, 1);
      assert.deepEqual(sr.workers.map((w) => `${w.name} ${w.state}`), ['app-queue:app-queue_00 stale', 'app-queue:app-queue_01 stale', 'app-scheduler stale']);
      for (const w of sr.workers) assert.match(w.detail!, new RegExp(`^${w.name} \\(pid \\d+\\) started at \\S+, [\\d.]+m?s before the switch to ${copy}: it runs stale code from ${liveRelease}$`));

      assert.equal((await step(drainScript(spec()))).code, 0);
      const fresh = await step(undrainScript(spec(), { releaseDir: copy, switchedAt }));
      const fr = parseWorkers(fresh.stdout, fresh.nonce);
      assert.equal(fresh.code, 0, fr.message);
      assert.deepEqual(fr.workers.map((w) => w.cwd), [copy, copy, copy]);
    } finally {
      // Back to the release found (unless someone else has switched since), workers restarted on it, the copy removed.
      await sh(`cd ${shq(APP)} && [ "$(readlink current)" = ${shq(`releases/${COPY}`)} ] && ln -sfn ${shq(originalLink)} .current.lanes-e2e && mv -fT .current.lanes-e2e current`);
      restoreLink = undefined;
      const d = await step(drainScript(spec()));
      const u = await step(undrainScript(spec(), { releaseDir: liveRelease, switchedAt: 0 }));
      await sh(`rm -rf ${shq(copy)}`);
      assert.equal(d.code, 0, d.stdout);
      assert.equal(u.code, 0, u.stdout);
    }
    const st = await workerState();
    assert.equal(st.processes.length, 3);
    assert.ok(st.processes.every((p) => p.endsWith(` ${liveRelease}`)), st.processes.join('\n'));
  });
});
