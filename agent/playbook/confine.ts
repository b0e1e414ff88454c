/**
 * The files a playbook may read: template files, includes/imports/extends and vars_files stay inside
 * the playbook's directory tree, `-e @file` inside the working directory tree — plus the directories
 * listed in LANES_TEMPLATE_ROOTS (separated by ":"). A path is checked as written (absolute paths and
 * `..` that leave the tree) and as resolved (a symbolic link pointing out of the tree).
 */
import { realpathSync } from 'node:fs';
import { delimiter, isAbsolute, relative, resolve, sep } from 'node:path';

export const ROOTS_ENV = 'LANES_TEMPLATE_ROOTS';

/** The extra roots from LANES_TEMPLATE_ROOTS (relative ones from the working directory). */
export function extraRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[ROOTS_ENV] ?? '')
    .split(delimiter)
    .filter((r) => r.trim() !== '')
    .map((r) => resolve(r));
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

export class Confinement {
  /** The roots (the first names the tree in messages), and their resolved forms. */
  readonly roots: string[];
  private readonly realRoots: string[];
  private readonly extra: number;

  constructor(
    roots: readonly string[],
    /** How messages name the first root: "the playbook directory". */
    private readonly label: string,
    /** What is confined, for messages: "templates, includes and vars_files". */
    private readonly confined: string,
  ) {
    const extra = extraRoots();
    this.extra = extra.length;
    this.roots = [...roots.map((r) => resolve(r)), ...extra];
    this.realRoots = this.roots.map((r) => real(r) ?? r);
  }

  /** Why `path` (which `name` was resolved to) may not be read; undefined when it may. */
  outside(kind: string, name: string, path: string): string | undefined {
    const full = resolve(path);
    const lexical = this.roots.some((r) => inside(r, full));
    const resolved = real(full);
    if (lexical && (resolved === undefined || this.realRoots.some((r) => inside(r, resolved)))) return undefined;
    const extra = this.extra > 0 ? ` and to ${ROOTS_ENV}` : '';
    const what = lexical ? 'leads through a symbolic link out of' : 'is outside';
    return `${kind} "${name}" ${what} ${this.label} ${this.roots[0] ?? ''} (${this.confined} are confined to it${extra})`;
  }
}
