/**
 * Ansible's inventory parse chain for one file: its enabled plugins (default `host_list, script,
 * auto, yaml, ini, toml`) are tried in order, each only when its verify rule accepts the file, and
 * the first that parses it wins:
 *
 *   script  the file is executable or starts with "#!"          (script-source.ts)
 *   auto    *.yml / *.yaml whose root has a `plugin:` key         (plugin-source.ts)
 *   yaml    no extension, .yml, .yaml or .json                    (yaml-format.ts)
 *   ini     any file                                              (ini-format.ts)
 *   toml    *.toml: not supported by lanes (refused)
 *
 * So INI text in `hosts.yml` is read as INI, as Ansible reads it. A parser that fails part-way leaves
 * nothing behind (InventoryData.snapshot). Where Ansible then warns "Unable to parse … as an
 * inventory source" and carries on with what it has, lanes refuses: a typo must not turn into a
 * rollout to no hosts. The error is the one of the parser the file was evidently written for.
 */
import { access, constants as fsConstants, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { isMap, isScalar } from 'yaml';
import { LanesError, formatLocation } from '../errors.js';
import type { InventoryData } from './data.js';
import { sniffFormat } from './detect.js';
import { parseIniInventory } from './ini-format.js';
import { readPluginInventory } from './plugin-source.js';
import { DEFAULT_SCRIPT_TIMEOUT, readScriptInventory } from './script-source.js';
import { isNullNode, parseYaml, type YamlNode } from './yaml-source.js';
import { parseYamlInventory } from './yaml-format.js';

export type ParserName = 'script' | 'auto' | 'yaml' | 'ini' | 'toml';

interface Failure {
  parser: ParserName;
  error: unknown;
  /** The parser declined on content ("no plugin: key"): never the error shown. */
  declined?: boolean;
}

export interface ChainContext {
  cwd: string;
  scriptTimeout?: number;
  /** The -i sources read before this one, in order: a plugin config is read after them (constructed). */
  before?: readonly string[];
  /** ansible-inventory, for plugin configs (tests point it elsewhere). */
  ansibleInventory?: string;
}

/** Extensions the yaml plugin takes (its yaml_extensions option), besides none at all. */
const YAML_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * Parse one inventory file into `data` with the first parser that succeeds. `text` is its content
 * (already decrypted when the file is vault-encrypted).
 */
export async function parseFileChain(data: InventoryData, file: string, text: string, ctx: ChainContext): Promise<ParserName> {
  const failures: Failure[] = [];
  const attempt = async (parser: ParserName, run: () => Promise<void> | void): Promise<boolean> => {
    const restore = data.snapshot();
    try {
      await run();
      return true;
    } catch (error) {
      restore();
      failures.push({ parser, error, declined: error instanceof Declined });
      return false;
    }
  };

  const ext = extname(file).toLowerCase();
  const shebang = text.startsWith('#!');
  if (shebang || (await isExecutable(file))) {
    const timeoutSeconds = ctx.scriptTimeout ?? DEFAULT_SCRIPT_TIMEOUT;
    if (await attempt('script', () => readScriptInventory(data, file, { cwd: ctx.cwd, timeoutSeconds }))) return 'script';
  }
  let pluginName: string | undefined;
  if (ext === '.yml' || ext === '.yaml') {
    const ok = await attempt('auto', async () => {
      pluginName = pluginOf(text, file);
      if (pluginName === undefined) throw new Declined(`no root 'plugin' key found, '${file}' is not a valid YAML inventory plugin config file`);
      await readPluginInventory(data, file, pluginName, {
        cwd: ctx.cwd,
        timeoutSeconds: ctx.scriptTimeout ?? DEFAULT_SCRIPT_TIMEOUT,
        command: ctx.ansibleInventory,
        before: ctx.before,
      });
    });
    if (ok) return 'auto';
  }
  const parser = parseTextChain(data, file, text, failures);
  if (parser) return parser;
  throw chainError(file, text, failures, shebang, pluginName !== undefined);
}

/**
 * The text parsers of the chain (yaml, ini, toml), for a file's content. Returns the parser that
 * succeeded, or undefined with `failures` filled in.
 */
function parseTextChain(data: InventoryData, file: string, text: string, failures: Failure[]): ParserName | undefined {
  const ext = extname(file).toLowerCase();
  const attempt = (parser: ParserName, run: () => void): boolean => {
    const restore = data.snapshot();
    try {
      run();
      return true;
    } catch (error) {
      restore();
      failures.push({ parser, error });
      return false;
    }
  };
  if ((ext === '' || YAML_EXTENSIONS.includes(ext)) && attempt('yaml', () => parseYamlInventory(text, file, data))) return 'yaml';
  if (attempt('ini', () => parseIniInventory(text, file, data))) return 'ini';
  if (ext === '.toml') {
    failures.push({
      parser: 'toml',
      error: new LanesError('TOML inventories are not supported by lanes', {
        location: { file },
        hint: 'convert it with ansible-inventory -i FILE --list -y > inventory.yml',
      }),
    });
  }
  return undefined;
}

/** parseFileChain for text with no file behind it (no script, no plugin): yaml, then ini. */
export function parseTextOnly(data: InventoryData, file: string, text: string): ParserName {
  const failures: Failure[] = [];
  const parser = parseTextChain(data, file, text, failures);
  if (parser) return parser;
  throw chainError(file, text, failures, false, false);
}

/**
 * The one error shown when no parser could read the file: the failure of the parser the file was
 * written for (a script when it has "#!", the auto plugin when it names a plugin, TOML for .toml,
 * else YAML or INI as its content looks), naming the other parsers that were tried.
 */
function chainError(file: string, text: string, failures: Failure[], script: boolean, plugin: boolean): Error {
  const real = failures.filter((f) => !f.declined);
  const want: ParserName[] = script ? ['script'] : plugin ? ['auto'] : extname(file).toLowerCase() === '.toml' ? ['toml'] : [];
  // YAML that parsed into a mapping was meant as YAML, whatever INI makes of it; else the content decides.
  const yamlFailure = real.find((f) => f.parser === 'yaml')?.error;
  const yamlShaped = yamlFailure instanceof LanesError && !/^(?:invalid YAML|a YAML inventory must be a mapping)/.test(yamlFailure.message);
  want.push(yamlShaped ? 'yaml' : sniffFormat(text), 'yaml', 'ini', 'script', 'auto', 'toml');
  const primary = want.map((p) => real.find((f) => f.parser === p)).find((f) => f !== undefined) ?? failures[0];
  if (!primary) return new LanesError(`no inventory parser accepts ${file}`, { location: { file } });
  if (!(primary.error instanceof LanesError)) return primary.error as Error;
  const e = primary.error;
  const others = failures
    .filter((f) => f !== primary && !f.declined)
    .map((f) => `${f.parser}: ${f.error instanceof LanesError ? oneLine(f.error) : String(f.error)}`);
  const tried = failures.map((f) => f.parser).join(', ');
  const note = `not an inventory to any parser (tried ${tried})${others.length > 0 ? `; ${others.join('; ')}` : ''}`;
  return new LanesError(e.message, { kind: e.kind, location: e.location, hint: e.hint ? `${e.hint}; ${note}` : note, cause: e });
}

function oneLine(e: LanesError): string {
  return e.location ? `${formatLocation(e.location)}: ${e.message}` : e.message;
}

/** A parser's verify step said no on content: not an error worth showing. */
class Declined extends Error {}

/** The `plugin:` value of a YAML plugin config, or undefined when the text is not one. */
function pluginOf(text: string, file: string): string | undefined {
  const src = parseYaml(text, file);
  const root = src.deref(src.doc.contents as YamlNode);
  if (isNullNode(root) || !isMap(root)) return undefined;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === 'plugin');
  const v = src.deref(pair?.value as YamlNode);
  if (!isScalar(v) || v.value === null || v.value === false || v.value === '') return undefined;
  return String(v.value);
}

async function isExecutable(file: string): Promise<boolean> {
  const st = await stat(file).catch(() => undefined);
  if (!st || (st.mode & 0o111) === 0) return false;
  return access(file, fsConstants.X_OK).then(
    () => true,
    () => false,
  );
}
