// Release hooks as the compiler and the release see them: the schema (strings and maps, defaults,
// located refusals), where each hook runs (hosts patterns, the once host), the checks made before any
// connection, and --dry-run listing every hook in order with its hosts — from the step table.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePlaybook } from '../../../agent/playbook/compile.js';
import { checkHooks, hooksOf, hostsOfHook, onceHostOf, type HookHosts } from '../../../agent/rollout/hooks.js';
import { renderReleasePlan } from '../../../agent/rollout/dry-run.js';
import { releaseSpecFor } from '../../../agent/rollout/spec.js';
import type { ReleaseBlock } from '../../../agent/resources/release.js';
import { INLINE, errorLines, parse, testInventory } from '../playbook/helpers.js';
import { expectLanesError } from '../../support/errors.js';

function play(release: string): string {
  return `- hosts: app
  fpm:
    pools:
      web: { listen: { path: /run/php/web.sock }, user: www-data, group: www-data, pm: { mode: static, max_children: 2 } }
  release:
    path: /var/www/app
    owner: root
    group: app
    pools: [web]
${release
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
`;
}

async function compile(release: string, limit?: string) {
  return compilePlaybook(parse(play(release)), await testInventory(), limit ? { limit } : {});
}

describe('release hooks: schema', () => {
  it('takes strings and maps; defaults: user = release.user, else owner; timeout 10m; not sensitive', async () => {
    const c = await compile(`user: deploy
hooks:
  build:
    - composer install --no-dev
    - { run: php artisan config:cache, user: www-data, env: { APP_ENV: production, N: 3 }, timeout: 90s }
  once: [php artisan migrate --force]`);
    const spec = releaseSpecFor('lab1', c.hosts.get('lab1')!);
    assert.equal(spec.user, 'deploy');
    assert.deepEqual(
      spec.hooks.build.map((h) => [h.run, h.user, h.env, h.timeoutMs, h.sensitive]),
      [
        ['composer install --no-dev', 'deploy', {}, 600_000, false],
        ['php artisan config:cache', 'www-data', { APP_ENV: 'production', N: '3' }, 90_000, false],
      ],
    );
    assert.equal(spec.hooks.once[0]!.run, 'php artisan migrate --force');
    assert.deepEqual(spec.hooks.after_switch, []);
    const noUser = releaseSpecFor('lab1', (await compile('hooks: { build: [make] }')).hosts.get('lab1')!);
    assert.equal(noUser.hooks.build[0]!.user, 'root');
  });

  it('refuses an unknown hook point, a hook that is neither string nor map, and bad fields — each located', async () => {
    const lines = await errorLines(() =>
      compile(`hooks:
  bild: [make]
  once: [42]
  after_switch:
    - { run: "x", env: { "A-B": "1" } }
    - { run: "y", timeout: soon }
    - { cmd: "z" }`),
    );
    const want = [
      [`${INLINE}:11:7:`, 'bild'],
      [`${INLINE}:12:14:`, 'must be a command (a string) or a map with run'],
      [`${INLINE}:14:30:`, 'must be an environment variable name'],
      [`${INLINE}:15:23:`, 'must be a duration'],
      [`${INLINE}:16:13:`, 'unknown key "cmd"'],
    ];
    for (const [where, what] of want) {
      assert.ok(
        lines.some((l) => l.startsWith(where!) && l.includes(what!)),
        `no error at ${where} about ${what} in:\n${lines.join('\n')}`,
      );
    }
  });
});

