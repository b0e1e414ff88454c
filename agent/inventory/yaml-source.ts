/**
 * Reading YAML the way Ansible does (PyYAML, YAML 1.1), while keeping every node's line and column
 * so that errors can point into the file.
 *
 * YAML 1.1 matters for existing inventories: `ansible_become: yes` is a boolean there, a string in
 * YAML 1.2. The `yaml` package's own 1.1 schema is close to PyYAML's but not equal (it reads `y`/`n`
 * as booleans and `0800` as 800, PyYAML keeps both as strings, and it turns dates into Date
 * objects), so the implicit scalar types are redefined here with PyYAML's own resolver patterns.
 */
import {
  LineCounter,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type ScalarTag,
  type Tags,
  visit,
} from 'yaml';
import { LanesError, formatLocation, type SourceLocation } from '../errors.js';
import { registerSecretLeaves, vault } from '../vault/index.js';
import { JsonLoadsError, pyJsonLoads } from '../values/json-loads.js';
import { PyDate, PyFloat, pyDateFromYaml, pyFloat, pyInt } from '../values/python.js';

const VAULT_TAG = '!vault';

export type YamlNode = Node | null | undefined;

// PyYAML's implicit resolvers (resolver.py), anchored.
const BOOL_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const BOOL_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;
const INT =
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

/**
 * PyYAML's construct_yaml_int: binary, octal (leading 0), hex, base 60 (1:30) or decimal, exact at
 * any size (a bigint beyond 2^53).
 */
function resolveInt(src: string): number | bigint {
  let v = src.replace(/_/g, '');
  let sign = 1n;
  if (v[0] === '-' || v[0] === '+') {
    if (v[0] === '-') sign = -1n;
    v = v.slice(1);
  }
  let n: bigint;
  if (v === '0') n = 0n;
  else if (v.startsWith('0b')) n = BigInt(v);
  else if (v.startsWith('0x')) n = BigInt(v);
  else if (v.startsWith('0')) n = BigInt(`0o${v.slice(1)}`);
  else if (v.includes(':')) n = v.split(':').reduce((total, part) => total * 60n + BigInt(part), 0n);
  else n = BigInt(v);
  return pyInt(sign * n);
}

/** PyYAML's construct_yaml_float (also for `!!float 8` and `!!float 1e3`): a float, kept as Python prints it. */
function resolveFloat(src: string): number | PyFloat {
  let v = src.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (v[0] === '-' || v[0] === '+') {
    if (v[0] === '-') sign = -1;
    v = v.slice(1);
  }
  if (v === '.inf') return pyFloat(sign * Infinity);
  if (v === '.nan') return pyFloat(NaN);
  if (v.includes(':')) return pyFloat(sign * base60(v));
  return pyFloat(sign * Number(v));
}

function base60(v: string): number {
  let total = 0;
  for (const part of v.split(':')) total = total * 60 + Number.parseFloat(part);
  return total;
}

const INT_TAG = 'tag:yaml.org,2002:int';
const FLOAT_TAG = 'tag:yaml.org,2002:float';
const BOOL_TAG = 'tag:yaml.org,2002:bool';
const TIMESTAMP_TAG = 'tag:yaml.org,2002:timestamp';
const REPLACED = new Set([INT_TAG, FLOAT_TAG, BOOL_TAG, TIMESTAMP_TAG]);
// The same tags, as the short ids a Tags list may also hold.
const REPLACED_IDS = new Set(['bool', 'int', 'intHex', 'intOct', 'intTime', 'float', 'floatExp', 'floatNaN', 'floatTime', 'timestamp']);

const pyyamlTags: ScalarTag[] = [
  { tag: BOOL_TAG, default: true, identify: (v) => v === true, test: BOOL_TRUE, resolve: () => true },
  { tag: BOOL_TAG, default: true, identify: (v) => v === false, test: BOOL_FALSE, resolve: () => false },
  { tag: INT_TAG, default: true, identify: (v) => Number.isInteger(v) || typeof v === 'bigint', test: INT, resolve: resolveInt },
  { tag: FLOAT_TAG, default: true, identify: (v) => typeof v === 'number' || v instanceof PyFloat, test: FLOAT, resolve: resolveFloat },
  // A date or datetime as PyYAML makes it (str() in templates, isoformat() in JSON).
  { tag: TIMESTAMP_TAG, default: true, identify: (v) => v instanceof PyDate, test: TIMESTAMP, resolve: (s) => pyDateFromYaml(s) ?? s },
  // Explicit `!!float 8` / `!!int "42"`: PyYAML converts whatever the text (the default tags above
  // apply only where their pattern matches).
  { tag: FLOAT_TAG, identify: () => false, resolve: resolveFloat },
  { tag: INT_TAG, identify: () => false, resolve: (s) => (INT.test(s) ? resolveInt(s) : s) },
  // Ansible Vault inline values: the vault text here, decrypted by parseYaml once the node's
  // position is known (see decryptInlineVault).
  { tag: VAULT_TAG, identify: () => false, resolve: (s) => s },
  // !unsafe only disables templating in Ansible; the value is the plain string.
  { tag: '!unsafe', identify: () => false, resolve: (s) => s },
];

