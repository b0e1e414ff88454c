/** Report renderers: the engine emits events, these turn them into output. */

export * from './events.js';
export type { Renderer, OutputStream, Env } from './renderer.js';
export { SecretMasker, secrets, MASK, MIN_SECRET_LENGTH } from './mask.js';
export { PlainRenderer, type PlainRendererOptions } from './plain.js';
export { JsonRenderer, toJsonLine, type JsonRendererOptions } from './json.js';
export { LiveRenderer, type LiveRendererOptions } from './live.js';
export { chooseRenderer, rendererKind, type ChooseRendererOptions, type RendererKind } from './choose.js';
export { colorEnabled } from './color.js';
export { formatMs, summaryLines } from './format.js';
