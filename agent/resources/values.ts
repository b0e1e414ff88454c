/**
 * Value rules shared by resource schemas. Everything a playbook declares ends up in a config file
 * or on a remote command line, so names are restricted to what those places accept, and values that
 * would break a line-based config format (a newline in an INI value) are refused at load time —
 * with the playbook's file:line:column, before any connection.
 */
import { z } from 'zod';

/** Unix user/group names (shadow-utils' rule, a bit stricter): lower case, digits, _ and -, not starting with -. */
export const unixName = z
  .string()
  .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'must be a Unix name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters');

/** Names that become file names, INI section names or unit names: letters, digits, . _ - and @ (no spaces, no shell metacharacters). */
export const safeName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/, 'must contain only letters, digits, ".", "_", "-" or "@" (no spaces, newlines or shell metacharacters)');

export const absolutePath = z
  .string()
  .regex(/^\/[^\0\n]*$/, 'must be an absolute path (starting with "/", without newlines)')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".." components');

export const octalMode = z
  .union([z.string(), z.number()])
  .transform((m) => String(m))
  .pipe(z.string().regex(/^0?[0-7]{3,4}$/, 'must be an octal mode in quotes, e.g. "0644"'))
  .transform((m) => m.padStart(4, '0'));

/** A single-line value for INI-style files (php-fpm, supervisor, systemd units). */
export const lineValue = z
  .union([z.string(), z.number(), z.boolean()])
  .transform((v) => String(v))
  .pipe(z.string().refine((s) => !/[\r\n\0]/.test(s), 'must be on one line (no newline characters)'));
