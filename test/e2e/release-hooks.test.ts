// Release hooks on 3 real lab hosts, through the real CLI, each outcome checked on the hosts:
// build hooks run on every host as the hook user with the release environment, and the release is
// sealed afterwards; the once hook runs on exactly one host, once; a failing after_switch hook on one
// host rolls that host back (its on_rollback hook runs in the release it returns to) while the others
// stay on the new release; a failing once hook switches no host and removes the unpacked release; a
// build hook that hangs is killed at its timeout with its children; Ctrl-C during a build hook stops
// its process group and leaves every host as it was, unlocked.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { APP, assertHostSound, currentOf, leaseOn, served } from './support/fleet-checks.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { provision, startCli } from './support/spawn.js';
import { copySampleApp, ONE_BATCH } from './support/sample-app.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-hooks-'));
const run = `${process.pid}-${Date.now()}`;
const ONCE_LOG = `/var/tmp/lanes-once-${run}.log`;
const ROLLBACK_LOG = `/var/tmp/lanes-on-rollback-${run}.log`;
let lab: EnsuredLab;
let names: string[];
let limit: string;
let id1 = '';
let hookUser = '';

function variant(name: string): string {
  return copySampleApp(path.join(tmp, name), { version: `hooks-${name}-${run}` });
}

/** site.yml (with its templates) whose release block also has these hooks, a 5 s gate. */
function playbook(name: string, hooks: Record<string, unknown>): string {
  const dir = path.join(tmp, `pb-${name}`);
  cpSync(path.join(repoRoot, 'playbooks'), dir, { recursive: true, filter: (src) => !src.includes('sample-app') });
  const doc = parseDocument(readFileSync(path.join(repoRoot, 'playbooks', 'site.yml'), 'utf8'));
  const plays = doc.toJS() as Record<string, unknown>[];
  const i = plays.findIndex((p) => p.release !== undefined);
  // The play's hook user (site.yml's own, else www-data).
  hookUser = ((plays[i]!.release as { user?: string }).user ?? 'www-data');
  doc.setIn([i, 'release', 'user'], hookUser);
  // The play's own hooks (composer install…: the sample app needs its build) run first, then these.
  const own = (plays[i]!.release as { hooks?: Record<string, unknown[]> }).hooks ?? {};
  const merged: Record<string, unknown[]> = { ...own };
  for (const [point, list] of Object.entries(hooks)) merged[point] = [...(own[point] ?? []), ...(list as unknown[])];
  doc.setIn([i, 'release', 'hooks'], doc.createNode(merged));
  doc.setIn([i, 'release', 'health', 'timeout'], '5s');
  const file = path.join(dir, 'site.yml');
  writeFileSync(file, doc.toString());
  return file;
}

const sh = (host: string, script: string) => onHost(lab, host, script, { allowFail: true });
const cli = (args: string[]) => runCli([...args, '-i', lab.inventoryFile, '--limit', limit]);
const idOf = async (dir: string) => (await readArtifact(dir)).id;
const currents = () => Promise.all(names.map((h) => currentOf(lab, h)));

