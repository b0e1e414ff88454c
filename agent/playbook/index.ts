/**
 * Playbooks: YAML plays that select inventory hosts and declare their desired state in sections
 * (packages, files, templates, fpm, supervisor, systemd, services…), with Ansible-style variables
 * and Jinja2-style templating, compiled per host into the desired resources the planner compares
 * with the host.
 */
import { resourceTypes } from '../resources/index.js';
import { buildPlaybookJsonSchema } from './schema.js';

export { loadPlaybook, parsePlaybook, type Playbook, type Play, type PlaySection, type PlayParam, type VarsFileEntry } from './load.js';
export {
  compilePlaybook,
  type CompileOptions,
  type CompiledPlan,
  type RegistryEntry,
  type ResourceRegistry,
} from './compile.js';
export { PlaybookErrors } from './errors.js';
export { parseExtraVars, parseExtraVarsArg, parseKeyValues } from './vars.js';
export { SECTIONS, PARAMS, type Section, type SectionForm, type Param } from './sections.js';
export { buildPlaybookJsonSchema } from './schema.js';
export { TemplateEngine, Scope, RenderError, OMIT } from './template.js';

/** The JSON Schema of a playbook for the resource types lanes has (`lanes schema`). */
export function playbookJsonSchema(): Record<string, unknown> {
  return buildPlaybookJsonSchema(resourceTypes);
}
