// The health gate script run by a real sh, with systemctl, cgi-fcgi and curl stubbed on PATH: which
// checks run, what each answered, retries until the deadline, a dead master failing at once, quoting
// of every value, and the parser and messages.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fcgiAddress, healthFailureMessage, healthScript, parseHealth, type HealthResult } from '../../../agent/rollout/health.js';
import type { ReleasePool, ReleaseSpec } from '../../../agent/rollout/types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * A fake host: `systemctl is-active` answers $S/active, MainPID is this test process; `cgi-fcgi`
 * answers the file $S/fcgi/<address><script>?<query> (with / : ? as _), or exits 2 (no socket) when
 * there is none; a file NAME.fail with NAME.fail-times holding N is served the first N times instead.
 * `curl` copies $S/http-body, or fails with $S/http-error.
 */
function fakeHost() {
  const S = mkdtempSync(path.join(os.tmpdir(), 'lanes-health-'));
  dirs.push(S);
  const bin = path.join(S, 'bin');
  mkdirSync(bin);
  mkdirSync(path.join(S, 'fcgi'));
  writeFileSync(path.join(S, 'active'), 'active\n');
  const stub = (name: string, body: string) => writeFileSync(path.join(bin, name), `#!/bin/sh\nS=${S}\n${body}\n`, { mode: 0o755 });
  stub(
    'systemctl',
    [
      'echo "systemctl $*" >> "$S/calls"',
      'case "$1" in',
      '  is-active) st=$(cat "$S/active"); echo "$st"; [ "$st" = active ] ;;',
      `  show) echo ${process.pid} ;;`,
      'esac',
    ].join('\n'),
  );
  stub(
    'cgi-fcgi',
    [
      'env > "$S/fcgi-env"',
      'echo "cgi-fcgi $* SCRIPT_NAME=$SCRIPT_NAME SCRIPT_FILENAME=$SCRIPT_FILENAME QUERY_STRING=$QUERY_STRING REQUEST_METHOD=$REQUEST_METHOD" >> "$S/calls"',
      'f="$S/fcgi/$(printf "%s%s?%s" "$3" "$SCRIPT_NAME" "$QUERY_STRING" | tr "/:?" "___")"',
      'if [ -f "$f.fail-times" ] && [ "$(cat "$f.fail-times")" -gt 0 ]; then echo $(( $(cat "$f.fail-times") - 1 )) > "$f.fail-times"; cat "$f.fail"; exit 0; fi',
      '[ -f "$f" ] || exit 2',
      'cat "$f"',
    ].join('\n'),
  );
  stub(
    'curl',
    [
      'echo "curl $*" >> "$S/calls"',
      'out=""; while [ $# -gt 1 ]; do [ "$1" = -o ] && out=$2; shift; done',
      'if [ -f "$S/http-error" ]; then cat "$S/http-error" >&2; exit 22; fi',
      'cp "$S/http-body" "$out"',
    ].join('\n'),
  );
  const key = (addr: string, script: string, query = '') => `${addr}${script}?${query}`.replace(/[/:?]/g, '_');
  return {
    S,
    bin,
    /**
     * A clock that moves `stepMs` at each reading (`date`), so how many rounds fit before the deadline
     * does not depend on how fast this machine runs the script.
     */
    clock(stepMs: number) {
      writeFileSync(path.join(S, 'clock'), '1000000\n');
      stub('date', ['ms=$(( $(cat "$S/clock") + ' + String(stepMs) + ' ))', 'echo "$ms" > "$S/clock"', 'case "$1" in +%s%N) echo "${ms}000000" ;; *) echo $(( ms / 1000 )) ;; esac'].join('\n'));
    },
    /** Serve a FastCGI answer: CGI headers (CRLF), blank line, body. */
    answer(addr: string, script: string, query: string, body: string, status?: string) {
      const head = `${status ? `Status: ${status}\r\n` : ''}Content-type: text/plain;charset=UTF-8\r\n\r\n`;
      writeFileSync(path.join(S, 'fcgi', key(addr, script, query)), head + body);
    },
    failFirst(addr: string, script: string, query: string, times: number, body: string, status: string) {
      const f = path.join(S, 'fcgi', key(addr, script, query));
      writeFileSync(`${f}.fail`, `Status: ${status}\r\nContent-type: text/html\r\n\r\n${body}`);
      writeFileSync(`${f}.fail-times`, String(times));
    },
    calls: () => (existsSync(path.join(S, 'calls')) ? readFileSync(path.join(S, 'calls'), 'utf8').split('\n').filter(Boolean) : []),
  };
}

