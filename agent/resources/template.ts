/**
 * `template`: a file whose content the playbook layer rendered from `src` (Jinja2-style, per host)
 * before planning. Everything but the label and the messages is the `file` resource.
 *
 *   templates:
 *     - src: templates/nginx.conf.j2
 *       path: /etc/nginx/nginx.conf
 *       validate: nginx -t
 *       reload: nginx
 */
import { planManagedFile, templateSchema, type TemplateSpec } from './file.js';
import type { ResourceType } from './types.js';
import { pathClaim } from './claims.js';

export type { TemplateSpec } from './file.js';

export const templateResource: ResourceType<TemplateSpec> = {
  type: 'template',
  schema: templateSchema,
  id: (spec) => spec.path,
  claims: (spec) => [pathClaim(spec.path)],
  probes: (spec) => [{ kind: 'file', path: spec.path }],
  plan: (spec, actual, ctx) => planManagedFile('template', spec, actual, ctx),
};
