/**
 * `package`: an OS package installed (optionally at a version) or removed, with apt on Debian-family
 * hosts and dnf/yum on RHEL-family hosts (the package_manager fact). One `run` operation per package;
 * the apply engine may batch them.
 *
 *   packages:
 *     - nginx                                 # a bare name: present, any version
 *     - { name: php8.2-fpm, version: "8.2.32-1+deb12u1" }
 *     - { name: apache2, state: absent }
 */
import { z } from 'zod';
import { LanesError } from '../errors.js';
import type { PackageManagerFact } from '../facts/packages.js';
import { shCommand } from '../transport/quote.js';
import type { Change, Operation, ResourceType } from './types.js';

/** Debian policy (lower case) and RPM (which also allows upper case, e.g. NetworkManager): never a leading "-". */
export const packageName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9+._-]*$/, 'must be a package name: letters, digits, "+", ".", "_" or "-", starting with a letter or digit');

/** [epoch:]version[-release] as apt and rpm write them (e.g. "1:2.0~rc1+dfsg-1", "8.2.13-1.el9"). */
export const packageVersion = z
  .string({ error: 'must be a version in quotes, e.g. "1.22.1-9"' })
  .regex(/^[0-9A-Za-z][0-9A-Za-z.+~:^_-]*$/, 'must be a package version: letters, digits and ". + ~ : ^ _ -", starting with a letter or digit');

export const packageSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { name: value } : value),
  z.strictObject({
    name: packageName,
    state: z.enum(['present', 'absent']).default('present'),
    version: packageVersion.optional(),
  }),
);
export type PackageSpec = z.output<typeof packageSchema>;

type Manager = PackageManagerFact['manager'];

/** Whether an installed version satisfies the wanted one. apt pins exactly; an rpm version without a
 *  release ("1.20.1") matches any release ("1.20.1-10.el9"). An epoch only counts when both carry one. */
export function versionMatches(manager: Manager, installed: string, want: string): boolean {
  const split = (v: string): [string | undefined, string] => {
    const m = /^(\d+):(.*)$/.exec(v);
    return m ? [m[1], m[2]!] : [undefined, v];
  };
  const [haveEpoch, haveVersion] = split(installed);
  const [wantEpoch, wantVersion] = split(want);
  if (haveEpoch !== undefined && wantEpoch !== undefined && haveEpoch !== wantEpoch) return false;
  if (haveVersion === wantVersion) return true;
  return manager !== 'apt' && haveVersion.startsWith(`${wantVersion}-`);
}

const APT_ENV = 'DEBIAN_FRONTEND=noninteractive';

function installScript(manager: 'apt' | 'dnf' | 'yum', spec: PackageSpec, installed: boolean): string {
  if (manager === 'apt') {
    const target = spec.version === undefined ? spec.name : `${spec.name}=${spec.version}`;
    const args = ['apt-get', 'install', '-y', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold'];
    // A pinned version may be older than the installed one; apt refuses a downgrade unless told.
    if (installed && spec.version !== undefined) args.push('--allow-downgrades');
    return `${APT_ENV} ${shCommand([...args, target])}`;
  }
  const target = spec.version === undefined ? spec.name : `${spec.name}-${spec.version}`;
  return shCommand([manager, 'install', '-y', target]);
}

function removeScript(manager: 'apt' | 'dnf' | 'yum', name: string): string {
  return manager === 'apt' ? `${APT_ENV} ${shCommand(['apt-get', 'remove', '-y', name])}` : shCommand([manager, 'remove', '-y', name]);
}

export const packageResource: ResourceType<PackageSpec> = {
  type: 'package',
  schema: packageSchema,
  id: (spec) => spec.name,
  probes: (spec) => [{ kind: 'package', name: spec.name }],
  plan(spec, actual, ctx): Change[] {
    const resource = `package[${spec.name}]`;
    const installed = actual.packages.get(spec.name)?.version;
    const manager = actual.facts.package_manager.manager;
    if (manager === 'unknown') {
      // Only an error when something would have to change.
      const converged = spec.state === 'absent' ? installed === undefined : installed !== undefined && (spec.version === undefined || versionMatches(manager, installed, spec.version));
      if (converged) return [];
      throw new LanesError(`${resource}: no supported package manager on ${ctx.host} (looked for apt-get, dnf and yum)`, {
        location: ctx.source,
        host: ctx.host,
      });
    }
    const op = (script: string, describe: string): Operation => ({ op: 'run', phase: 'prepare', script, describe });

    if (spec.state === 'absent') {
      if (installed === undefined) return [];
      const summary = `remove package ${spec.name} ${installed}`;
      return [
        {
          resource,
          action: 'delete',
          summary,
          fields: [{ name: 'version', before: installed }],
          operations: [op(removeScript(manager, spec.name), summary)],
        },
      ];
    }

    if (installed === undefined) {
      const summary = `install package ${spec.name}${spec.version !== undefined ? ` ${spec.version}` : ''}`;
      return [
        {
          resource,
          action: 'create',
          summary,
          ...(spec.version !== undefined ? { fields: [{ name: 'version', after: spec.version }] } : {}),
          operations: [op(installScript(manager, spec, false), summary)],
        },
      ];
    }

    if (spec.version === undefined || versionMatches(manager, installed, spec.version)) return [];
    const summary = `package ${spec.name}: version ${installed} → ${spec.version}`;
    return [
      {
        resource,
        action: 'update',
        summary,
        fields: [{ name: 'version', before: installed, after: spec.version }],
        operations: [op(installScript(manager, spec, true), summary)],
        ...(manager === 'yum' ? { notes: ['yum install only upgrades: if the pinned version is older than the installed one, yum leaves it'] } : {}),
      },
    ];
  },
};
