// release as a resource: the layout every release relies on, and a process_control_timeout that
// lets in-flight requests finish on a reload.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { releaseResource, releaseSchema } from '../../../agent/resources/release.js';
import type { DesiredResource, FileState } from '../../../agent/resources/types.js';
import { actualState, debianFacts, fileState, files } from '../../support/actual.js';
import { fixture } from '../../support/paths.js';

const debianConf = readFileSync(fixture('resources', 'fpm', 'debian-bookworm-php-fpm.conf'), 'utf8');
const CONF = '/etc/php/8.2/fpm/php-fpm.conf';
const dir = (path: string): FileState => ({ path, type: 'directory', mode: '0755', owner: 'root', group: 'root', size: 4096 });
const spec = (over: Record<string, unknown> = {}) => releaseSchema.parse({ path: '/var/www/app', shared: ['storage', 'config/app.env'], ...over });
const ctx = (all: DesiredResource[] = []) => ({ host: 'lab1', all, source: { file: 'site.yml', line: 3, column: 3 } });

describe('release resource', () => {
  it('fills defaults and refuses what a release cannot work with', () => {
    const s = spec();
    assert.equal(s.keep, 5);
    assert.equal(s.serial, 1);
    assert.equal(s.reload, 'reload');
    assert.equal(releaseSchema.safeParse({ path: 'var/www' }).success, false);
    assert.equal(releaseSchema.safeParse({ path: '/x', shared: ['../etc'] }).success, false);
    assert.equal(releaseSchema.safeParse({ path: '/x', keep: 1 }).success, false);
    assert.equal(releaseSchema.safeParse({ path: '/x', serial: ['150 %'] }).success, false);
    assert.equal(releaseSchema.safeParse({ path: '/x', pools: ['a;b'] }).success, false);
  });

  it('creates releases/, shared/ and the parents of shared paths', () => {
    const changes = releaseResource.plan(spec(), actualState(debianFacts, { files: files(fileState(CONF, debianConf)) }), ctx());
    assert.deepEqual(
      changes.filter((c) => c.operations[0]?.op === 'mkdir').map((c) => (c.operations[0] as { path: string }).path),
      ['/var/www/app/releases', '/var/www/app/shared', '/var/www/app/shared/config'],
    );
  });

  it("sets process_control_timeout when Debian's 0 would let a reload kill requests, and says why", () => {
    const actual = actualState(debianFacts, {
      files: files(fileState(CONF, debianConf), dir('/var/www/app/releases'), dir('/var/www/app/shared'), dir('/var/www/app/shared/config')),
    });
    const [change, ...rest] = releaseResource.plan(spec(), actual, ctx());
    assert.equal(rest.length, 0);
    assert.match(change!.summary, /process_control_timeout \(unset, 0\) → 10s/);
    assert.match(change!.diff ?? '', /^\+process_control_timeout = 10s$/m);
    assert.deepEqual(change!.validators, [{ kind: 'fpm-test', binary: '/usr/sbin/php-fpm8.2' }]);
    assert.match(change!.notes?.[0] ?? '', /kills requests in flight/);
  });

  it('leaves it to the play when fpm.global sets it, and refuses a declared 0', () => {
    const actual = actualState(debianFacts, { files: files(fileState(CONF, debianConf), dir('/var/www/app/releases'), dir('/var/www/app/shared'), dir('/var/www/app/shared/config')) });
    const global = (v: string): DesiredResource => ({ type: 'fpm_global', id: 'global', spec: { settings: { process_control_timeout: v } } });
    assert.deepEqual(releaseResource.plan(spec(), actual, ctx([global('10s')])), []);
    assert.throws(() => releaseResource.plan(spec(), actual, ctx([global('0')])), (e: Error) => e instanceof LanesError && /would kill requests in flight/.test(e.message));
  });

  it('is converged when the layout exists and the timeout is non-zero', () => {
    const conf = debianConf.replace(';process_control_timeout = 0', 'process_control_timeout = 20s');
    const actual = actualState(debianFacts, { files: files(fileState(CONF, conf), dir('/var/www/app/releases'), dir('/var/www/app/shared'), dir('/var/www/app/shared/config')) });
    assert.deepEqual(releaseResource.plan(spec(), actual, ctx()), []);
  });
});