function customTags(tags: Tags): Tags {
  return [...pyyamlTags, ...tags.filter((t) => (typeof t === 'string' ? !REPLACED_IDS.has(t) : !REPLACED.has(t.tag)))];
}

/**
 * Ansible's loader tries json.loads before YAML: a file that is JSON (Python's, with NaN and
 * Infinity) gets JSON's number rules, where `1e3` is the float 1000.0 (YAML 1.1: the string "1e3")
 * and `-0` the int 0. The text is still read by the YAML parser, for line and column positions.
 */
const JSON_INT = /^-?(?:0|[1-9][0-9]*)$/;
const JSON_FLOAT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/;
const jsonTags: ScalarTag[] = [
  { tag: BOOL_TAG, default: true, identify: (v) => v === true, test: /^true$/, resolve: () => true },
  { tag: BOOL_TAG, default: true, identify: (v) => v === false, test: /^false$/, resolve: () => false },
  { tag: INT_TAG, default: true, identify: (v) => Number.isInteger(v) || typeof v === 'bigint', test: JSON_INT, resolve: (s) => pyInt(BigInt(s)) },
  { tag: FLOAT_TAG, default: true, identify: (v) => typeof v === 'number' || v instanceof PyFloat, test: JSON_FLOAT, resolve: (s) => pyFloat(Number(s)) },
  { tag: FLOAT_TAG, default: true, identify: () => false, test: /^(?:NaN|-?Infinity)$/, resolve: (s) => pyFloat(Number(s)) },
];

function jsonCustomTags(tags: Tags): Tags {
  return [...jsonTags, ...pyyamlTags.slice(4), ...tags.filter((t) => (typeof t === 'string' ? !REPLACED_IDS.has(t) : !REPLACED.has(t.tag)))];
}

/** Whether Python's json.loads would read the text (JSON, plus NaN, Infinity and -Infinity). */
export function isPythonJson(text: string): boolean {
  if (!/^[ \t\n\r]*[{["0-9tfnNI-]/.test(text)) return false;
  try {
    pyJsonLoads(text);
    return true;
  } catch (e) {
    if (e instanceof JsonLoadsError) return false;
    throw e;
  }
}

export class YamlSource {
  constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** 1-based line and column where `node` starts (the file alone if unknown). */
  loc(node: YamlNode): SourceLocation {
    const start = node?.range?.[0];
    if (start === undefined) return { file: this.file };
    const { line, col } = this.lines.linePos(start);
    return { file: this.file, line, column: col };
  }

  /** Follow an alias to the node it names. */
  deref(node: YamlNode): YamlNode {
    return isAlias(node) ? (node.resolve(this.doc) as YamlNode) : node;
  }

  /**
   * The plain JavaScript value of a node, with aliases and merge keys applied. Aliases that would
   * expand into a huge value (a "billion laughs" file of a few hundred bytes) are refused, located.
   */
  value(node: YamlNode): unknown {
    if (node === null || node === undefined) return null;
    try {
      return node.toJS(this.doc, { maxAliasCount: MAX_ALIAS_EXPANSION });
    } catch (e) {
      if (e instanceof ReferenceError && /alias/i.test(e.message)) {
        throw new LanesError('YAML aliases here expand into a value too large to read (an alias bomb?)', {
          location: this.loc(node),
          hint: `aliases may expand to at most ${MAX_ALIAS_EXPANSION} uses`,
        });
      }
      throw e;
    }
  }
}

/**
 * The first key that a mapping repeats, with the place of its first occurrence. YAML (and PyYAML,
 * which Ansible uses) lets the last one win silently; in a playbook that silently drops the first
 * `files:` list, so playbooks refuse it. Inventories keep PyYAML's behaviour.
 */
export function firstDuplicateKey(src: YamlSource): { key: string; first: SourceLocation; again: SourceLocation } | undefined {
  const stack: YamlNode[] = [src.doc.contents as YamlNode];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isSeq(node)) stack.push(...(node.items as YamlNode[]));
    if (!isMap(node)) continue;
    const seen = new Map<string, YamlNode>();
    for (const pair of node.items) {
      const k = pair.key as YamlNode;
      if (isScalar(k) && k.value !== '<<') {
        const text = String(k.value);
        const first = seen.get(text);
        if (first) return { key: text, first: src.loc(first), again: src.loc(k) };
        seen.set(text, k);
      }
      stack.push(pair.value as YamlNode);
    }
  }
  return undefined;
}

/**
 * Limits that keep a small hostile file from exhausting lanes (see parseYaml). Real inventories and
 * playbooks stay far below them: a merge key used in a few hundred hosts, a dozen levels of nesting.
 */
export const MAX_ALIAS_EXPANSION = 10_000;
export const MAX_YAML_DEPTH = 64;
export const MAX_YAML_BYTES = 16 * 1024 * 1024;

/** The first node nested deeper than `max` collections (iterative: no recursion to overflow). */
function tooDeep(root: YamlNode, max: number): YamlNode {
  const stack: [YamlNode, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth >= max) return node;
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        stack.push([item.key as YamlNode, depth + 1], [item.value as YamlNode, depth + 1]);
      } else stack.push([item as YamlNode, depth + 1]);
    }
  }
  return undefined;
}

