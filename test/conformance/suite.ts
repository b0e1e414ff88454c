/** Both tools over the corpus, and each case/view's differences: what the test and the report share. */
import { execMode, runAnsible, type ToolRun } from './ansible.js';
import { compareRuns, type Found } from './compare.js';
import { viewKey, type ConformanceCase } from './corpus.js';
import { runLanes, type LanesRun } from './lanes.js';

export interface Outcome {
  c: ConformanceCase;
  view: string;
  ansible: ToolRun;
  lanes: LanesRun;
  found: Found[];
}

/** ansible-inventory on everything (one driver run), then lanes case by case. */
export async function ansibleResults(cases: ConformanceCase[]): Promise<Map<string, ToolRun>> {
  return runAnsible(cases, { exec: execMode() });
}

export async function outcome(c: ConformanceCase, view: string, ansible: Map<string, ToolRun>): Promise<Outcome> {
  const a = ansible.get(viewKey(c, view));
  if (!a) throw new Error(`no ansible-inventory result for ${viewKey(c, view)}`);
  const l = await runLanes(c, view);
  return { c, view, ansible: a, lanes: l, found: compareRuns(a, l) };
}
