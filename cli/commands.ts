/**
 * Every command's definition (name, description, options), for main(). Each is light: its engine is
 * imported inside its handler, so loading this table costs yargs' parse and nothing more.
 */
export { applyCommand } from './apply.js';
export { configCommand } from './config.js';
export { drainCommand, undrainCommand } from './drain.js';
export { factsCommand } from './facts.js';
export { inventoryCommand } from './inventory.js';
export { labCommand } from './lab.js';
export { pingCommand } from './ping.js';
export { planCommand } from './plan.js';
export { releaseCommand } from './release.js';
export { releasesCommand } from './releases.js';
export { rollbackCommand } from './rollback.js';
export { runCommand } from './run.js';
export { schemaCommand } from './schema.js';