/** Parse YAML text, turning the first syntax error into a LanesError at its line and column. */
export function parseYaml(text: string, file: string): YamlSource {
  if (text.length > MAX_YAML_BYTES) {
    throw new LanesError(`file is too large to be an inventory, playbook or vars file (${Math.round(text.length / 1024 / 1024)} MiB)`, {
      location: { file },
      hint: `at most ${MAX_YAML_BYTES / 1024 / 1024} MiB`,
    });
  }
  let lines = new LineCounter();
  const read = (json: boolean): Document.Parsed =>
    parseDocument(text, {
      lineCounter: lines,
      prettyErrors: false,
      version: '1.1',
      customTags: json ? jsonCustomTags : customTags,
      // PyYAML lets a repeated key win silently; refusing would reject inventories Ansible reads.
      uniqueKeys: false,
    });
  let doc = isPythonJson(text) ? read(true) : undefined;
  if (doc === undefined || doc.errors.length > 0) {
    // Not JSON, or JSON the YAML parser cannot position: YAML, as Ansible's second try.
    lines = new LineCounter();
    doc = read(false);
  }
  const err = doc.errors[0];
  if (err) {
    const { line, col } = lines.linePos(err.pos[0]);
    // The parser recurses per nesting level: a file nested thousands deep overflows it.
    if (/call stack/i.test(err.message)) {
      throw new LanesError(`YAML nested more than ${MAX_YAML_DEPTH} levels deep`, { location: { file, line, column: col }, hint: 'flatten the structure' });
    }
    throw new LanesError(`invalid YAML: ${err.message}`, { location: { file, line, column: col } });
  }
  const src = new YamlSource(file, doc, lines);
  const deep = tooDeep(doc.contents as YamlNode, MAX_YAML_DEPTH);
  if (deep) {
    throw new LanesError(`YAML nested more than ${MAX_YAML_DEPTH} levels deep`, { location: src.loc(deep), hint: 'flatten the structure' });
  }
  decryptInlineVault(src);
  return src;
}

/**
 * `key: !vault |` values, in any YAML lanes reads (inventories, vars files, playbooks, -e): each
 * is decrypted in place, so templates and connection variables see the plain string, and that
 * string is registered as a secret. Errors name the value's file:line:column.
 */
function decryptInlineVault(src: YamlSource): void {
  visit(src.doc, {
    Scalar(_key, node) {
      if (node.tag !== VAULT_TAG) return;
      const loc = src.loc(node);
      const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
      const plain = vault.decrypt(String(node.value), formatLocation(loc), (loc.line ?? 1) + (block ? 1 : 0));
      registerSecretLeaves(plain);
      node.value = plain;
    },
  });
}

export function isNullNode(node: YamlNode): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** How a node is described in "expected a mapping, got …" errors. */
export function describeNode(node: YamlNode): string {
  if (isNullNode(node)) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    if (typeof v === 'boolean') return `the boolean ${v}`;
    if (typeof v === 'number' || typeof v === 'bigint' || v instanceof PyFloat) return `the number ${String(v)}`;
    if (v instanceof PyDate) return `the date ${String(v)}`;
  }
  return 'a value of another type';
}