before(async () => {
  lab = await ensureLab(3);
  names = lab.hosts.slice(0, 3).map((h) => h.name);
  limit = names.join(':');
  await provision(limit);
  const v1 = variant('v1');
  const r = await cli(['release', path.join(repoRoot, 'playbooks', 'site.yml'), '--artifact', v1, ...ONE_BATCH]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  id1 = await idOf(v1);
});

after(async () => {
  if (lab) await Promise.all(names.map((h) => sh(h, `rm -f ${ONCE_LOG} ${ROLLBACK_LOG} /var/tmp/lanes-build-started-${run} /var/tmp/lanes-before-switch-${run}; pkill -f 'sleep 30[1-3]'; true`)));
  rmSync(tmp, { recursive: true, force: true });
});

describe('release hooks on 3 lab hosts', { concurrency: false }, () => {
  it('build on every host as the hook user, once on exactly one host; a failing after_switch rolls back that host only, with on_rollback', async () => {
    const [h1, h2, h3] = names as [string, string, string];
    const pb = playbook('main', {
      build: [{ run: `printf '%s %s %s %s %s\\n' "$(id -un)" "$LANES_RELEASE_ID" "$LANES_HOST" "$(pwd)" "$GREETING" > build.txt`, env: { GREETING: 'x' } }, 'echo built quietly'],
      once: [`echo "$LANES_HOST $LANES_RELEASE_ID $LANES_PREVIOUS_RELEASE" >> ${ONCE_LOG}`],
      after_switch: [{ run: 'echo "cache warm-up exploded" >&2; exit 4', hosts: h2 }],
      on_rollback: [`echo "$LANES_HOST $LANES_RELEASE_ID $LANES_PREVIOUS_RELEASE $(pwd -P)" >> ${ROLLBACK_LOG}`],
    });
    const v2 = variant('v2');
    const id2 = await idOf(v2);
    // The dry-run names the once host and the host of the after_switch hook.
    const dry = await cli(['release', pb, '--artifact', v2, '--dry-run']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, new RegExp(`hook once\\[\\d\\] \`echo .* as ${hookUser} \\(timeout 600s\\) — on ${h1} only`));
    assert.match(dry.stdout, new RegExp(`hook after_switch\\[\\d\\] .* — on ${h2} \\(hosts: ${h2}\\)`));

    const r = await cli(['release', pb, '--artifact', v2, '--serial', '1', '--max-fail', '1']);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, new RegExp(`FAILED ${h2}: after_switch hook: hook after_switch\\[\\d\\] \`echo "cache warm-up exploded" >&2; exit 4\` failed \\(exit 4\\): cache warm-up exploded — rolled back to ${id1}, on_rollback hooks ran, php-fpm reloaded`));
    assert.match(out, new RegExp(`${h2}.*\\| cache warm-up exploded`), "the failing hook's output is shown");
    assert.deepEqual(await currents(), [id2, id1, id2]);
    assert.equal(await served(lab.hosts[1]!.address), id1);
    await assertHostSound(lab, h1, id2);
    await assertHostSound(lab, h2, id1);
    await assertHostSound(lab, h3, id2);

    // once: exactly one run, on the first host of the first batch, with the release environment.
    const logs = await Promise.all(names.map((h) => sh(h, `cat ${ONCE_LOG} 2>/dev/null || true`)));
    assert.deepEqual(logs, [`${h1} ${id2} ${id1}\n`, '', '']);
    // build: every host, as www-data, in releases/<id>; then sealed: root:app, nothing writable by group or others.
    for (const h of names) {
      const built = await sh(h, `cat ${APP}/releases/${id2}/build.txt; stat -c '%U:%G %a' ${APP}/releases/${id2} ${APP}/releases/${id2}/build.txt; find ${APP}/releases/${id2} -perm /022 ! -type l | wc -l; cat ${APP}/releases/${id2}/.lanes-built`);
      const [line, dirStat, fileStat, writable, marker] = built.split('\n');
      assert.equal(line, `${hookUser} ${id2} ${h} ${APP}/releases/${id2} x`, `${h}: ${built}`);
      assert.equal(dirStat, 'root:app 755');
      assert.equal(fileStat, 'root:app 644');
      assert.equal(writable, '0');
      assert.match(marker ?? '', /^[0-9a-f]{16}$/);
    }
    // on_rollback: on h2 only, in the release it returned to.
    assert.equal(await sh(h2, `cat ${ROLLBACK_LOG}`), `${h2} ${id1} ${id2} ${APP}/releases/${id1}\n`);
    assert.equal((await Promise.all([h1, h3].map((h) => sh(h, `cat ${ROLLBACK_LOG} 2>/dev/null || true`)))).join(''), '');
    // The history records the failure on h2.
    assert.match(await sh(h2, `tail -n 1 ${APP}/releases/.history.jsonl`), /"event":"failed"/);
  });

  it('a failing once hook: no host switches, exit 1, its output shown, the release unpacked by the run removed', async () => {
    const before = await currents();
    const pb = playbook('once-fails', { build: ['true'], once: ['echo "migration exploded: no such table: users" >&2; exit 3'] });
    const v3 = variant('v3');
    const id3 = await idOf(v3);
    const r = await cli(['release', pb, '--artifact', v3]);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, new RegExp(`FAILED ${names[0]}: hook once\\[\\d\\] .* failed \\(exit 3\\): migration exploded: no such table: users`));
    assert.match(out, new RegExp(`ok +${names[1]}: untouched: the once hooks failed on ${names[0]}: no host was switched`));
    assert.deepEqual(await currents(), before);
    for (const h of names) {
      assert.equal((await sh(h, `test -e ${APP}/releases/${id3} && echo there || echo absent`)).trim(), 'absent', h);
      assert.equal(await leaseOn(lab, h), '', `${h}: no lease left`);
    }
  });

  it('a build hook that hangs is killed at its timeout, children included; nothing switches', async () => {
    const before = await currents();
    const pb = playbook('timeout', { build: [{ run: 'sleep 301 & sleep 302', timeout: '3s' }] });
    const r = await cli(['release', pb, '--artifact', variant('v4')]);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, /hook build\[\d\] `sleep 301 & sleep 302` was killed at its timeout \(3s\) with its process group/);
    assert.deepEqual(await currents(), before);
    for (const h of names) {
      // TERM, then KILL 2 s later: give the group that long.
      const left = await sh(h, "for i in 1 2 3 4 5 6 7 8; do pgrep -f 'sleep 30[12]' >/dev/null || break; sleep 0.5; done; pgrep -fa 'sleep 30[12]' || echo none");
      assert.equal(left.trim(), 'none', `${h}: the hook's processes are gone`);
    }
  });

  it('Ctrl-C during a build hook: its process group is stopped, no host switched, no lease left', async () => {
    const before = await currents();
    const pb = playbook('cancel', { build: [`touch /var/tmp/lanes-build-started-${run}; sleep 303`] });
    const v5 = variant('v5');
    const id5 = await idOf(v5);
    const cliRun = startCli(['release', pb, '-i', lab.inventoryFile, '--limit', limit, '--artifact', v5, '--json']);
    await cliRun.waitFor((e) => e.type === 'step-start' && /^hook build\[\d\]: touch/.test(String(e.step)));
    // The hook has started on a host (its marker exists) before the signal.
    for (let i = 0; i < 40 && (await sh(names[0]!, `test -e /var/tmp/lanes-build-started-${run} && echo y || echo n`)).trim() !== 'y'; i++) await new Promise((res) => setTimeout(res, 250));
    cliRun.kill('SIGINT');
    const r = await cliRun.done;
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(await currents(), before);
    for (const h of names) {
      const left = await sh(h, "for i in 1 2 3 4 5 6 7 8; do pgrep -f 'sleep 30[3]' >/dev/null || break; sleep 0.5; done; pgrep -fa 'sleep 30[3]' || echo none");
      assert.equal(left.trim(), 'none', `${h}: the hook's process group was stopped`);
      assert.equal((await sh(h, `test -e ${APP}/releases/${id5} && echo there || echo absent`)).trim(), 'absent', `${h}: the half-built release is removed`);
      assert.equal(await leaseOn(lab, h), '', `${h}: no lease left`);
    }
  });
  it('on one host: before_switch runs in the new release (-v shows its output); a failing (sensitive) after_release fails the run with the host live, showing nothing of it; lanes rollback runs on_rollback; a bad hosts: is refused before connecting', async () => {
    const h3 = names[2]!;
    const before = await currentOf(lab, h3);
    const BS = `/var/tmp/lanes-before-switch-${run}`;
    const pb = playbook('one-host', {
      before_switch: [`echo "$LANES_RELEASE_ID $(pwd)" > ${BS}; echo "warming caches for $LANES_HOST"`],
      after_release: [{ run: 'echo "webhook is down, token=$TOKEN" >&2; exit 7', env: { TOKEN: 's3cr3t-hook-token' }, sensitive: true }],
      on_rollback: [`echo "$LANES_HOST $LANES_RELEASE_ID $LANES_PREVIOUS_RELEASE $(pwd -P)" >> ${ROLLBACK_LOG}`],
    });
    const v6 = variant('v6');
    const id6 = await idOf(v6);
    const r = await runCli(['release', pb, '-i', lab.inventoryFile, '--limit', h3, '--artifact', v6, '-v']);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, new RegExp(`${h3}.*\\| warming caches for ${h3}`), '-v shows the output of a hook that passed');
    assert.match(out, new RegExp(`FAILED after the release: after_release on ${h3}: hook after_release\\[\\d\\] \`\\(sensitive command\\)\` failed \\(exit 7\\): \\(output hidden: the hook is sensitive\\) \\(every host stays on ${id6}\\)`));
    assert.doesNotMatch(out, /s3cr3t|webhook is down/, 'a sensitive hook: neither its command, its env nor its output is shown');
    assert.match(out, new RegExp(`ok +${h3}: ${id6} live \\(was ${before}\\)`));
    assert.equal(await currentOf(lab, h3), id6, 'the host stays live on the release');
    assert.equal(await sh(h3, `cat ${BS}; rm -f ${BS}`), `${id6} ${APP}/releases/${id6}\n`);

    const rb = await runCli(['rollback', pb, '-i', lab.inventoryFile, '--limit', h3]);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    assert.equal(await currentOf(lab, h3), before);
    assert.match(await sh(h3, `tail -n 1 ${ROLLBACK_LOG}`), new RegExp(`^${h3} ${before} ${id6} ${APP}/releases/${before}\\n$`));
    await assertHostSound(lab, h3, before);

    // A hook for a host that --limit left out of the run, and one for a host the inventory does not have.
    for (const [hosts, why] of [
      [names[0]!, `"${names[0]}" matches none of the hosts of this run \\(${h3}\\)`],
      ['no-such-host', 'host pattern "no-such-host" matches no host or group'],
    ]) {
      const bad = await runCli(['release', playbook(`bad-hosts-${hosts}`, { after_switch: [{ run: 'true', hosts }] }), '-i', lab.inventoryFile, '--limit', h3, '--artifact', v6]);
      const badOut = bad.stdout + bad.stderr;
      assert.equal(bad.code, 1, badOut);
      assert.match(badOut, new RegExp(`site\\.yml:\\d+:\\d+: release\\.hooks\\.after_switch\\[\\d\\]\\.hosts: ${why}`));
      assert.doesNotMatch(badOut, /connect/, 'refused before any connection');
    }
  });
});
