/**
 * --extra-vars, read as Ansible reads -e:
 *   key=value key2="two words"   strings (quotes removed; values are never typed)
 *   {"workers": 4} or [YAML flow]  a JSON/YAML mapping, values keep their types (JSON read with
 *                                  JSON's rules first, as Ansible: 1e3 is the float 1000.0)
 *   @vars/prod.yml                 a YAML or JSON file of variables (relative to the working directory,
 *                                  and confined to its tree and LANES_TEMPLATE_ROOTS, like templates)
 * Several are combined in order, the last one winning (whole keys, or mappings merged recursively
 * with hash_behaviour=merge, as Ansible's combine_vars).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMap } from 'yaml';
import { LanesError } from '../errors.js';
import { Confinement } from './confine.js';
import { parseVarsText } from '../inventory/vars-files.js';
import { combineVars, setVar, type HashBehaviour, type Vars } from '../inventory/vars.js';
import { describeNode, parseYaml } from '../inventory/yaml-source.js';

const OPTION = '--extra-vars';

export async function parseExtraVars(args: readonly string[], cwd: string = process.cwd(), hashBehaviour: HashBehaviour = 'replace'): Promise<Vars> {
  const out: Vars = {};
  for (const arg of args) combineVars(out, await parseExtraVarsArg(arg, cwd), hashBehaviour);
  return out;
}

export async function parseExtraVarsArg(arg: string, cwd: string = process.cwd()): Promise<Vars> {
  const text = arg.trim();
  if (text.startsWith('@')) return readVarsFile(text.slice(1), cwd);
  if (text.startsWith('{') || text.startsWith('[')) return parseInline(text);
  return parseKeyValues(text);
}

async function readVarsFile(name: string, cwd: string): Promise<Vars> {
  if (name === '') throw new LanesError(`${OPTION} "@" needs a file name`, { hint: 'e.g. -e @vars/prod.yml' });
  const file = resolve(cwd, name);
  const outside = new Confinement([cwd], 'the working directory', '-e @file names').outside(`${OPTION} file`, name, file);
  if (outside !== undefined) throw new LanesError(outside, { hint: `run lanes from a directory that holds the file, or list its directory in LANES_TEMPLATE_ROOTS` });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LanesError(`${OPTION} file ${code === 'ENOENT' ? 'not found' : 'cannot be read'}: ${name}`, { cause: e });
  }
  return parseVarsText(text, name) ?? {};
}

function parseInline(text: string): Vars {
  const src = parseYaml(text, OPTION);
  const root = src.deref(src.doc.contents);
  if (!isMap(root)) {
    throw new LanesError(`${OPTION} must be a mapping of variable names to values, got ${describeNode(root)}`, {
      hint: `e.g. -e '{"workers": 4}'`,
    });
  }
  return checkNames(src.value(root) as Vars, text);
}

/** `key=value` words, split like a shell line (quotes group words; `{{ … }}` stays whole). */
export function parseKeyValues(text: string): Vars {
  const out: Vars = {};
  for (const word of splitWords(text)) {
    const eq = findEquals(word);
    if (eq <= 0) {
      throw new LanesError(`${OPTION} "${word}" is not key=value`, {
        hint: `write key=value pairs, a JSON mapping such as '{"key": "value"}', or @file.yml`,
      });
    }
    setVar(out, word.slice(0, eq).trim(), unquote(decodeEscapes(word.slice(eq + 1).trim())));
  }
  return checkNames(out, text);
}

function checkNames(vars: Vars, text: string): Vars {
  for (const k of Object.keys(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new LanesError(`${OPTION} "${text}": "${k}" is not a valid variable name`, {
        hint: 'variable names are letters, digits and "_", not starting with a digit',
      });
    }
  }
  return vars;
}

/** The first `=` not preceded by a backslash. */
function findEquals(word: string): number {
  for (let i = 0; i < word.length; i += 1) if (word[i] === '=' && word[i - 1] !== '\\') return i;
  return -1;
}

function unquote(v: string): string {
  if (v.length >= 2 && (v[0] === '"' || v[0] === "'") && v[v.length - 1] === v[0]) return v.slice(1, -1);
  return v;
}

function decodeEscapes(v: string): string {
  return v.replace(/\\([\\nt='"])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Ansible's split_args, simplified: whitespace separates words except inside quotes and `{{ }}` / `{% %}`. */
function splitWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote = '';
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] as string;
    const two = text.slice(i, i + 2);
    if (quote) {
      if (c === '\\' && i + 1 < text.length) {
        cur += c + (text[i + 1] as string);
        i += 1;
        continue;
      }
      if (c === quote) quote = '';
      cur += c;
      continue;
    }
    if (two === '{{' || two === '{%') {
      depth += 1;
      cur += two;
      i += 1;
      continue;
    }
    if (depth > 0 && (two === '}}' || two === '%}')) {
      depth -= 1;
      cur += two;
      i += 1;
      continue;
    }
    if ((c === '"' || c === "'") && depth === 0) {
      quote = c;
      cur += c;
      continue;
    }
    if (/\s/.test(c) && depth === 0) {
      if (cur !== '') words.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  if (quote) throw new LanesError(`${OPTION} "${text}": unterminated ${quote} quote`);
  if (cur !== '') words.push(cur);
  return words;
}