describe('release hooks: where they run', () => {
  const where = async (order: string[]): Promise<HookHosts> => ({ order, inventory: await testInventory() });

  it('a hosts pattern picks among the run\'s hosts, in batch order', async () => {
    const w = await where(['lab2', 'lab1']);
    assert.deepEqual(hostsOfHook({ hosts: 'lab1' }, w), ['lab1']);
    assert.deepEqual(hostsOfHook({ hosts: 'app' }, w), ['lab2', 'lab1']);
    assert.deepEqual(hostsOfHook({}, w), ['lab2', 'lab1']);
    assert.deepEqual(hostsOfHook({ hosts: 'db' }, w), []);
  });

  it('the once host is the first host of the first batch, or the first once_host matches', async () => {
    const w = await where(['lab2', 'lab1']);
    assert.equal(onceHostOf(undefined, w), 'lab2');
    assert.equal(onceHostOf('lab1', w), 'lab1');
    assert.equal(onceHostOf('app', w), 'lab2');
    assert.equal(onceHostOf('db1', w), undefined);
  });

  it('refuses, located, before any connection: hosts matching nothing, hosts on a once point, once_host excluded by --limit', async () => {
    const release = async (text: string) => (await compile(text)).hosts.get('lab1')!.find((d) => d.type === 'release')!;
    const w = await where(['lab1', 'lab2']);
    await expectLanesError(async () => checkHooks(await release('hooks: { after_switch: [{ run: x, hosts: db }] }'), w), {
      message: /release\.hooks\.after_switch\[0\]\.hosts: "db" matches none of the hosts of this run \(lab1, lab2\)/,
      line: 10,
      column: 39,
    });
    await expectLanesError(async () => checkHooks(await release('hooks: { once: [{ run: x, hosts: lab1 }] }'), w), {
      message: /a once hook runs once for the fleet/,
      line: 10,
      column: 31,
    });
    await expectLanesError(async () => checkHooks(await release('once_host: lab2\nhooks: { once: [migrate] }'), await where(['lab1'])), {
      message: /release\.once_host: "lab2" matches none of the hosts of this run \(lab1\)/,
      line: 10,
      column: 5,
    });
    // Without once hooks, a once_host outside the run is no problem.
    checkHooks(await release('once_host: lab2\nhooks: { build: [make] }'), await where(['lab1']));
  });

  it('a sensitive hook registers its env values with the masker', async () => {
    const { secrets } = await import('../../../agent/report/mask.js');
    const block = (await compile('hooks: { once: [{ run: migrate, env: { DB_PASSWORD: "p4ss-w0rd-hook" }, sensitive: true }] }')).hosts.get('lab1')!.find((d) => d.type === 'release')!;
    hooksOf(block.spec as ReleaseBlock);
    assert.equal(secrets.mask('pw=p4ss-w0rd-hook'), 'pw=********');
  });
});

describe('release --dry-run', () => {
  it('lists every step in order, each hook with the host(s) it runs on, from the step table', async () => {
    const c = await compile(`user: deploy
hooks:
  build: [composer install]
  once: [php artisan migrate --force]
  before_switch: [{ run: php artisan view:cache, hosts: lab2 }]
  after_switch: [php artisan queue:restart]
  after_release: [{ run: notify, sensitive: true }]
  on_rollback: [php artisan config:cache]
serial: 1`);
    const text = renderReleasePlan(c.hosts, ['lab1', 'lab2'], { id: 'r1', inventory: await testInventory() });
    const order = [
      'batch 1: lab1',
      'batch 2: lab2',
      'lock',
      'preflight',
      'upload and unpack to releases/r1',
      'hook build[0] `composer install` as deploy (timeout 600s) — on every host',
      'seal releases/r1: root:app, go-w',
      'hook once[0] `php artisan migrate --force` as deploy (timeout 600s) — on lab1 only',
      'drain workers',
      'hook before_switch[0] `php artisan view:cache` as deploy (timeout 600s) — on lab2 (hosts: lab2)',
      'switch /var/www/app/current → releases/r1',
      'graceful reload',
      'health gate',
      'hook after_switch[0] `php artisan queue:restart`',
      'start workers',
      'on failure: point current back',
      'hook on_rollback[0] `php artisan config:cache`',
      'hook after_release[0] `(sensitive command)` as deploy (timeout 600s) — on lab1 only, after the last batch',
      'prune releases beyond 5',
    ];
    let from = 0;
    for (const part of order) {
      const i = text.indexOf(part, from);
      assert.ok(i >= 0, `"${part}" missing or out of order in:\n${text}`);
      from = i + part.length;
    }
    assert.ok(!text.includes('notify'), 'a sensitive hook\'s command is never shown');
  });

  it('shows once_host, and no hook lines without hooks', async () => {
    const c = await compile('once_host: lab2\nhooks: { once: [migrate] }');
    const text = renderReleasePlan(c.hosts, ['lab1', 'lab2'], { id: 'r1', inventory: await testInventory() });
    assert.match(text, /hook once\[0\] `migrate` as root \(timeout 600s\) — on lab2 only/);
    const plain = renderReleasePlan((await compile('keep: 3')).hosts, ['lab1', 'lab2'], { id: 'r1', inventory: await testInventory() });
    assert.ok(!plain.includes('hook '), plain);
    assert.ok(!plain.includes('seal'), plain);
  });
});
