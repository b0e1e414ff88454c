import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { defaultCacheDir, defaultStateDir, hostPaths, machineName, resolveLabPaths, validateLabName } from '../../../agent/lab/paths.js';

describe('lab paths', () => {
  it('takes the cache dir from LANES_CACHE_DIR, else XDG_CACHE_HOME, else ~/.cache', () => {
    assert.equal(defaultCacheDir({ LANES_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' }, '/home/u'), '/c');
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x' }, '/home/u'), '/x/lanes');
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/u'), '/home/u/.cache/lanes');
    assert.equal(defaultCacheDir({}, '/home/u'), '/home/u/.cache/lanes');
  });

  it('takes the state dir from LANES_STATE_DIR, else XDG_STATE_HOME, else ~/.local/state', () => {
    assert.equal(defaultStateDir({ LANES_STATE_DIR: '/s' }, '/home/u'), '/s');
    assert.equal(defaultStateDir({ XDG_STATE_HOME: '/xs' }, '/home/u'), '/xs/lanes');
    assert.equal(defaultStateDir({}, '/home/u'), '/home/u/.local/state/lanes');
  });

  it('lays out a lab and its hosts', () => {
    const p = resolveLabPaths({ name: 'e2elab', stateDir: '/s', cacheDir: '/c' });
    assert.equal(p.labDir, '/s/lab/e2elab');
    assert.equal(p.keyFile, '/s/lab/e2elab/id_ed25519');
    assert.equal(p.knownHostsFile, '/s/lab/e2elab/known_hosts');
    assert.equal(p.inventoryFile, '/s/lab/e2elab/inventory.yml');
    assert.equal(p.imagesDir, '/c/lab/images');
    assert.deepEqual(hostPaths(p, 'lab2'), {
      dir: '/s/lab/e2elab/hosts/lab2',
      upper: '/s/lab/e2elab/hosts/lab2/upper',
      work: '/s/lab/e2elab/hosts/lab2/work',
      merged: '/s/lab/e2elab/hosts/lab2/merged',
      consoleLog: '/s/lab/e2elab/hosts/lab2/console.log',
    });
    assert.equal(machineName('e2elab', 'lab2'), 'e2elab-lab2');
    assert.equal(resolveLabPaths({ stateDir: '/s', cacheDir: '/c' }).name, 'lanes');
  });

  it('refuses lab names that are not plain lowercase words', () => {
    for (const bad of ['', 'Lab', '1lab', 'a/b', '../x', 'a b', 'x'.repeat(25)]) {
      assert.throws(() => validateLabName(bad), (err: unknown) => err instanceof LanesError && err.kind === 'input', bad);
    }
    assert.equal(validateLabName('e2e-lab2'), 'e2e-lab2');
  });
});
