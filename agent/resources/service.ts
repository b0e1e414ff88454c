/**
 * service: enabled/started state of a unit lanes does not write (nginx, php8.2-fpm, redis-server…).
 *
 *   services:
 *     nginx: { enabled: true, state: started }
 *
 * Only `systemctl show` is read and only enable/disable/start/stop are planned; files are never
 * touched. A unit that is not installed (LoadState=not-found) is an error naming the host, as is
 * enabling a static or masked unit.
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import type { Change, Handler, Probe, ResourceType } from './types.js';
import { safeName } from './values.js';
import { requireSystemd, unitProps, unitStatePlan } from './unit-file.js';
import { unitClaim } from './claims.js';

const UNIT_SUFFIX = /\.(service|socket|timer|target|path|mount|automount|swap|slice|scope|device)$/;

export const serviceSchema = z
  .strictObject({
    name: safeName,
    enabled: z.boolean().optional(),
    state: z.enum(['started', 'stopped'], { error: 'must be "started" or "stopped"' }).optional(),
  })
  .transform((v) => ({ ...v, name: UNIT_SUFFIX.test(v.name) ? v.name : `${v.name}.service` }));

export type ServiceSpec = z.output<typeof serviceSchema>;

export const serviceResource: ResourceType<ServiceSpec> = {
  type: 'service',
  schema: serviceSchema,
  id: (spec) => spec.name,
  claims: (spec) => [unitClaim(spec.name)],
  probes: (spec): Probe[] => [{ kind: 'unit', name: spec.name, properties: ['ActiveState', 'UnitFileState'] }],
  plan(spec, actual, ctx): Change[] {
    const unit = spec.name;
    const resource = `service[${unit}]`;
    requireSystemd(actual, ctx, resource);
    const props = unitProps(actual, unit);
    if (!props.LoadState || props.LoadState === 'not-found') {
      throw new LanesError(`${resource}: unit ${unit} not found on ${ctx.host}`, {
        kind: 'input',
        location: ctx.source,
        host: ctx.host,
        hint: 'install the package that provides it first, or check the unit name (systemctl list-unit-files)',
      });
    }
    if (props.LoadState !== 'loaded' && props.LoadState !== 'masked') {
      throw new LanesError(`${resource}: unit ${unit} failed to load on ${ctx.host} (LoadState=${props.LoadState})`, {
        kind: 'input',
        location: ctx.source,
        host: ctx.host,
        hint: `see systemctl status ${unit}`,
      });
    }
    const state = unitStatePlan(unit, { enabled: spec.enabled, state: spec.state }, props, ctx, resource, false);
    const handlers = [state.enable, state.run].filter((h): h is Handler => h !== undefined);
    if (!handlers.length) return [];
    return [
      {
        resource,
        action: 'update',
        summary: `service ${unit}: ${handlers.map((h) => (h.kind === 'unit' ? h.action : h.kind)).join(', ')}`,
        fields: state.fields,
        operations: [],
        handlers,
      },
    ];
  },
};
