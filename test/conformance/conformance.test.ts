// lanes inventory against the real ansible-inventory on the corpus (test/conformance/corpus/): stdout
// byte for byte, exit class and warnings per case and view; differences must be listed in
// differences.json, and every listed one must still differ. Cases: LANES_CONFORMANCE_FILTER words.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ToolRun } from './ansible.js';
import { loadCorpus, envFilters } from './corpus.js';
import { differenceKey, loadDifferences } from './differences.js';
import { runLanesCli, runLanesInProcess } from './lanes.js';
import { ansibleResults, outcome } from './suite.js';

const filters = envFilters();
const cases = loadCorpus(filters);
const listed = loadDifferences();
const listedKeys = new Map(listed.map((d) => [differenceKey(d), d]));
let ansible: Map<string, ToolRun>;

before(async () => {
  ansible = await ansibleResults(cases);
});

describe('the corpus', () => {
  it('has cases', () => assert.ok(cases.length > 0, `no case matches ${filters.join(' ')}`));
  if (filters.length === 0) {
    it('has at least 130 cases', () => assert.ok(cases.length >= 130, `${cases.length} cases`));
    it('lists differences of existing cases and views only', () => {
      const views = new Set(cases.flatMap((c) => c.views.map((v) => `${c.name}\t${v}`)));
      const stale = listed.filter((d) => !views.has(`${d.case}\t${d.view}`)).map((d) => `${d.case} ${d.view}`);
      assert.deepEqual(stale, []);
    });
  }
});

for (const c of cases) {
  describe(c.name, () => {
    for (const view of c.views) {
      it(view, async () => {
        const o = await outcome(c, view, ansible);
        const problems: string[] = [];
        for (const f of o.found) {
          if (!listedKeys.has(differenceKey({ case: c.name, view, kind: f.kind })))
            problems.push(`${f.kind} differs (not listed in differences.json):\n--- ansible-inventory\n${f.ansible}--- lanes\n${f.lanes}`);
        }
        for (const d of listed.filter((x) => x.case === c.name && x.view === view)) {
          if (!o.found.some((f) => f.kind === d.kind)) problems.push(`listed ${d.kind} difference no longer differs: remove it from differences.json (why was: ${d.why})`);
        }
        assert.equal(problems.join('\n'), '', `node dist/test/conformance/report.js ${c.name} shows the diff`);
      });
    }
    // The in-process call is what `lanes inventory` prints: the CLI gives the same bytes and warnings.
    // (--list and --graph: the views every lanes CLI has; the others differ in the list above until built.)
    if (c.cli && !c.usesSettings) {
      for (const view of c.views.filter((v) => v === '--list' || v === '--graph')) {
        it(`${view}: the CLI equals the in-process call`, async () => {
          const [cli, lib] = [await runLanesCli(c, view), await runLanesInProcess(c, view)];
          assert.equal(cli.status, lib.status, `CLI: ${cli.stderr}`);
          assert.equal(cli.stdout, lib.stdout);
          assert.deepEqual(cli.warnings, [...new Set(lib.warnings)]);
        });
      }
    }
  });
}
