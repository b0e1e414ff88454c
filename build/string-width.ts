/**
 * What the bundled CLI gets for `import stringWidth from 'string-width'` (build/bundle.ts): ASCII
 * measured at once, the real string-width loaded the first time other text is measured. esbuild turns
 * this require() into a lazy initialiser of the bundled module (only in the bundle: the library and
 * tsc's dist/cli never import this file).
 */
import { asciiFirst, type Width } from './text-width.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- esbuild's lazy module init; see above
export default asciiFirst(() => (require('string-width') as { default: Width }).default);
