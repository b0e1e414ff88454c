/**
 * Which format an inventory file looks written in. Files are read by Ansible's parse chain
 * (chain.ts), which tries the parsers in turn; this guess only decides whose error is shown when
 * none of them can read the file. The extension decides when it says (.yml/.yaml/.json are YAML,
 * .ini is INI); otherwise the content does, since many teams name the file just `hosts`.
 */
import { extname } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { isNullNode, type YamlNode } from './yaml-source.js';

export type InventoryFormat = 'yaml' | 'ini';

export function detectFormat(file: string, text: string): InventoryFormat {
  const ext = extname(file).toLowerCase();
  if (ext === '.yml' || ext === '.yaml' || ext === '.json') return 'yaml';
  if (ext === '.ini') return 'ini';
  return sniffFormat(text);
}

/**
 * YAML when the text parses as a mapping whose values are all mappings or empty (groups);
 * also YAML when it plainly starts like YAML (`---` or `group:` alone on the first line), so that
 * a YAML syntax error is reported as such rather than as a strange INI line. INI otherwise.
 */
export function sniffFormat(text: string): InventoryFormat {
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false });
  const root = doc.contents as YamlNode;
  if (doc.errors.length === 0 && isMap(root) && root.items.length > 0) {
    if (root.items.every((p) => isNullNode(p.value as YamlNode) || isMap(p.value))) return 'yaml';
  }
  const first = text.split(/\r\n|\r|\n/).find((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
  if (first !== undefined && (/^---\s*$/.test(first) || /^[^\s=[#;][^=]*:\s*(?:#.*)?$/.test(first))) return 'yaml';
  return 'ini';
}