type Host = ReturnType<typeof fakeHost>;

function statusJson(pool: string, over: Record<string, number> = {}): string {
  return JSON.stringify({
    pool,
    'process manager': 'dynamic',
    'start time': 1795441658,
    'start since': 269,
    'accepted conn': 12,
    'listen queue': 0,
    'max listen queue': 0,
    'listen queue len': 0,
    'idle processes': 1,
    'active processes': 1,
    'total processes': 2,
    'max active processes': 1,
    'max children reached': 0,
    'slow requests': 0,
    ...over,
  });
}

const pool = (name: string, listen = `/run/php/php-fpm-${name}.sock`): ReleasePool => ({ name, listen, ping: { path: '/ping', response: 'pong' }, statusPath: '/status' });

function healthy(h: Host, pools: ReleasePool[]) {
  for (const p of pools) {
    const addr = fcgiAddress(p.listen);
    h.answer(addr, '/ping', '', 'pong');
    h.answer(addr, '/status', 'json', statusJson(p.name));
  }
  writeFileSync(path.join(h.S, 'http-body'), '{"release":"20260101-abc"}\n');
}

type HealthSpec = Pick<ReleaseSpec, 'pools' | 'health'>;

function run(h: Host, spec: HealthSpec, env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string; result: HealthResult; ms: number } {
  const t = Date.now();
  const script = healthScript(spec, { releaseId: '20260101-abc', fpmUnit: 'php8.2-fpm.service' });
  const r = spawnSync('/bin/sh', ['-s'], {
    input: script.text,
    encoding: 'utf8',
    env: { PATH: `${h.bin}:/usr/bin:/bin`, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, result: parseHealth(r.stdout, script.nonce), ms: Date.now() - t };
}

const twoPools = [pool('web'), pool('api')];
const spec = (over: Partial<HealthSpec['health']> = {}, pools = twoPools): HealthSpec => ({
  pools,
  health: { timeoutMs: 1000, http: { url: 'http://127.0.0.1/health', expect: '20260101-abc' }, ...over },
});

describe('health gate script', () => {
  it('passes when the master runs, every pool answers ping and status, and the page names the release', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    const r = run(h, spec());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.result.ok, true);
    assert.equal(r.result.rounds, 1);
    assert.deepEqual(
      r.result.checks.map((c) => [c.name, c.ok]),
      [
        ['fpm', true],
        ['ping:web', true],
        ['status:web', true],
        ['ping:api', true],
        ['status:api', true],
        ['http', true],
      ],
    );
    assert.equal(r.result.checks[1]!.detail, "/ping answered 'pong'");
    assert.equal(r.result.checks[2]!.detail, 'accepted conn 12, active processes 1, idle processes 1, listen queue 0, max children reached 0');
    // FastCGI requests carry the three variables PHP 8.2 needs; status asks for ?json.
    const fcgi = h.calls().filter((c) => c.startsWith('cgi-fcgi'));
    assert.ok(fcgi.includes('cgi-fcgi -bind -connect /run/php/php-fpm-api.sock SCRIPT_NAME=/ping SCRIPT_FILENAME=/ping QUERY_STRING= REQUEST_METHOD=GET'), fcgi.join('\n'));
    assert.ok(fcgi.includes('cgi-fcgi -bind -connect /run/php/php-fpm-api.sock SCRIPT_NAME=/status SCRIPT_FILENAME=/status QUERY_STRING=json REQUEST_METHOD=GET'));
    assert.ok(h.calls().some((c) => /^curl -fsS --max-time 5 -o \S+ http:\/\/127\.0\.0\.1\/health$/.test(c)));
  });

  it('names the pool and what it answered when a ping is wrong, after retrying until the deadline', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    h.answer('/run/php/php-fpm-api.sock', '/ping', '', 'File not found.\n', '404 Not Found');
    h.clock(300);
    const r = run(h, spec({ timeoutMs: 1200 }));
    assert.equal(r.code, 1);
    assert.equal(r.result.ok, false);
    // Readings at 300 (start), 600, 900, 1200 ms after it, then the deadline: 4 rounds.
    assert.equal(r.result.rounds, 4, `retried until the deadline (${r.result.rounds} rounds)`);
    assert.equal(r.result.ms, 1500, 'stopped at the first reading past the deadline');
    assert.deepEqual(
      r.result.checks.filter((c) => !c.ok).map((c) => c.name),
      ['ping:api'],
    );
    assert.match(healthFailureMessage(r.result), /^pool api: \/ping answered 'File not found\.' instead of 'pong' \(HTTP status 404\) \(after \d+ rounds in \d\.\ds\)$/);
  });

  it('passes once a pool that was still starting answers', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    h.failFirst('/run/php/php-fpm-web.sock', '/ping', '', 2, 'File not found.', '404 Not Found');
    // A stub clock: under a loaded CI machine, three real rounds could outlast a real deadline.
    h.clock(100);
    const r = run(h, spec({ timeoutMs: 5000 }));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.result.rounds, 3);
  });

  it('gives up at once when the master is not running (waiting does not bring it back)', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    writeFileSync(path.join(h.S, 'active'), 'failed\n');
    const r = run(h, spec({ timeoutMs: 20_000 }));
    assert.equal(r.code, 1);
    assert.equal(r.result.rounds, 1, 'gave up after the first round, long before its 20 s deadline');
    assert.equal(r.result.checks[0]!.detail, 'php8.2-fpm.service is failed');
    assert.match(healthFailureMessage(r.result), /^php-fpm: php8\.2-fpm\.service is failed/);
  });

  it('keeps retrying while the master is restarting', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    writeFileSync(path.join(h.S, 'active'), 'activating\n');
    h.clock(300);
    const r = run(h, spec({ timeoutMs: 1000 }));
    assert.equal(r.code, 1);
    assert.equal(r.result.rounds, 4, 'retried until the deadline, not given up at once');
  });

  it('reports a pool whose socket does not answer', () => {
    const h = fakeHost();
    healthy(h, [pool('web')]);
    const r = run(h, spec({ timeoutMs: 0 }, [pool('web'), pool('gone')]));
    assert.equal(r.code, 1);
    assert.equal(r.result.checks.find((c) => c.name === 'ping:gone')!.detail, '/ping did not answer on /run/php/php-fpm-gone.sock: no such socket');
    assert.equal(r.result.checks.find((c) => c.name === 'status:gone')!.detail, '/status?json did not answer on /run/php/php-fpm-gone.sock: no such socket');
  });

  it('judges the status page: a 404, another pool behind the socket, a saturated pool', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    h.answer('/run/php/php-fpm-web.sock', '/status', 'json', 'File not found.', '404 Not Found');
    h.answer('/run/php/php-fpm-api.sock', '/status', 'json', statusJson('web'));
    let r = run(h, spec({ timeoutMs: 0 }));
    assert.deepEqual(
      r.result.checks.filter((c) => !c.ok).map((c) => c.detail),
      ["/status?json answered 'File not found.' instead of the pool status (HTTP status 404)", "/run/php/php-fpm-api.sock is served by pool 'web', not 'api'"],
    );
    h.answer('/run/php/php-fpm-web.sock', '/status', 'json', statusJson('web', { 'listen queue': 7, 'idle processes': 0, 'active processes': 8, 'max children reached': 3 }));
    h.answer('/run/php/php-fpm-api.sock', '/status', 'json', statusJson('api', { 'listen queue': 0, 'idle processes': 0, 'active processes': 8 }));
    r = run(h, spec({ timeoutMs: 0 }));
    assert.deepEqual(
      r.result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`),
      ['status:web: saturated: accepted conn 12, active processes 8, idle processes 0, listen queue 7, max children reached 3'],
      'all busy with an empty queue still takes work',
    );
  });

  it('checks the page through the web server: a failing request and a body without the release', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    writeFileSync(path.join(h.S, 'http-body'), '{"release":"20251231-old"}\n');
    let r = run(h, spec({ timeoutMs: 0 }));
    assert.equal(r.result.checks.find((c) => c.name === 'http')!.detail, `GET http://127.0.0.1/health answered '{"release":"20251231-old"}' without '20260101-abc'`);
    assert.equal(healthFailureMessage(r.result).split(' (after')[0], `http check: GET http://127.0.0.1/health answered '{"release":"20251231-old"}' without '20260101-abc'`);
    writeFileSync(path.join(h.S, 'http-error'), 'curl: (22) The requested URL returned error: 502\n');
    r = run(h, spec({ timeoutMs: 0 }));
    assert.equal(r.result.checks.find((c) => c.name === 'http')!.detail, 'GET http://127.0.0.1/health failed: curl: (22) The requested URL returned error: 502');
  });

  it('has no http check without health.http, and expect is optional', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    let r = run(h, { pools: twoPools, health: { timeoutMs: 0 } });
    assert.equal(r.code, 0);
    assert.equal(r.result.checks.some((c) => c.name === 'http'), false);
    r = run(h, { pools: twoPools, health: { timeoutMs: 0, http: { url: 'http://127.0.0.1/' } } });
    assert.equal(r.code, 0);
  });

  it('passes every value through quoting: a ping response with quotes and $(…) is compared literally', () => {
    const h = fakeHost();
    const marker = path.join(h.S, 'pwned');
    const odd: ReleasePool = { name: 'web', listen: '/run/php/web.sock', ping: { path: '/ping', response: `it's "ok" $(touch ${marker}) \`touch ${marker}\`` } };
    h.answer('/run/php/web.sock', '/ping', '', odd.ping!.response);
    const r = run(h, { pools: [odd], health: { timeoutMs: 0 } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(existsSync(marker), false, 'nothing ran');
  });

  it('sends only the CGI variables, not the caller environment, to the pool', () => {
    const h = fakeHost();
    healthy(h, twoPools);
    run(h, spec({ timeoutMs: 0 }), { SECRET_TOKEN: 'hunter2' });
    const env = readFileSync(path.join(h.S, 'fcgi-env'), 'utf8');
    assert.doesNotMatch(env, /SECRET_TOKEN/);
    assert.match(env, /^REQUEST_METHOD=GET$/m);
  });

  it('connects TCP pools by host:port, a bare port on 127.0.0.1', () => {
    assert.equal(fcgiAddress('9000'), '127.0.0.1:9000');
    assert.equal(fcgiAddress('10.0.0.5:9001'), '10.0.0.5:9001');
    assert.equal(fcgiAddress('/run/php/a.sock'), '/run/php/a.sock');
    const h = fakeHost();
    const tcp: ReleasePool = { name: 'tcp', listen: '9000', ping: { path: '/ping', response: 'pong' } };
    h.answer('127.0.0.1:9000', '/ping', '', 'pong');
    const r = run(h, { pools: [tcp], health: { timeoutMs: 0 } });
    assert.equal(r.code, 0, r.stdout);
  });
});

