/**
 * The conformance corpus: test/conformance/corpus/<NNN-name>/ holds an inventory (files, group_vars/,
 * host_vars/, scripts, an ansible.cfg where the case is about settings) and case.json naming where it
 * comes from, the -i sources and the ansible-inventory views to compare.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/paths.js';

export const conformanceDir = path.join(repoRoot, 'test', 'conformance');
export const corpusDir = path.join(conformanceDir, 'corpus');

/** A view is ansible-inventory's arguments after the -i sources, e.g. "--list", "--graph web", "--host h1". */
export const DEFAULT_VIEWS = ['--list', '--graph'];

export interface ConformanceCase {
  /** The directory name, e.g. "012-ini-ranges". */
  name: string;
  dir: string;
  /** Where the inventory comes from: "ansible/ansible <path>@<commit>" or "written for lanes: …". */
  origin: string;
  /** The -i sources, relative to dir. */
  inventory: string[];
  views: string[];
  /** ANSIBLE_* (or other) variables the case sets for both tools. */
  env: Record<string, string>;
  /** Also compare `node dist/cli/main.js inventory` with the in-process call on this case. */
  cli: boolean;
  /** Settings come from an ansible.cfg or the environment: both tools run as programs, not in-process. */
  usesSettings: boolean;
}

interface CaseJson {
  origin?: unknown;
  inventory?: unknown;
  views?: unknown;
  env?: unknown;
  cli?: unknown;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function readCase(name: string): ConformanceCase {
  const dir = path.join(corpusDir, name);
  const file = path.join(dir, 'case.json');
  const j = JSON.parse(readFileSync(file, 'utf8')) as CaseJson;
  const bad = (what: string) => new Error(`${file}: ${what}`);
  if (typeof j.origin !== 'string' || j.origin === '') throw bad('"origin" must name where the inventory comes from');
  if (!isStrings(j.inventory) || j.inventory.length === 0) throw bad('"inventory" must be a non-empty list of -i sources');
  if (j.views !== undefined && (!isStrings(j.views) || j.views.length === 0)) throw bad('"views" must be a non-empty list of strings');
  const env = j.env ?? {};
  if (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string')) throw bad('"env" must map names to strings');
  if (j.cli !== undefined && typeof j.cli !== 'boolean') throw bad('"cli" must be true or false');
  const views = (j.views as string[] | undefined) ?? DEFAULT_VIEWS;
  if (new Set(views).size !== views.length) throw bad('a view is listed twice');
  return {
    name,
    dir,
    origin: j.origin,
    inventory: j.inventory,
    views,
    env: env as Record<string, string>,
    cli: j.cli === true,
    usesSettings: Object.keys(env).length > 0 || existsSync(path.join(dir, 'ansible.cfg')),
  };
}

/** Every case, in name order; with filters, those whose name contains one of the words. */
export function loadCorpus(filters: string[] = []): ConformanceCase[] {
  return readdirSync(corpusDir)
    .filter((n) => statSync(path.join(corpusDir, n)).isDirectory())
    .filter((n) => filters.length === 0 || filters.some((w) => n.includes(w)))
    .sort()
    .map(readCase);
}

/** The words of LANES_CONFORMANCE_FILTER (set by `node dist/test/run.js conformance WORD…`). */
export function envFilters(): string[] {
  return (process.env.LANES_CONFORMANCE_FILTER ?? '').split(/\s+/).filter((w) => w !== '');
}

export const viewKey = (c: { name: string }, view: string) => `${c.name} ${view}`;
