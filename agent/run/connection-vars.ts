/**
 * Connection variables are templated before anything connects, with the same engine and
 * precedence as everything else: `ansible_host: "{{ inventory_hostname }}.{{ domain }}"`,
 * `ansible_become_password: "{{ vault_sudo_pass }}"`. The scope is the host's inventory variables,
 * then -e (which also override the connection variables themselves, as in Ansible), then the magic
 * variables (inventory_hostname, group_names, groups). Commands without a playbook (ping, facts)
 * have no -e. An undefined variable is an error naming the host and the variable: a template is
 * never used as a literal address or password.
 */
import { LanesError } from '../errors.js';
import type { Inventory } from '../inventory/model.js';
import { groupHosts } from '../inventory/pattern.js';
import { mergeVars, setVar, type Vars } from '../inventory/vars.js';
import { RenderError, Scope, TemplateEngine, isTemplated } from '../playbook/template.js';
import type { FleetHost } from './fleet.js';
import { isPyValue } from '../values/python.js';

/** The variables resolveTarget reads (agent/transport/target.ts). */
export const CONNECTION_VARS = [
  'ansible_host',
  'ansible_ssh_host',
  'ansible_port',
  'ansible_ssh_port',
  'ansible_user',
  'ansible_ssh_user',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_ssh_common_args',
  'ansible_ssh_extra_args',
  'ansible_timeout',
  'ansible_become',
  'ansible_become_user',
  'ansible_become_method',
  'ansible_become_password',
  'ansible_become_pass',
] as const;

/** The hosts `names` of `inventory`, each with its connection variables rendered. */
export function connectionHosts(inventory: Inventory, names: readonly string[], extraVars: Vars = {}): FleetHost[] {
  const groups: Vars = {};
  for (const g of inventory.groups.keys()) setVar(groups, g, groupHosts(inventory, g));
  // No template search paths: a connection variable has no business including files.
  const engine = new TemplateEngine([]);
  return names.map((name) => {
    const host = inventory.hosts.get(name);
    if (!host) throw new LanesError(`host "${name}" is not in the inventory`, { kind: 'pattern' });
    return { name, vars: renderConnectionVars(engine, name, host.vars, host.groups, groups, extraVars) };
  });
}

function renderConnectionVars(engine: TemplateEngine, name: string, own: Vars, hostGroups: string[], groups: Vars, extraVars: Vars): Vars {
  const scopeVars: Vars = {};
  mergeVars(scopeVars, own);
  mergeVars(scopeVars, extraVars);
  mergeVars(scopeVars, {
    inventory_hostname: name,
    inventory_hostname_short: name.split('.')[0] ?? name,
    group_names: hostGroups.filter((g) => g !== 'all'),
    groups,
  });
  const out: Vars = { ...own };
  let scope: Scope | undefined;
  for (const key of CONNECTION_VARS) {
    if (!Object.hasOwn(scopeVars, key)) continue;
    const raw = scopeVars[key];
    if (typeof raw !== 'string' || !isTemplated(raw)) {
      out[key] = plain(raw);
      continue;
    }
    scope ??= new Scope(engine, scopeVars);
    try {
      out[key] = plain(scope.lookup(key));
    } catch (e) {
      if (e instanceof RenderError) {
        throw new LanesError(`cannot render ${key}: ${e.describe()}`, {
          host: name,
          hint: 'connection variables are rendered with the host\'s inventory variables (and -e); define the variable or fix the template',
        });
      }
      throw e;
    }
  }
  return out;
}

/** Scalars as they are; a mapping or list (a Proxy of the scope) as a plain copy, for resolveTarget's type errors. */
function plain(v: unknown): unknown {
  // A float, big int or date as Python prints it (ansible_user: 8.0 is "8.0"; a port 22.0 still reads as 22).
  if (isPyValue(v)) return String(v);
  // A big integer (bigint) inside is kept as its digits: JSON.stringify cannot write a bigint.
  return v !== null && typeof v === 'object' ? JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))) : v;
}
