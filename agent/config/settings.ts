/**
 * The effective Ansible settings lanes honours, read once per run: the ansible.cfg found by
 * findConfigFile(), then ANSIBLE_* variables (env > cfg > lanes' default; the command line beats
 * all three, in cli/options.ts). Values are typed as Ansible types them (see coerce()); everything
 * else set in the file or the environment is listed in `unsupported`, so it is never ignored silently.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { LanesError, type SourceLocation } from '../errors.js';
import { SETTINGS, ENV_NOT_SETTINGS, type SettingDef } from './definitions.js';
import { expandPath, findConfigFile, type FindConfigOptions } from './find.js';
import { iniGet, parseIni, type IniFile } from './ini.js';
import { unsupportedSshArgs } from './ssh-args.js';

export interface Setting {
  def: SettingDef;
  value: unknown;
  /** 'default', `env: NAME`, or the cfg file's path (as ansible-config prints it). */
  origin: string;
  /** Where it was set (file and line), for errors and warnings. */
  location?: SourceLocation;
}

export interface Unsupported {
  /** `[section] key`, `ANSIBLE_NAME`, or an ssh option such as `-C in ssh_args`. */
  name: string;
  /** `file:line` or `environment`. */
  where: string;
}

export interface Settings {
  /** The ansible.cfg read, if any. */
  file?: string;
  byName: Map<string, Setting>;
  unsupported: Unsupported[];
  /** Warnings of the search (world-writable working directory). */
  warnings: string[];
}

export interface LoadSettingsOptions extends FindConfigOptions {
  /** Read this file instead of searching (tests). */
  file?: string;
}

export function loadSettings(o: LoadSettingsOptions = {}): Settings {
  const env = o.env ?? process.env;
  const cwd = o.cwd ?? process.cwd();
  const home = o.home ?? env.HOME ?? homedir();
  const found = o.file !== undefined ? { file: o.file, warnings: [] } : findConfigFile({ ...o, env, cwd, home });
  let ini: IniFile | undefined;
  if (found.file !== undefined) {
    if (!/\.(cfg|ini)$/.test(found.file)) {
      throw new LanesError(`unsupported configuration file extension: ${found.file}`, {
        location: { file: found.file },
        hint: 'Ansible reads only .cfg or .ini files: rename it, or unset ANSIBLE_CONFIG',
      });
    }
    let text: string;
    try {
      text = readFileSync(found.file, 'utf8');
    } catch (e) {
      throw new LanesError(`cannot read ${found.file}: ${(e as Error).message}`, { location: { file: found.file }, cause: e });
    }
    ini = parseIni(text, found.file);
  }

  const byName = new Map<string, Setting>();
  const unsupported: Unsupported[] = [];
  const sshParts: Unsupported[] = [];
  for (const def of SETTINGS) {
    let raw: string | undefined;
    let origin = 'default';
    let location: SourceLocation | undefined;
    // Ansible: env wins over the file; within each, the last listed name that is set wins. An empty
    // variable counts as unset (`ANSIBLE_X= lanes …` is how a pipeline unsets one; Ansible would
    // read '' as a value: the working directory as a path, an error as a number).
    for (const name of def.env) {
      if (env[name] !== undefined && env[name] !== '') {
        raw = env[name];
        origin = `env: ${name}`;
        location = { file: `$${name}` };
      }
    }
    if (raw === undefined && ini) {
      for (const k of def.ini) {
        const e = iniGet(ini, k.section, k.key);
        if (e) {
          raw = e.value;
          origin = ini.file;
          location = { file: ini.file, line: e.line };
        }
      }
    }
    const value = raw === undefined ? def.default : coerce(def, raw, origin === 'default' || origin.startsWith('env:') ? cwd : dirname(origin), home, env, location);
    byName.set(def.name, { def, value, origin, ...(location ? { location } : {}) });
    if (raw !== undefined && def.name.startsWith('ssh_')) {
      const where = location?.line !== undefined ? `${location.file}:${location.line}` : 'environment';
      for (const part of unsupportedSshArgs(raw, where)) sshParts.push({ name: `${part} in ${def.name}`, where });
    }
  }

  if (ini) {
    const known = new Set(SETTINGS.flatMap((s) => s.ini.map((k) => `${k.section}\u0000${k.key}`)));
    const report = (section: string, key: string, line: number): void => {
      if (!known.has(`${section}\u0000${key}`)) unsupported.push({ name: `[${section}] ${key}`, where: `${ini.file}:${line}` });
    };
    // A [DEFAULT] key reaches every section: it is used when one of the keys lanes reads has its name.
    const knownKeys = new Set(SETTINGS.flatMap((s) => s.ini.map((k) => k.key)));
    for (const [key, e] of ini.defaults) if (!knownKeys.has(key)) report('DEFAULT', key, e.line);
    for (const [section, keys] of ini.sections) for (const [key, e] of keys) report(section, key, e.line);
  }
  unsupported.push(...sshParts);
  const knownEnv = new Set(SETTINGS.flatMap((s) => s.env));
  for (const name of Object.keys(env).sort()) {
    if (name.startsWith('ANSIBLE_') && !knownEnv.has(name) && !ENV_NOT_SETTINGS.has(name)) unsupported.push({ name, where: 'environment' });
  }
  return { ...(found.file !== undefined ? { file: found.file } : {}), byName, unsupported, warnings: found.warnings };
}

