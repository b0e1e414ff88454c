// The sample application as a real one (issue 9's done-means), on 3 lab hosts provisioned by
// playbooks/site.yml, through the real CLI: a release whose build hook runs composer (offline) and
// whose once hook runs the migration, under HTTP load — 0 failed requests, every host serves the new
// release built by composer, the migration ran on exactly one host once, the after_switch hook ran on
// every host, the release is sealed back to root:app without group/other write; then `lanes releases`,
// a one-off `lanes run --release … php artisan about` on the 3 hosts (as the hook user), and what a
// release without its build shows.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { startLoad } from './support/load.js';
import { onHost } from './support/remote.js';
import { provision } from './support/spawn.js';
import { copySampleApp, ONE_BATCH } from './support/sample-app.js';

const site = path.join(repoRoot, 'playbooks', 'site.yml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-release-app-'));
const app = '/var/www/app';
let lab: EnsuredLab;
let names: string[];
let limit: string;

/** A copy of the sample app with a VERSION file, so this file's release is its own (not another file's). */
function variant(name: string): string {
  return copySampleApp(path.join(tmp, name), { version: `release-app ${name}` });
}

async function page(address: string): Promise<{ release: string; config: string | null }> {
  const res = await fetch(`http://${address}/`);
  assert.equal(res.status, 200, `${address} answers 200`);
  return (await res.json()) as { release: string; config: string | null };
}

/** The migration runs recorded in a host's shared SQLite database ("host release" lines; none without a database). */
async function migrationRuns(host: string): Promise<string[]> {
  const php =
    '$f = "/var/www/app/shared/storage/database.sqlite"; if (!is_file($f)) exit(0);' +
    ' foreach ((new PDO("sqlite:$f"))->query("SELECT host, release FROM migration_runs") as $r) echo $r[0], " ", $r[1], "\\n";';
  const out = await onHost(lab, host, `php -r '${php}'`);
  return out.split('\n').filter((l) => l !== '');
}

before(async () => {
  lab = await ensureLab(3);
  names = lab.hosts.slice(0, 3).map((h) => h.name);
  limit = names.join(':');
  await provision(limit);
});

