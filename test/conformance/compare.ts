/**
 * What counts as a difference between ansible-inventory and lanes on one case and view: the exit
 * class (both print / both refuse); when both print, the stdout bytes and the set of warnings.
 */
import type { ToolRun } from './ansible.js';
import type { LanesRun } from './lanes.js';

export type DifferenceKind = 'stdout' | 'warnings' | 'exit';
export const KINDS: readonly DifferenceKind[] = ['stdout', 'warnings', 'exit'];

export interface Found {
  kind: DifferenceKind;
  /** Ansible's side and lanes' side, as text to show in a diff. */
  ansible: string;
  lanes: string;
}

/**
 * The [WARNING] messages of Ansible's stderr, in order. Ansible wraps a warning at 79 columns
 * (textwrap, long words broken anywhere) with no indent, so a warning runs until the next line that
 * starts another message ("[…", "ERROR!") or an empty line.
 */
export function ansibleWarnings(stderr: string): string[] {
  const out: string[] = [];
  let current: string[] | undefined;
  for (const line of stderr.split('\n')) {
    if (line.startsWith('[WARNING]: ')) {
      if (current) out.push(current.join(' '));
      current = [line.slice('[WARNING]: '.length)];
    } else if (current && line !== '' && !line.startsWith('[') && !line.startsWith('ERROR!')) {
      current.push(line);
    } else if (current) {
      out.push(current.join(' '));
      current = undefined;
    }
  }
  if (current) out.push(current.join(' '));
  return out.map(readable);
}

/** Whitespace collapsed: how a warning is shown. */
export const readable = (w: string) => w.replace(/\s+/g, ' ').trim();
/** Whitespace removed: how warnings are compared (wrapping may break a long word with no space). */
const key = (w: string) => w.replace(/\s+/g, '');

/** The warnings as sorted unique readable lines, for a diff. */
const warningText = (ws: string[]) => [...new Set(ws.map(readable))].sort().map((w) => `${w}\n`).join('');

export function compareRuns(a: ToolRun, l: LanesRun): Found[] {
  const ansibleOk = a.code === 0;
  const lanesOk = l.status === 'ok';
  if (ansibleOk !== lanesOk || l.status === 'crash') {
    return [
      {
        kind: 'exit',
        // Ansible's stderr either way: on exit 0 it says what it skipped ("Unable to parse …").
        ansible: `exit ${a.code}${a.stderr.trim() ? `: ${a.stderr.trim()}` : ''}\n`,
        lanes: `${l.status}${l.error ? `: ${l.error}` : ''}\n`,
      },
    ];
  }
  // Both refuse: that is the agreement (Ansible may print its usage on stdout, lanes a located error).
  if (!ansibleOk) return [];
  const found: Found[] = [];
  if (a.stdout !== l.stdout) found.push({ kind: 'stdout', ansible: a.stdout, lanes: l.stdout });
  const aw = ansibleWarnings(a.stderr);
  const lw = l.warnings;
  const aKeys = new Set(aw.map(key));
  const lKeys = new Set(lw.map(key));
  if (aKeys.size !== lKeys.size || [...aKeys].some((k) => !lKeys.has(k))) {
    found.push({ kind: 'warnings', ansible: warningText(aw), lanes: warningText(lw) });
  }
  return found;
}
