/**
 * The one table of playbook sections: where each sits in a play, the resource type its items
 * become, and how an item is turned into that type's spec. Adding a resource type to playbooks is
 * adding a row here (its schema comes from the resource registry); load, compile and the JSON
 * Schema all read this table.
 */

export type SectionForm =
  /** A list of mappings (or of plain strings, when `shorthand` names the field a string fills). */
  | 'list'
  /** A mapping of name → settings; the name fills `keyField`. */
  | 'map'
  /** One mapping, placed whole into the field `wrap`. */
  | 'single'
  /** A list of names, each becoming `{ [keyField]: name, ...fixed }`. */
  | 'names';

export interface Section {
  /** Where the section sits in a play, e.g. ['fpm', 'pools']. */
  path: readonly string[];
  /** Resource type of its items (a `type` of the resource registry). */
  type: string;
  form: SectionForm;
  /** 'map' and 'names': the spec field the name goes to (default "name"). */
  keyField?: string;
  /** 'list': a plain string item means `{ [shorthand]: item }`. */
  shorthand?: string;
  /** 'single': the spec field that receives the mapping; without it the mapping is the spec itself. */
  wrap?: string;
  /** Item keys that are renamed in the spec: playbook key → spec field. */
  rename?: Readonly<Record<string, string>>;
  /** Item keys refused in this section, with what to write instead. */
  forbid?: Readonly<Record<string, string>>;
  /** Fields every item gets. */
  fixed?: Readonly<Record<string, unknown>>;
  /** Spec fields filled from a play parameter (see PARAMS) unless the item sets them. */
  inherit?: Readonly<Record<string, string>>;
  /** The item names a template file (`src`, relative to the playbook) rendered per host into `into`. */
  template?: { src: string; into: string };
  /** Each mapping of the list field `list` may name a template file (`src`) rendered per host into `into` (release.config). */
  listTemplates?: { list: string; src: string; into: string };
  description: string;
}

/** A play setting inside a section group that is not a resource itself, e.g. fpm.version. */
export interface Param {
  path: readonly string[];
  /** What JSON Schema type it takes (numbers are read with their source text: 8.10 stays "8.10"). */
  kind: 'string';
  description: string;
}

export const SECTIONS: readonly Section[] = [
  {
    path: ['packages'],
    type: 'package',
    form: 'list',
    shorthand: 'name',
    description: 'OS packages: a name, or {name, state, version}',
  },
  { path: ['groups'], type: 'group', form: 'list', description: 'Unix groups' },
  { path: ['users'], type: 'user', form: 'list', description: 'Unix users' },
  { path: ['directories'], type: 'directory', form: 'list', description: 'Directories with owner, group and mode' },
  { path: ['files'], type: 'file', form: 'list', description: 'Files with inline content' },
  {
    path: ['templates'],
    type: 'template',
    form: 'list',
    rename: { dest: 'path' },
    forbid: {
      path: 'write the target path as "dest"',
      content: 'the content is rendered from "src"; use files: for inline content',
    },
    template: { src: 'src', into: 'content' },
    description: 'Files rendered from a template (src, relative to the playbook) per host',
  },
  { path: ['symlinks'], type: 'symlink', form: 'list', description: 'Symbolic links {path, target}' },
  {
    path: ['fpm', 'global'],
    type: 'fpm_global',
    form: 'single',
    wrap: 'settings',
    inherit: { php_version: 'fpm.version' },
    description: 'Global php-fpm settings (the [global] section of php-fpm.conf)',
  },
  {
    path: ['fpm', 'pools'],
    type: 'fpm_pool',
    form: 'map',
    inherit: { php_version: 'fpm.version' },
    description: 'php-fpm pools by name',
  },
  {
    path: ['fpm', 'remove_pools'],
    type: 'fpm_pool',
    form: 'names',
    fixed: { state: 'absent' },
    inherit: { php_version: 'fpm.version' },
    description: 'php-fpm pools to remove, by name',
  },
  { path: ['systemd', 'slices'], type: 'systemd_slice', form: 'map', description: 'systemd slices by name' },
  { path: ['systemd', 'services'], type: 'systemd_service', form: 'map', description: 'systemd services by name' },
  {
    path: ['supervisor', 'programs'],
    type: 'supervisor_program',
    form: 'map',
    description: 'Supervisor programs by name',
  },
  { path: ['services'], type: 'service', form: 'map', description: 'Existing services to enable or start, by name' },
  {
    path: ['release'],
    type: 'release',
    form: 'single',
    inherit: { php_version: 'fpm.version' },
    listTemplates: { list: 'config', src: 'src', into: 'content' },
    description: 'Release layout and rollout: application path, shared paths, workers to drain, pools to reload and check, batches',
  },
];

export const PARAMS: readonly Param[] = [
  {
    path: ['fpm', 'version'],
    kind: 'string',
    description: 'PHP version of the fpm settings, e.g. "8.2" (default: the host\'s primary php-fpm)',
  },
];

/** Play keys that are not sections, in the order they are listed in messages. */
export const PLAY_KEYS = ['name', 'hosts', 'vars', 'vars_files', 'sensitive_vars'] as const;

/** The keys a play accepts: its own, then each section or group of sections, in table order. */
export function allowedPlayKeys(): string[] {
  const keys: string[] = [...PLAY_KEYS];
  for (const s of SECTIONS) {
    const top = s.path[0] as string;
    if (!keys.includes(top)) keys.push(top);
  }
  return keys;
}

/** Section groups such as `fpm`: top-level key → the keys it accepts (sections and params). */
export function sectionGroups(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const entry of [...SECTIONS, ...PARAMS]) {
    if (entry.path.length < 2) continue;
    const [top, sub] = entry.path as [string, string];
    const list = groups.get(top) ?? [];
    if (!list.includes(sub)) list.push(sub);
    groups.set(top, list);
  }
  // Params first (fpm: version, global, pools, …): they read better that way in messages.
  for (const [top, list] of groups) {
    const params = PARAMS.filter((p) => p.path[0] === top).map((p) => p.path[1] as string);
    groups.set(top, [...params, ...list.filter((k) => !params.includes(k))]);
  }
  return groups;
}

export function sectionName(s: Section | Param): string {
  return s.path.join('.');
}

/** Play keys from Ansible that lanes does not take, with what to do instead. */
export const ANSIBLE_PLAY_KEYS: Readonly<Record<string, string>> = {
  tasks: 'lanes has no tasks: declare the desired state in sections (packages, files, fpm, …)',
  pre_tasks: 'lanes has no tasks: declare the desired state in sections (packages, files, fpm, …)',
  post_tasks: 'lanes has no tasks: declare the desired state in sections (packages, files, fpm, …)',
  handlers: 'lanes reloads services itself when their configuration changes (see "reload:" on files)',
  roles: 'lanes has no roles: split plays by host group, and share values through vars_files',
  become: 'privilege escalation is set in the inventory (ansible_become)',
  become_user: 'privilege escalation is set in the inventory (ansible_become_user)',
  remote_user: 'the SSH user is set in the inventory (ansible_user)',
  gather_facts: 'lanes always reads the facts it needs',
  serial: 'rollout batches are set on the command line',
};
