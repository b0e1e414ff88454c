// The bundle npm's bin runs (dist/bin/main.js, build/bundle.ts) is the same program as tsc's build:
// every command's help and the version are byte-identical, a user error reads the same, and the files
// the bundle needs at run time (fcgi.php, ssh2 outside it) are where it looks for them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cliPath, repoRoot } from '../../support/paths.js';

const tscMain = path.join(repoRoot, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-bundle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(main: string, args: string[]) {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ANSIBLE_CONFIG: '', LANES_INVENTORY: '', COLUMNS: '100' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the bundled CLI', () => {
  it('is what npm runs: package.json bin names it, and it is executable', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: { lanes: string } };
    assert.equal(path.join(repoRoot, pkg.bin.lanes), cliPath);
    assert.ok(cliPath.endsWith(path.join('dist', 'bin', 'main.js')));
    const r = spawnSync(cliPath, ['--version'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  const commands = ['', 'plan', 'apply', 'release', 'rollback', 'releases', 'drain', 'undrain', 'run', 'ping', 'facts', 'inventory', 'lab', 'lab up', 'schema', 'config'];
  it(`prints the same help as tsc's build for ${commands.length} commands, and the same version`, () => {
    for (const c of commands) {
      const args = [...c.split(' ').filter(Boolean), '--help'];
      const a = run(tscMain, args);
      const b = run(cliPath, args);
      assert.equal(a.status, 0, `${c}: ${a.stderr}`);
      assert.match(a.stdout, /Options:/);
      assert.deepEqual(b, a, `lanes ${args.join(' ')}`);
    }
    assert.deepEqual(run(cliPath, ['--version']), run(tscMain, ['--version']));
  });

  it('reports user errors the same way (one line, exit 1): a missing playbook, one the schema refuses', () => {
    const bad = path.join(dir, 'bad.yml');
    writeFileSync(bad, '- hosts: all\n  fpm:\n    pools:\n      - name: web\n');
    for (const [file, message] of [[path.join(dir, 'missing.yml'), /missing\.yml/], [bad, /bad\.yml:3:5: fpm\.pools: must be a mapping/]] as const) {
      const args = ['plan', file, '-i', 'web1,'];
      const a = run(tscMain, args);
      assert.equal(a.status, 1);
      assert.match(a.stderr, /^lanes: /);
      assert.match(a.stderr, message);
      assert.deepEqual(run(cliPath, args), a);
    }
  });

  it('finds fcgi.php beside it, leaves ssh2 (a native binding) to node_modules, and has only English of zod', () => {
    assert.ok(existsSync(path.join(path.dirname(cliPath), 'fcgi.php')));
    const meta = JSON.parse(readFileSync(path.join(repoRoot, 'dist', 'build', 'bundle-meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    const inputs = Object.keys(meta.inputs);
    assert.ok(inputs.some((i) => i.startsWith('node_modules/yargs/')), 'yargs is bundled');
    assert.deepEqual(inputs.filter((i) => i.startsWith('node_modules/ssh2/')), []);
    // zod's translations are left out but English (build/bundle.ts: zodEnglishOnly).
    assert.deepEqual(inputs.filter((i) => i.startsWith('node_modules/zod/v4/locales/')), ['node_modules/zod/v4/locales/en.js']);
  });
});
