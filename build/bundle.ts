/**
 * Bundles the `lanes` command (dist/cli/main.js, tsc's output) into dist/bin/: main.js plus one chunk
 * per lazily imported command engine. Why: Node 20 has no compile cache, and resolving, reading and
 * compiling ~400 separate ES modules (lanes' own files, zod's locales, yargs' helpers) was most of a
 * start's cost; one bundle with code splitting loads only what a command uses, in a few files.
 *
 * Left outside the bundle and loaded from node_modules at run time: ssh2 (its optional native crypto
 * binding is found relative to its own files). Wrapped inside the bundle: string-width, which builds
 * an Intl.Segmenter and Unicode-property regexes (~40 ms) when imported, although yargs' help measures
 * only ASCII; build/string-width.ts measures ASCII itself and loads the real one for other text.
 *
 * The library (`import 'lanes'`, dist/agent/index.js) is not bundled: it stays tsc's module graph.
 */
import { build, type Plugin } from 'esbuild';
import { chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const outdir = path.join(root, 'dist', 'bin');
/** Which source files went into which output file: test/unit/cli/lazy-start.test.ts reads it to see what a start loaded. */
const metaFile = path.join(root, 'dist', 'build', 'bundle-meta.json');

/** Every `import … from 'string-width'` (yargs, cliui, wrap-ansi, cli-truncate) gets build/string-width.js, which itself loads the real one. */
const lazyStringWidth = path.join(root, 'dist', 'build', 'string-width.js');
const textWidth: Plugin = {
  name: 'text-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, (args) => (args.importer === lazyStringWidth ? undefined : { path: lazyStringWidth }));
  },
};

/**
 * zod's `z.locales` (and `z.core.locales`) namespace re-exports its ~60 translations (300 KB, half of zod in the bundle), all
 * parsed on every start; lanes never switches zod's locale, and zod registers English by itself. The
 * namespace keeps `en` only.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.startsWith(path.join(root, 'node_modules', 'zod', 'v4') + path.sep) ? { path: 'zod-locales', namespace: 'lanes' } : undefined,
    );
    b.onLoad({ filter: /^zod-locales$/, namespace: 'lanes' }, () => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(root, 'node_modules', 'zod', 'v4', 'locales', 'en.js'))};`,
      resolveDir: root,
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  metafile: true,
  entryPoints: { main: path.join(root, 'dist', 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['ssh2'],
  plugins: [textWidth, zodEnglishOnly],
  // Whitespace and syntax only: identifiers keep their names, so a bug's stack trace (exit 70) still reads.
  minifyWhitespace: true,
  minifySyntax: true,
  chunkNames: '[name]-[hash]',
  // Bundled CommonJS packages (nunjucks, yargs-parser's shims) call require(); an ES module has none.
  banner: { js: "import { createRequire as __lanesRequire } from 'node:module'; const require = __lanesRequire(import.meta.url);" },
  logLevel: 'warning',
});
// fcgi.ts looks for fcgi.php beside the module that reads it (agent/remote/fcgi.ts: CANDIDATES).
copyFileSync(path.join(root, 'agent', 'remote', 'fcgi.php'), path.join(outdir, 'fcgi.php'));
chmodSync(path.join(outdir, 'main.js'), 0o755);
writeFileSync(metaFile, JSON.stringify(result.metafile));
