/**
 * Fast start, proved structurally (no timings): the real CLI runs under a module-loader hook that
 * records every module Node loads, and `lanes --version` / `lanes plan --help` must not have loaded
 * the engine's heavy dependencies. A command that does run (`lanes schema`) is the control: the same
 * hook sees the engine there, so an empty record cannot pass for laziness. Both builds are checked:
 * tsc's module graph (dist/cli/main.js) and the bundle npm's bin runs (dist/bin/main.js), whose loaded
 * files are mapped back to the sources in them through the bundler's metafile.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../../', import.meta.url));
const BUILDS = { tsc: path.join(dist, 'cli', 'main.js'), bundle: path.join(dist, 'bin', 'main.js') } as const;
type Build = keyof typeof BUILDS;
/** The engine's dependencies that `--help` and `--version` have no use for. */
const HEAVY = ['ssh2', 'zod', 'listr2', 'nunjucks', 'yaml', 'diff', 'tar-stream', 'p-limit'];

/** Registers a load hook (it runs in the loader thread) that appends each file: URL loaded to $LANES_TEST_LOADED. */
const HOOK = `data:text/javascript,${encodeURIComponent(`
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(`
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.LANES_TEST_LOADED, url + '\\n');
  return next(url, context);
}`)}));
`)}`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'lanes-lazy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** For the bundle: each output file (absolute path) → the source files bundled into it (as `/dist/…`, `/node_modules/…`). */
let bundleInputs: Map<string, string[]> | undefined;
function sourcesOf(file: string): string[] {
  if (bundleInputs === undefined) {
    const meta = JSON.parse(readFileSync(path.join(dist, 'build', 'bundle-meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
    const root = path.resolve(dist, '..');
    bundleInputs = new Map(Object.entries(meta.outputs).map(([out, o]) => [path.resolve(root, out), Object.keys(o.inputs).map((i) => `/${i}`)]));
  }
  const inputs = bundleInputs.get(file);
  assert.ok(inputs, `${file} is not an output of the bundle (stale dist/build/bundle-meta.json?)`);
  return inputs;
}

let runs = 0;
/**
 * Run the CLI (in an empty directory: no ansible.cfg) and return its output and the modules it loaded:
 * file URLs for tsc's build, the sources inside each loaded file for the bundle (plus any file loaded
 * from outside the bundle, such as ssh2 from node_modules).
 */
function loadedBy(build: Build, args: string[]): { stdout: string; status: number | null; modules: string[]; packages: Set<string> } {
  const record = path.join(dir, `loaded-${runs++}.txt`);
  const r = spawnSync(process.execPath, ['--import', HOOK, BUILDS[build], ...args], {
    cwd: dir,
    env: { ...process.env, LANES_TEST_LOADED: record, ANSIBLE_CONFIG: '', LANES_INVENTORY: '' },
    encoding: 'utf8',
  });
  const urls = readFileSync(record, 'utf8').split('\n').filter(Boolean);
  const bundleDir = path.dirname(BUILDS.bundle) + path.sep;
  const modules = build === 'tsc' ? urls : urls.flatMap((u) => (fileURLToPath(u).startsWith(bundleDir) ? sourcesOf(fileURLToPath(u)) : [u]));
  const packages = new Set(modules.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p): p is string => p !== undefined));
  return { stdout: r.stdout, status: r.status, modules, packages };
}

for (const build of Object.keys(BUILDS) as Build[]) describe(`lanes starts without loading the engine (${build} build)`, () => {
  it('the control: a command that runs loads the engine, and the hook sees it', () => {
    const r = loadedBy(build, ['schema']);
    assert.equal(r.status, 0);
    assert.ok(r.modules.some((u) => u.includes('/agent/playbook/')), 'schema loads the playbook compiler');
    assert.ok(r.packages.has('zod'), `schema loads zod; loaded: ${[...r.packages].join(', ')}`);
  });

  it('lanes --version loads neither yargs nor any command', () => {
    const r = loadedBy(build, ['--version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.deepEqual([...r.packages], []);
    assert.deepEqual(
      r.modules.filter((u) => u.includes('/cli/') && !u.endsWith('/cli/main.js') && !u.endsWith('/cli/pipes.js') && !u.endsWith('/cli/settings.js')),
      [],
    );
  });

  // Every command's definition is loaded by any of these (cli/commands.ts); a builder imports nothing more.
  for (const args of [['plan', '--help'], ['--help'], ['lab', 'up', '--help']]) {
    it(`lanes ${args.join(' ')} loads yargs but none of ${HEAVY.join(', ')}, nor the engine`, () => {
      const r = loadedBy(build, args);
      assert.equal(r.status, 0);
      assert.match(r.stdout, /Options:/);
      assert.ok(r.packages.has('yargs'), 'the help is yargs’');
      assert.deepEqual(HEAVY.filter((p) => r.packages.has(p)), []);
      // The engine folders a command's handler imports: none is needed to describe its options.
      const engine = r.modules.filter((u) => /\/agent\/(plan|apply|rollout\/(?!duration)|run|transport\/(?!connect-defaults)|remote|resources|facts|playbook|vault|lab\/(?!paths)|inventory\/(?!options))/.test(u));
      assert.deepEqual(engine, []);
    });
  }
});