describe('parseHealth / healthFailureMessage', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const N = 'abc123abc123';

  it('reads the check lines and the verdict', () => {
    const out = [`noise`, `@@${N} check fpm ok ${b64('php8.2-fpm master process 740 is running')}`, `@@${N} check ping:api fail ${b64("/ping answered 'File not found.' instead of 'pong'")}`, `@@${N} health fail 4 2100`, ''].join('\n');
    const r = parseHealth(out, N);
    assert.deepEqual(r, {
      ok: false,
      rounds: 4,
      ms: 2100,
      checks: [
        { name: 'fpm', ok: true, detail: 'php8.2-fpm master process 740 is running' },
        { name: 'ping:api', ok: false, detail: "/ping answered 'File not found.' instead of 'pong'" },
      ],
    });
    assert.equal(healthFailureMessage(r), "pool api: /ping answered 'File not found.' instead of 'pong' (after 4 rounds in 2.1s)");
  });

  it('is not ok without a verdict, or when a check failed despite one', () => {
    assert.equal(parseHealth(`@@${N} check fpm ok ${b64('x')}\n`, N).ok, false);
    assert.equal(healthFailureMessage(parseHealth('sh: 1: syntax error\n', N)), 'the health check stopped before saying what it found');
    assert.equal(parseHealth(`@@${N} check fpm fail ${b64('x')}\n@@${N} health ok 1 1\n`, N).ok, false);
    assert.equal(parseHealth(`@@${N} check fpm ok ${b64('x')}\n@@${N} health ok 1 5\n`, N).ok, true);
  });

  it('joins several failures', () => {
    const r: HealthResult = {
      ok: false,
      checks: [
        { name: 'status:web', ok: false, detail: 'saturated: …' },
        { name: 'http', ok: false, detail: 'GET http://x/ failed: 502' },
      ],
    };
    assert.equal(healthFailureMessage(r), 'pool web: saturated: …; http check: GET http://x/ failed: 502');
  });
});
