/**
 * Walking playbook YAML nodes: finding the node behind a path (for error positions), with aliases
 * and `<<` merge keys followed the way the parsed value sees them.
 */
import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import type { SourceLocation } from '../errors.js';
import type { YamlNode, YamlSource } from '../inventory/yaml-source.js';
import { PyDate, PyFloat } from '../values/python.js';

/** A `<<` merge key (YAML 1.1). */
export function isMergeKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'symbol';
}

/** The text of a mapping key, as the parsed value has it (undefined for merge keys and complex keys). */
export function keyText(key: unknown): string | undefined {
  if (!isScalar(key)) return undefined;
  if (typeof key.value === 'symbol') return undefined;
  return key.value === null ? '' : String(key.value);
}

/** The mappings a `<<` value merges in, in order (first wins). */
export function mergeSources(src: YamlSource, value: YamlNode): YAMLMap[] {
  const v = src.deref(value);
  if (isMap(v)) return [v];
  if (isSeq(v)) return v.items.map((i) => src.deref(i as YamlNode)).filter((m): m is YAMLMap => isMap(m));
  return [];
}

/** The pair for `key` in a mapping: its own pairs first (the last one wins, as in the parsed value), then merged ones. */
export function findPair(src: YamlSource, map: YAMLMap, key: string): Pair | undefined {
  let found: Pair | undefined;
  for (const p of map.items as Pair[]) if (keyText(p.key) === key) found = p;
  if (found) return found;
  for (const p of map.items as Pair[]) {
    if (!isMergeKey(p.key)) continue;
    for (const m of mergeSources(src, p.value as YamlNode)) {
      const inner = findPair(src, m, key);
      if (inner) return inner;
    }
  }
  return undefined;
}

export interface NodeAt {
  /** The deepest node reached. */
  node: YamlNode;
  /** Its key, when it is the value of a mapping entry. */
  key?: YamlNode;
  /** How many path segments were matched. */
  depth: number;
}

/** Follow `path` from `root` as far as the nodes go. */
export function nodeAtPath(src: YamlSource, root: YamlNode, path: readonly PropertyKey[]): NodeAt {
  let at: NodeAt = { node: root, depth: 0 };
  for (const seg of path) {
    const node = src.deref(at.node);
    if (isMap(node)) {
      const pair = findPair(src, node, String(seg));
      if (!pair) break;
      at = { node: pair.value as YamlNode, key: pair.key as YamlNode, depth: at.depth + 1 };
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      at = { node: node.items[seg] as YamlNode, depth: at.depth + 1 };
    } else break;
  }
  return at;
}

/** Where an entry is reported: at its key for mapping entries, else at the node. */
export function entryLoc(src: YamlSource, at: { node: YamlNode; key?: YamlNode }): SourceLocation {
  return src.loc((at.key ?? at.node) as Node | null | undefined);
}

/** "a list", "the number 5"… for JavaScript values (after templating). */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof PyFloat) return `the number ${String(v)}`;
  if (typeof v === 'boolean') return `the boolean ${v}`;
  if (v instanceof PyDate) return `the date ${String(v)}`;
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

/** The closest candidate to a misspelt word, if close enough to be a typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
