// Remote-side hardening (issue 8, item 6), through the real CLI on a lab host:
//   - a playbook with 600 managed files plans, applies and re-plans to 0 changes (the read script
//     streams on stdin; as one argument it fails with E2BIG from about 180 managed things);
//   - release artifacts with a symlink out of the release, a hard link or a FIFO are refused before any
//     switch, naming the artifact and the entry, the unpacked release removed, the old release serving
//     (FIFOs and `..` links: unit tests); world-writable and setuid modes from a tarball are normalised;
//   - a local user in group `app` racing to replace everything lanes writes in `shared/` (root:app 0775)
//     by a symlink to a root-only sentinel never makes root write, chown or chmod the sentinel.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, linkSync, chmodSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { readArtifact } from '../../agent/rollout/artifact.js';
import { runCli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { ensureLab, type EnsuredLab } from './support/lab.js';
import { onHost } from './support/remote.js';
import { copySampleApp } from './support/sample-app.js';

const site = path.join(repoRoot, 'playbooks', 'site.yml');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-hardening-'));
const APP = '/var/www/app';
const SENTINEL = '/root/lanes-sentinel';
let lab: EnsuredLab;
let host: string;
let address: string;

const sh = (script: string) => onHost(lab, host, script);

function writePlaybook(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

async function served(): Promise<string> {
  const res = await fetch(`http://${address}/`);
  return ((await res.json()) as { release: string }).release;
}

before(async () => {
  lab = await ensureLab(1);
  host = lab.hosts[0]!.name;
  address = lab.hosts[0]!.address;
  const r = await runCli(['apply', site, '-i', lab.inventoryFile, '--limit', host, '--yes']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

/** Stop the racing user's loop (its process group, by the id we recorded) and remove the user. */
async function stopRacer(): Promise<void> {
  await sh(`if [ -s /tmp/lanes-racer.pid ]; then kill -- -$(cat /tmp/lanes-racer.pid) 2>/dev/null; fi
for i in $(seq 50); do pgrep -u lanesracer >/dev/null 2>&1 || break; sleep 0.1; done
for p in $(pgrep -u lanesracer 2>/dev/null); do kill -KILL "$p"; done
rm -f /tmp/lanes-racer.pid /tmp/lanes-racer.sh
if id lanesracer >/dev/null 2>&1; then userdel lanesracer; fi`);
}

after(async () => {
  // Leave the host as other files expect it: no racer, no test files, no lock.
  await stopRacer();
  await sh(`rm -rf /srv/lanes-many ${APP}/shared/race-* ${SENTINEL}`);
  rmSync(tmp, { recursive: true, force: true });
});

describe('remote-side hardening', { concurrency: false }, () => {
  it('600 managed files on one host: plan, apply, and re-plan to 0 changes (the read script is not an argument)', async () => {
    const files = Array.from({ length: 600 }, (_, i) => `    - { path: /srv/lanes-many/file-${String(i).padStart(3, '0')}-with-a-longer-name-to-fill-the-read-script.txt, content: "file ${i}\\n", mode: "0644" }`);
    const book = writePlaybook(
      'many.yml',
      `- hosts: ${host}\n  directories:\n    - { path: /srv/lanes-many, owner: root, group: root, mode: "0755" }\n  files:\n${files.join('\n')}\n`,
    );
    const plan = await runCli(['plan', book, '-i', lab.inventoryFile, '--detailed-exitcode']);
    assert.equal(plan.code, 2, plan.stdout + plan.stderr);
    const apply = await runCli(['apply', book, '-i', lab.inventoryFile, '--yes']);
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.equal((await sh('ls /srv/lanes-many | wc -l')).trim(), '600');
    assert.equal((await sh('cat /srv/lanes-many/file-599-*')).trim(), 'file 599');
    const again = await runCli(['plan', book, '-i', lab.inventoryFile, '--detailed-exitcode']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    await sh('rm -rf /srv/lanes-many');
  });

  describe('release artifacts', () => {
    let liveId: string;
    /** The sample app as a plain tar.gz (modes, links and all as they are in `dir`), after `make`. */
    function crafted(name: string, make: (dir: string) => void): string {
      const dir = copySampleApp(path.join(tmp, name), { version: name });
      make(dir);
      const file = path.join(tmp, `${name}.tar.gz`);
      const t = spawnSync('tar', ['-czf', file, '-C', dir, '.'], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      return file;
    }

    before(async () => {
      // The live release, shipped with modes lanes must normalise.
      const good = crafted('good', (d) => {
        chmodSync(path.join(d, 'public', 'index.php'), 0o777);
        writeFileSync(path.join(d, 'tool'), '#!/bin/sh\n');
        chmodSync(path.join(d, 'tool'), 0o6777);
        writeFileSync(path.join(d, 'private.txt'), 'x');
        chmodSync(path.join(d, 'private.txt'), 0o600);
        mkdirSync(path.join(d, 'drop'));
        chmodSync(path.join(d, 'drop'), 0o1777);
      });
      const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', host, '--artifact', good]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      liveId = (await readArtifact(good)).id;
      assert.equal(await served(), liveId);
    });

    it('normalises modes from the tarball: no group/other write, no setuid/setgid/sticky; private files stay private', async () => {
      const modes = await sh(`cd ${APP}/releases/${liveId} && stat -c '%a %n' public/index.php tool private.txt drop . && find . ! -type l -perm /7022 | head`);
      assert.equal(modes.trim(), ['755 public/index.php', '755 tool', '600 private.txt', '755 drop', '755 .'].join('\n'));
    });

    const refusals: [string, (dir: string) => void, RegExp][] = [
      ['abs-link', (d) => symlinkSync('/etc/shadow', path.join(d, 'public', 'shadow.txt')), /entry (\.\/)?public\/shadow\.txt is a symbolic link to \/etc\/shadow, outside the release/],
      ['hard-link', (d) => linkSync(path.join(d, 'public', 'index.php'), path.join(d, 'public', 'again.php')), /entry .*(again|index)\.php is a hard link/],
    ];
    for (const [name, make, says] of refusals) {
      it(`refuses an artifact with a ${name} before any switch, naming it; the unpacked release is removed and the old one serves`, async () => {
        const file = crafted(name, make);
        const id = (await readArtifact(file)).id;
        const r = await runCli(['release', site, '-i', lab.inventoryFile, '--limit', host, '--artifact', file]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const out = r.stdout + r.stderr;
        assert.match(out, new RegExp(`release artifact ${name}\\.tar\\.gz: `));
        assert.match(out, says);
        assert.match((await sh(`readlink ${APP}/current`)).trim(), new RegExp(`releases/${liveId}$`), 'current did not move');
        assert.equal((await sh(`ls -A ${APP}/releases | grep -e ${id} -e '\\.tmp-' || true`)).trim(), '', 'nothing of it is left in releases/');
        assert.equal(await served(), liveId);
        assert.equal((await sh(`supervisorctl status 'app-queue:*' | grep -vc RUNNING || true`)).trim(), '0', 'the workers run');
      });
    }
  });

  it('a local user in group app racing with symlinks in shared/ never makes root write, chown or chmod a file of its choice', async () => {
    await sh(`printf 'root only\\n' > ${SENTINEL} && chmod 0600 ${SENTINEL} && chown root:root ${SENTINEL}
id lanesracer >/dev/null 2>&1 || useradd --no-create-home --shell /bin/sh -G app lanesracer`);
    const sentinel = async () => (await sh(`stat -c '%U:%G %a %s' ${SENTINEL} && cat ${SENTINEL}`)).trim();
    const before = await sentinel();
    assert.equal(before, 'root:root 600 10\nroot only');
    // The racer replaces, again and again, every entry of shared/ that lanes writes or stages with a
    // link to the sentinel (and plants links under every name lanes ever staged with).
    await sh(`cat > /tmp/lanes-racer.sh <<'EOF'
cd ${APP}/shared || exit 1
while :; do
  for f in race-* .race-* *.lanes-* .*.lanes-*; do
    case $f in '*'*|'.*'*|'race-*'|'.race-*') continue ;; esac
    ln -sfn ${SENTINEL} "$f" 2>/dev/null
  done
  for n in 0 1 2; do ln -sfn ${SENTINEL} race-$n.conf 2>/dev/null; done
  sleep 0.01
done
EOF
chmod 0755 /tmp/lanes-racer.sh
setsid su -s /bin/sh lanesracer -c 'exec sh /tmp/lanes-racer.sh' </dev/null >/dev/null 2>&1 &
echo $! > /tmp/lanes-racer.pid`);
    await new Promise((r) => setTimeout(r, 500));
    assert.match(await sh(`ls -l ${APP}/shared/race-0.conf`), new RegExp(`-> ${SENTINEL}`), 'the racer runs');

    const book = (v: number) =>
      writePlaybook(
        `race-${v}.yml`,
        `- hosts: ${host}\n  files:\n${[0, 1, 2]
          .map((n) => `    - { path: ${APP}/shared/race-${n}.conf, content: "version ${v} of ${n}\\n", owner: root, group: app, mode: "${v % 2 ? '0664' : '0640'}" }`)
          .join('\n')}\n`,
      );
    for (let v = 1; v <= 2; v++) {
      const r = await runCli(['apply', book(v), '-i', lab.inventoryFile, '--yes']);
      // Each apply either converged or failed cleanly (the racer changed a file after it was written).
      assert.ok(r.code === 0 || r.code === 1, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /root only/, 'the sentinel was never read into any output');
      assert.equal(await sentinel(), before, `after apply ${v} (exit ${r.code}): the sentinel is untouched`);
    }

    await stopRacer();
    assert.equal(await sentinel(), before);
    const final = await runCli(['apply', book(3), '-i', lab.inventoryFile, '--yes']);
    assert.equal(final.code, 0, final.stdout + final.stderr);
    const files = await sh(`cd ${APP}/shared && for n in 0 1 2; do stat -c '%F %U:%G %a' race-$n.conf; cat race-$n.conf; done`);
    assert.equal(files.trim(), [0, 1, 2].map((n) => `regular file root:app 664\nversion 3 of ${n}`).join('\n'));
    assert.equal((await sh(`ls -A ${APP}/shared | grep lanes || true; ls -d /var/lib/lanes/runs/*/stage 2>/dev/null || true`)).trim(), '', 'no staging left');
    assert.equal(await sentinel(), before);
    await sh(`rm -f ${APP}/shared/race-* ${SENTINEL}`);
  });
});
