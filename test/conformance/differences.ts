/**
 * differences.json: the differences between lanes and ansible-inventory that are known and
 * accepted, each with why. The suite fails on a difference not listed and on a listed one that no
 * longer differs, so the list always says exactly where lanes and Ansible disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KINDS, type DifferenceKind } from './compare.js';
import { conformanceDir } from './corpus.js';

export const differencesFile = path.join(conformanceDir, 'differences.json');

export interface ListedDifference {
  case: string;
  view: string;
  kind: DifferenceKind;
  /** Why lanes differs here ("open": not fixed yet). */
  why: string;
}

export const differenceKey = (d: { case: string; view: string; kind: string }) => `${d.case}\t${d.view}\t${d.kind}`;

export function loadDifferences(file = differencesFile): ListedDifference[] {
  const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(list)) throw new Error(`${file}: must be a list of {case, view, kind, why}`);
  const seen = new Set<string>();
  return list.map((d: Partial<ListedDifference>, i) => {
    const ok =
      typeof d.case === 'string' && typeof d.view === 'string' && typeof d.why === 'string' && d.why.trim() !== '' && d.why !== 'open' && KINDS.includes(d.kind as DifferenceKind);
    if (!ok) throw new Error(`${file}: entry ${i} must be {case, view, kind: stdout|warnings|exit, why} with a why`);
    const k = differenceKey(d as ListedDifference);
    if (seen.has(k)) throw new Error(`${file}: entry ${i} (${k.replace(/\t/g, ' ')}) is listed twice`);
    seen.add(k);
    return d as ListedDifference;
  });
}

/** The list in a stable order (case, view, kind), one entry a line: diffs of it stay readable. */
export function writeDifferences(list: ListedDifference[], file = differencesFile): void {
  const sorted = [...list].sort((a, b) => (differenceKey(a) < differenceKey(b) ? -1 : differenceKey(a) > differenceKey(b) ? 1 : 0));
  writeFileSync(file, `[\n${sorted.map((d) => `  ${JSON.stringify({ case: d.case, view: d.view, kind: d.kind, why: d.why })}`).join(',\n')}\n]\n`);
}