/** The value of one setting (throws for a name lanes does not define: a bug). */
export function settingValue<T>(s: Settings, name: string): T {
  const v = s.byName.get(name);
  if (!v) throw new Error(`no such setting: ${name}`);
  return v.value as T;
}

/** The one warning line naming every unsupported setting and where it was set; undefined when none. */
export function unsupportedWarning(s: Settings): string | undefined {
  if (s.unsupported.length === 0) return undefined;
  const list = s.unsupported.map((u) => `${u.name} (${u.where})`).join(', ');
  return `lanes does not support these Ansible settings, which have no effect: ${list}`;
}

const TRUE_WORDS = new Set(['y', 'yes', 'on', '1', 'true', 't']);

/** A raw string as Ansible types it (ensure_type), with paths relative to `base`. */
export function coerce(def: SettingDef, raw: string, base: string, home: string, env: NodeJS.ProcessEnv, location?: SourceLocation): unknown {
  const invalid = (why: string, hint: string): LanesError =>
    new LanesError(`invalid value ${JSON.stringify(raw)} for ${def.name}: ${why}`, { location: location ?? { file: 'ansible.cfg' }, hint });
  switch (def.type) {
    case 'boolean':
      // Ansible's non-strict boolean: these words (any case) are true, anything else false.
      return TRUE_WORDS.has(raw.trim().toLowerCase());
    case 'integer': {
      if (!/^\s*[+-]?\d+(_\d+)*\s*$/.test(raw)) throw invalid('not an integer', 'a whole number, e.g. 20');
      return Number(raw.trim().replace(/_/g, ''));
    }
    case 'path':
      return expandPath(raw, base, home, env);
    case 'pathlist':
      return raw.split(',').map((x) => expandPath(x.trim(), base, home, env));
    case 'list':
      return raw.split(',').map((x) => unquote(x.trim()));
    case 'string': {
      const v = unquote(raw);
      if (def.choices && !def.choices.includes(v)) throw invalid('not one of the allowed values', `one of ${def.choices.join(', ')}`);
      return v;
    }
  }
}

/** Ansible's unquote: one pair of matching quotes around the whole value is removed. */
function unquote(s: string): string {
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) return s.slice(1, -1);
  return s;
}

/** A value as ansible-config prints it (Python's repr for lists and booleans). */
export function showValue(v: unknown): string {
  if (v === undefined || v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Array.isArray(v)) return `[${v.map((x) => pyStr(String(x))).join(', ')}]`;
  return String(v);
}

function pyStr(s: string): string {
  if (s.includes("'") && !s.includes('"')) return `"${s}"`;
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
