/**
 * node dist/test/conformance/report.js [--write-differences] [FILTER…]
 *
 * Runs lanes and the real ansible-inventory on the corpus (cases whose name contains a FILTER word)
 * and prints every differing case and view with a unified diff (ansible-inventory → lanes), whether it
 * is listed in differences.json, and "N of M identical". --write-differences rewrites the list with
 * exactly the differences found now (keeping the why of those already listed, "open" for new ones).
 * LANES_CONFORMANCE_EXEC=1 runs ansible-inventory as a program per case instead of forks;
 * --modes runs it both ways and prints every case and view where the two disagree (they should not).
 */
import { createTwoFilesPatch } from 'diff';
import { runAnsible } from './ansible.js';
import { viewKey } from './corpus.js';
import { loadCorpus } from './corpus.js';
import { differenceKey, loadDifferences, writeDifferences, type ListedDifference } from './differences.js';
import { ansibleResults, outcome, type Outcome } from './suite.js';

const args = process.argv.slice(2);
const write = args.includes('--write-differences');
const modes = args.includes('--modes');
const filters = args.filter((a) => !a.startsWith('--'));
const cases = loadCorpus(filters);
const listed = new Map(loadDifferences().map((d) => [differenceKey(d), d]));

if (modes) {
  const t0 = Date.now();
  const forked = await runAnsible(cases, { exec: false });
  const t1 = Date.now();
  const execd = await runAnsible(cases, { exec: true });
  const t2 = Date.now();
  let disagree = 0;
  for (const c of cases) {
    for (const view of c.views) {
      const [f, e] = [forked.get(viewKey(c, view))!, execd.get(viewKey(c, view))!];
      if (f.stdout === e.stdout && f.stderr === e.stderr && f.code === e.code) continue;
      disagree++;
      process.stdout.write(`\n=== ${viewKey(c, view)}: forked and exec'd ansible-inventory disagree (exit ${f.code} / ${e.code})\n`);
      process.stdout.write(createTwoFilesPatch('forked', 'exec', f.stdout + f.stderr, e.stdout + e.stderr, '', '').split('\n').slice(1).join('\n'));
    }
  }
  const n = cases.reduce((s, c) => s + c.views.length, 0);
  process.stdout.write(`forked and exec'd ansible-inventory agree on ${n - disagree} of ${n} case views (stdout, stderr, exit); forked ${((t1 - t0) / 1000).toFixed(1)} s, exec'd ${((t2 - t1) / 1000).toFixed(1)} s\n`);
  process.exit(disagree > 0 ? 1 : 0);
}

const started = Date.now();
const ansible = await ansibleResults(cases);
const ansibleSeconds = (Date.now() - started) / 1000;
const outcomes: Outcome[] = [];
for (const c of cases) for (const view of c.views) outcomes.push(await outcome(c, view, ansible));

const byKind = new Map<string, number>();
let unlisted = 0;
for (const o of outcomes.filter((x) => x.found.length > 0)) {
  process.stdout.write(`\n=== ${o.c.name}  ansible-inventory -i ${o.c.inventory.join(' -i ')} ${o.view}\n    (${o.c.origin})\n`);
  for (const f of o.found) {
    byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    const entry = listed.get(differenceKey({ case: o.c.name, view: o.view, kind: f.kind }));
    if (!entry) unlisted++;
    process.stdout.write(`--- ${f.kind} differs (${entry ? `listed: ${entry.why}` : 'NOT LISTED'})\n`);
    process.stdout.write(createTwoFilesPatch('ansible-inventory', 'lanes', f.ansible, f.lanes, '', '', { context: 3 }).split('\n').slice(1).map((l) => l.replace(/\t$/, '')).join('\n'));
  }
}
const stale = [...listed.values()].filter(
  (d) => cases.some((c) => c.name === d.case) && !outcomes.some((o) => o.c.name === d.case && o.view === d.view && o.found.some((f) => f.kind === d.kind)),
);
for (const d of stale) process.stdout.write(`\nlisted but no longer differs: ${d.case} ${d.view} ${d.kind}\n`);

const identical = outcomes.filter((o) => o.found.length === 0).length;
const casesIdentical = cases.filter((c) => outcomes.filter((o) => o.c === c).every((o) => o.found.length === 0)).length;
process.stdout.write(
  `\n${identical} of ${outcomes.length} case views identical; ${casesIdentical} of ${cases.length} cases identical in every view\n` +
    `differences: ${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}; not listed: ${unlisted}; listed but no longer differing: ${stale.length}\n` +
    `ansible-inventory: ${ansibleSeconds.toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);

if (write) {
  const keep = [...listed.values()].filter((d) => !cases.some((c) => c.name === d.case));
  const now: ListedDifference[] = outcomes.flatMap((o) =>
    o.found.map((f) => ({ case: o.c.name, view: o.view, kind: f.kind, why: listed.get(differenceKey({ case: o.c.name, view: o.view, kind: f.kind }))?.why ?? 'open' })),
  );
  writeDifferences([...keep, ...now]);
  process.stdout.write(`differences.json: ${keep.length + now.length} entries written\n`);
}
process.exitCode = unlisted > 0 || stale.length > 0 ? 1 : 0;
