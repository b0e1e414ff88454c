/**
 * A small stand-in for the resource registry, with schemas shaped like the real ones (strict
 * objects, unions with transforms, cross-field checks), so the playbook layer is tested on its own.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { RegistryEntry } from '../../../agent/playbook/compile.js';

/** Absolute path of a file under test/fixtures/playbook/ (the source tree, not dist/). */
export function fixture(rel = ''): string {
  return fileURLToPath(new URL(`../../../../test/fixtures/playbook/${rel}`, import.meta.url));
}

const unixName = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a Unix name');
const safeName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/, 'must contain only letters, digits, ".", "_", "-" or "@"');
const absolutePath = z.string().regex(/^\/[^\0\n]*$/, 'must be an absolute path');
const octalMode = z
  .union([z.string(), z.number()])
  .transform((m) => String(m))
  .pipe(z.string().regex(/^0?[0-7]{3,4}$/, 'must be an octal mode in quotes, e.g. "0644"'))
  .transform((m) => m.padStart(4, '0'));
const lineValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));
const count = z.number().int().min(0);

const pm = z
  .strictObject({
    mode: z.enum(['static', 'dynamic', 'ondemand']),
    max_children: count.min(1),
    start_servers: count.optional(),
    min_spare_servers: count.optional(),
    max_spare_servers: count.optional(),
  })
  .superRefine((pm, ctx) => {
    if (pm.start_servers === undefined) return;
    const lo = pm.min_spare_servers ?? 1;
    const hi = pm.max_spare_servers ?? pm.max_children;
    if (pm.start_servers < lo || pm.start_servers > hi) {
      ctx.addIssue({
        code: 'custom',
        path: ['start_servers'],
        message: `start_servers (${pm.start_servers}) must be between min_spare_servers (${lo}) and max_spare_servers (${hi})`,
      });
    }
  });

const file = z.strictObject({
  path: absolutePath,
  content: z.string(),
  owner: unixName.optional(),
  group: unixName.optional(),
  mode: octalMode.optional(),
  validate: z.string().optional(),
  reload: safeName.optional(),
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const entry = <S extends z.ZodType>(type: string, schema: S, id: (spec: any) => string): RegistryEntry => ({ type, schema, id });

export const fakeRegistry: RegistryEntry[] = [
  entry(
    'package',
    z.strictObject({ name: z.string().regex(/^[a-z0-9][a-z0-9+.-]*$/, 'must be a package name'), state: z.enum(['present', 'absent']).optional(), version: z.string().optional() }),
    (s) => s.name,
  ),
  entry('group', z.strictObject({ name: unixName, system: z.boolean().optional(), gid: count.optional() }), (s) => s.name),
  entry(
    'user',
    z.strictObject({ name: unixName, system: z.boolean().optional(), groups: z.array(unixName).optional(), home: absolutePath.optional(), shell: absolutePath.optional() }),
    (s) => s.name,
  ),
  entry(
    'directory',
    z.strictObject({ path: absolutePath, owner: unixName.optional(), group: unixName.optional(), mode: octalMode.optional() }),
    (s) => s.path,
  ),
  entry('file', file, (s) => s.path),
  entry('template', file.extend({ src: z.string() }), (s) => s.path),
  entry('symlink', z.strictObject({ path: absolutePath, target: z.string() }), (s) => s.path),
  entry('fpm_global', z.strictObject({ settings: z.record(z.string(), lineValue), php_version: z.string().optional() }), () => 'global'),
  entry(
    'fpm_pool',
    z.strictObject({
      name: safeName,
      state: z.enum(['present', 'absent']).default('present'),
      php_version: z.string().optional(),
      user: unixName.optional(),
      group: unixName.optional(),
      listen: z.strictObject({ path: absolutePath.optional(), owner: unixName.optional(), mode: octalMode.optional() }).optional(),
      pm: pm.optional(),
      php_admin_value: z.record(z.string(), lineValue).optional(),
    }),
    (s) => s.name,
  ),
  entry('systemd_slice', z.strictObject({ name: safeName, CPUQuota: z.string().optional(), MemoryMax: z.string().optional() }), (s) => s.name),
  entry(
    'systemd_service',
    z.strictObject({ name: safeName, ExecStart: z.string(), Slice: z.string().optional(), enabled: z.boolean().optional(), state: z.enum(['started', 'stopped']).optional() }),
    (s) => s.name,
  ),
  entry(
    'supervisor_program',
    z.strictObject({ name: safeName, command: z.string(), numprocs: count.min(1).optional(), user: unixName.optional() }),
    (s) => s.name,
  ),
  entry('service', z.strictObject({ name: safeName, enabled: z.boolean().optional(), state: z.enum(['started', 'stopped', 'restarted']).optional() }), (s) => s.name),
];