describe('releasing the sample app with hooks (composer, migration)', { concurrency: false }, () => {
  const v1 = variant('v1');

  it('the artifact holds the application, its composer.json and composer.lock, and no vendor/', async () => {
    const art = await readArtifact(v1);
    for (const f of ['composer.json', 'composer.lock', 'artisan', 'src/Release.php', 'public/index.php', 'bootstrap/cache']) {
      assert.ok(art.entries.has(f), `${f} is packed`);
    }
    assert.deepEqual([...art.entries].filter((e) => e === 'vendor' || e.startsWith('vendor/')), [], 'vendor/ is built on the hosts, never packed');
  });

  it('ships under load: build on every host, migration once, 0 failed requests, every host on the new release', async () => {
    const id = (await readArtifact(v1)).id;
    const load = startLoad(lab.hosts.slice(0, 3).map((h) => h.address), { concurrency: 4, path: '/?work=50' });
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v1, ...ONE_BATCH]);
    const result = await load.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(result.requests > 50, `enough load: ${result.requests} requests`);
    assert.deepEqual(result.bad, [], `every request answered 2xx: ${JSON.stringify(result.byStatus)} ${result.errors.slice(0, 5).join('; ')}`);

    const runsOfId: string[] = [];
    // The hosts are checked at once (every check is an SSH connection of its own).
    await Promise.all(names.map(async (n, i) => {
      const host = lab.hosts[i]!;
      assert.equal((await onHost(lab, n, `readlink ${app}/current`)).trim(), `releases/${id}`, `${n} switched`);
      const served = await page(host.address);
      assert.equal(served.release, id, `${n} serves the new release`);
      // The page loads its class through vendor/autoload.php and reads the config cache the build wrote.
      assert.equal(served.config, id, `${n}: bootstrap/cache/config.php holds the release id`);
      const dir = `${app}/releases/${id}`;
      await onHost(lab, n, `test -f ${dir}/vendor/autoload.php && test -f ${dir}/vendor/composer/autoload_classmap.php && test -f ${dir}/bootstrap/cache/config.php`);
      // Built as deploy, then sealed: owned by root:app, nothing group- or world-writable.
      assert.equal((await onHost(lab, n, `stat -c '%U:%G' ${dir} ${dir}/vendor/autoload.php ${dir}/bootstrap/cache/config.php | sort -u`)).trim(), 'root:app', `${n}: sealed to root:app`);
      assert.equal((await onHost(lab, n, `find ${dir} ! -type l -perm /022 | head -5`)).trim(), '', `${n}: no group/other write in the release`);
      // after_switch ran here, for this release, as deploy (writing shared storage through the group app).
      assert.match(await onHost(lab, n, `cat ${app}/shared/storage/queue-restart; stat -c %U ${app}/shared/storage/queue-restart`), new RegExp(`^${n} ${id} \\d+\\ndeploy\\n$`));
      runsOfId.push(...(await migrationRuns(n)).filter((l) => l.endsWith(` ${id}`)));
    }));
    assert.equal(runsOfId.length, 1, `the migration ran once for ${id}, on one host: ${JSON.stringify(runsOfId)}`);
    assert.ok(names.includes(runsOfId[0]!.split(' ')[0]!), 'recorded with the host name lanes gave it (LANES_HOST)');
  });

  it('lanes releases shows the whole fleet on the new release', async () => {
    const id = (await readArtifact(v1)).id;
    const r = await runCli(['releases', site, '-i', lab.inventoryFile, '--limit', limit]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^fleet: 3 hosts on ${id}$`, 'm'));
  });

  it('lanes run --release runs a one-off artisan command in the live release on the 3 hosts', async () => {
    const id = (await readArtifact(v1)).id;
    const r = await runCli(['run', limit, '-i', lab.inventoryFile, '--release', site, '--', 'php artisan about; id -un']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const migrations = new Map<string, number>();
    for (const n of names) {
      const m = new RegExp(`^${n}: exit 0\\n  release ${id} host ${n} migrations (\\d+)\\n  deploy$`, 'm').exec(r.stdout);
      assert.ok(m, `${n} answered from the live release as deploy:\n${r.stdout}`);
      migrations.set(n, Number(m[1]));
    }
    // The once host (the first of the first batch) holds the migrated database. (Other hosts may hold
    // one too: an earlier test file on this lab may have released to one host alone.)
    assert.ok((migrations.get(names[0]!) ?? 0) > 0, `the once host ${names[0]} holds the migrated database: ${JSON.stringify([...migrations])}`);
  });

  it('without its build (no vendor/), every page fails naming the release, the health page says down; artisan fails in one line', async () => {
    const id = (await readArtifact(v1)).id;
    const copy = `/var/tmp/lanes-release-app-${process.pid}`;
    const page = (uri: string) => `(cd ${copy}/public && REQUEST_URI=${uri} php index.php)`;
    try {
      // A copy whose storage link leads nowhere (not to the live shared/storage): a migration fails in one line, naming why.
      const migrate = await onHost(
        lab,
        names[0]!,
        `rm -rf ${copy} && cp -a ${app}/releases/${id} ${copy} && cd ${copy} && rm storage && ln -s ${copy}-no-storage storage && php artisan migrate --force 2>&1; echo "exit $?"`,
      );
      assert.match(migrate, /^artisan: migrate failed: cannot open storage\/database\.sqlite \(shared\/storage must be writable by the user running artisan\): .*\nexit 1\n$/);
      const out = await onHost(lab, names[0]!, `rm -rf ${copy}/vendor && ${page('/checkout')}; echo; ${page('/up')}; echo; cd ${copy} && php artisan about 2>&1; echo "exit $?"`);
      assert.match(out, new RegExp(`\\nartisan: vendor/autoload\\.php is missing in ${copy}: run composer install first\\nexit 1\\n$`));
      const [failed, up] = out.split('\n').filter((l) => l.startsWith('{'));
      const base = path.basename(copy);
      assert.deepEqual(JSON.parse(failed!), { release: base, error: 'vendor/autoload.php is missing: the build hook (composer install) did not run' });
      assert.equal((JSON.parse(up!) as { release: string; built: boolean }).release, base);
      assert.equal((JSON.parse(up!) as { built: boolean }).built, false);
      assert.equal((JSON.parse(up!) as { status: string }).status, 'down', 'the health gate would refuse it');
    } finally {
      await onHost(lab, names[0]!, `rm -rf ${copy}`);
    }
  });

  it('re-running the live release changes nothing and runs no hook again', async () => {
    const id = (await readArtifact(v1)).id;
    const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v1]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /already live/);
    const all = (await Promise.all(names.map((n) => migrationRuns(n)))).flat();
    assert.equal(all.filter((l) => l.endsWith(` ${id}`)).length, 1, 'still one migration run');
  });
});
