/**
 * PyYAML's yaml.dump as Ansible's to_yaml / to_nice_yaml call it (allow_unicode, keys sorted):
 * floats as PyYAML writes them (8.0, 1.0e+16, .inf), dates as isoformat(' '), strings plain when
 * they would read back as the same string, else quoted. `flow: 'auto'` is default_flow_style=None
 * (a collection of scalars in flow style), 'never' is default_flow_style=False.
 *
 * Not reproduced: PyYAML's folding of lines longer than 80 columns and its multi-line string styles
 * (such strings are written double-quoted with escapes, which reads back the same).
 */
import { PyDate, PyFloat, pyFloatRepr } from './python.js';

export interface PyYamlOptions {
  flow: 'auto' | 'never';
  indent?: number;
}

type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PyFloat) && !(v instanceof PyDate);
const isCollection = (v: unknown): boolean => Array.isArray(v) || isRec(v);
const sortedKeys = (r: Rec): string[] => Object.keys(r).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

export function pyYamlDump(value: unknown, opts: PyYamlOptions): string {
  const indent = opts.indent ?? 2;
  const flowOf = (v: unknown): boolean => {
    if (Array.isArray(v)) return v.length === 0 || (opts.flow === 'auto' && v.every((x) => !isCollection(x)));
    if (isRec(v)) {
      const keys = Object.keys(v);
      return keys.length === 0 || (opts.flow === 'auto' && keys.every((k) => !isCollection(v[k])));
    }
    return false;
  };
  const flow = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
    if (isRec(v)) return `{${sortedKeys(v).map((k) => `${scalar(k, true)}: ${flow(v[k])}`).join(', ')}}`;
    return scalar(v, true);
  };
  // Lines of a block node at column `col`.
  const block = (v: unknown, col: number): string[] => {
    const pad = ' '.repeat(col);
    const lines: string[] = [];
    if (Array.isArray(v)) {
      for (const item of v) {
        if (isCollection(item) && !flowOf(item)) {
          // A nested block starts on the dash's line, at the next indentation column.
          const inner = block(item, col + indent);
          lines.push(`${pad}-${' '.repeat(indent - 1)}${(inner[0] as string).slice(col + indent)}`, ...inner.slice(1));
        } else lines.push(`${pad}- ${isCollection(item) ? flow(item) : scalar(item, false)}`);
      }
      return lines;
    }
    const r = v as Rec;
    for (const k of sortedKeys(r)) {
      const item = r[k];
      const key = `${pad}${scalar(k, false)}:`;
      if (isCollection(item) && !flowOf(item)) {
        // PyYAML does not indent a sequence inside a mapping.
        lines.push(key, ...block(item, Array.isArray(item) ? col : col + indent));
      } else lines.push(`${key} ${isCollection(item) ? flow(item) : scalar(item, false)}`);
    }
    return lines;
  };
  if (!isCollection(value)) {
    const text = scalar(value, false);
    // A plain scalar alone is followed by an explicit document end, as PyYAML writes it.
    return /^['"]/.test(text) ? `${text}\n` : `${text}\n...\n`;
  }
  if (flowOf(value)) return `${flow(value)}\n`;
  return `${block(value, 0).join('\n')}\n`;
}

const IMPLICIT =
  /^(?:~|null|Null|NULL|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|[-+]?(?:0b[0-1_]+|0[0-7_]+|(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|[1-9][0-9_]*(?::[0-5]?[0-9])+)|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*|<<|=)$/;

function scalar(v: unknown, inFlow: boolean): string {
  if (v === null || v === undefined) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isInteger(v) && !Object.is(v, -0)) return String(v);
  if (typeof v === 'number' || v instanceof PyFloat) return yamlFloat(Number(v));
  if (v instanceof PyDate) return v.time === undefined ? v.date : v.isoformat().replace('T', ' ');
  return str(String(v), inFlow);
}

function yamlFloat(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Infinity) return '.inf';
  if (n === -Infinity) return '-.inf';
  const r = pyFloatRepr(n).toLowerCase();
  return !r.includes('.') && r.includes('e') ? r.replace('e', '.0e') : r;
}

function str(s: string, inFlow: boolean): string {
  const plain =
    s !== '' &&
    !IMPLICIT.test(s) &&
    !/^[\s]|[\s]$/.test(s) &&
    !/^[#,[\]{}&*!|>'"%@`]/.test(s) &&
    !/^[-?:](?:\s|$)/.test(s) &&
    !/: |:$| #/.test(s) &&
    !(inFlow && /[,[\]{}]/.test(s)) &&
    // eslint-disable-next-line no-control-regex
    !/[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(s);
  if (plain) return s;
  // eslint-disable-next-line no-control-regex
  if (!/[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(s)) return `'${s.replace(/'/g, "''")}'`;
  return JSON.stringify(s);
}
