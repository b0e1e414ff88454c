// The sample application (playbooks/sample-app) as the Quickstart and the e2e tests ship it: the
// artifact holds the source and the committed lock, never vendor/ (built on the hosts by the build
// hook), and the lock matches composer.json and holds no package, so `composer install` works offline.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readArtifact } from '../../../agent/rollout/artifact.js';
import { repoRoot } from '../../support/paths.js';

const app = path.join(repoRoot, 'playbooks', 'sample-app');
const json = (f: string) => JSON.parse(readFileSync(path.join(app, f), 'utf8')) as Record<string, unknown>;

/** Composer's Locker::getContentHash: md5 of the relevant keys, sorted, as PHP's json_encode writes them (slashes escaped). */
function composerContentHash(manifest: Record<string, unknown>): string {
  const keys = ['name', 'version', 'require', 'require-dev', 'conflict', 'replace', 'provide', 'minimum-stability', 'prefer-stable', 'repositories', 'extra'];
  const relevant: Record<string, unknown> = {};
  for (const k of keys.filter((k) => k in manifest).sort()) relevant[k] = manifest[k];
  const platform = (manifest.config as { platform?: unknown } | undefined)?.platform;
  if (platform !== undefined) relevant.config = { platform };
  return createHash('md5').update(JSON.stringify(relevant).replace(/\//g, '\\/')).digest('hex');
}

describe('the sample application', () => {
  it('packs its source, composer.json and composer.lock, and no vendor/', async () => {
    const art = await readArtifact(app);
    for (const f of ['composer.json', 'composer.lock', 'artisan', 'src/Release.php', 'src/Migrations.php', 'public/index.php', 'bootstrap/cache/.gitignore']) {
      assert.ok(art.entries.has(f), `${f} is in the artifact`);
    }
    const vendor = [...art.entries].filter((e) => e === 'vendor' || e.startsWith('vendor/'));
    assert.deepEqual(vendor, [], 'vendor/ is built on the hosts (run no composer install in playbooks/sample-app)');
  });

  it('has a lock that matches composer.json and holds no package (composer install needs no network)', () => {
    const manifest = json('composer.json');
    const lock = json('composer.lock');
    assert.equal(lock['content-hash'], composerContentHash(manifest), 'composer.lock is up to date with composer.json');
    assert.deepEqual(lock.packages, []);
    assert.deepEqual(lock['packages-dev'], []);
    assert.deepEqual(manifest.autoload, { 'psr-4': { 'SampleApp\\': 'src/' } });
  });
});
