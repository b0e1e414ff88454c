// release.config (issue 9): files rendered per host at compile time, refused with located errors,
// part of the release id (existing ids unchanged), never printed, and written by a script that
// carries its content only on stdin — run here through a real sh against a temporary release.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { compilePlaybook } from '../../../agent/playbook/compile.js';
import { STDIN_SCRIPT_COMMAND } from '../../../agent/remote/sh.js';
import { secrets } from '../../../agent/report/mask.js';
import { redactDesired } from '../../../agent/report/sensitive.js';
import { resourceTypes } from '../../../agent/resources/index.js';
import type { DesiredResource } from '../../../agent/resources/types.js';
import { renderReleasePlan } from '../../../agent/rollout/dry-run.js';
import { CONFIG_MARKER, configLines, releaseIdWithConfig, writeConfigScript, writeReleaseConfig } from '../../../agent/rollout/release-config.js';
import { releaseSpecFor } from '../../../agent/rollout/spec.js';
import type { ReleaseConfigFile, ReleaseSpec } from '../../../agent/rollout/types.js';
import { INLINE, at, errorLines, parse, testInventory } from '../playbook/helpers.js';

const ARTIFACT = { id: 'r0123456789ab', sha256: `0123456789ab${'0'.repeat(52)}` };
const file = (dest: string, content: string, mode = '0640', sensitive = false): ReleaseConfigFile => ({ dest, content, mode, sensitive });
const specs = (byHost: Record<string, ReleaseConfigFile[] | undefined>) => new Map(Object.entries(byHost).map(([h, config]) => [h, { config }]));

const SECRET = 'db-pass-7f3a9c2e';

async function compile(text: string): Promise<Map<string, DesiredResource[]>> {
  return (await compilePlaybook(parse(text), await testInventory(), {}, resourceTypes)).hosts;
}

const releasePlay = (config: string, extra = '') => `- hosts: app
  vars: { db_password: ${SECRET} }
  sensitive_vars: [db_password]
  release:
    path: /var/www/app
    shared: [storage, .env.shared, cache/views]
${extra}    config:
${config}`;

describe('releaseIdWithConfig', () => {
  it('is the artifact id when no host has configuration: existing release ids do not change', () => {
    assert.equal(releaseIdWithConfig(ARTIFACT, specs({ lab1: undefined, lab2: [] })), ARTIFACT.id);
    assert.equal(releaseIdWithConfig(ARTIFACT, new Map()), ARTIFACT.id);
  });

  it('is one stable id for the fleet, whatever the order of hosts and files', () => {
    const a = releaseIdWithConfig(ARTIFACT, specs({ lab1: [file('.env', 'A=1\n'), file('config/x.ini', 'x')], lab2: [file('.env', 'A=2\n')] }));
    const b = releaseIdWithConfig(ARTIFACT, specs({ lab2: [file('.env', 'A=2\n')], lab1: [file('config/x.ini', 'x'), file('.env', 'A=1\n')] }));
    assert.match(a, /^r[0-9a-f]{12}$/);
    assert.notEqual(a, ARTIFACT.id);
    assert.equal(a, b);
    // Buffer and string contents of the same bytes are the same configuration.
    assert.equal(releaseIdWithConfig(ARTIFACT, specs({ lab1: [file('.env', 'A=1\n'), { ...file('config/x.ini', ''), content: Buffer.from('x') }], lab2: [file('.env', 'A=2\n')] })), a);
  });

  it('changes when any host\'s content, mode or dest changes, or the artifact does', () => {
    const base = { lab1: [file('.env', 'A=1\n')], lab2: [file('.env', 'A=2\n')] };
    const id = releaseIdWithConfig(ARTIFACT, specs(base));
    const variants = [
      { ...base, lab2: [file('.env', 'A=3\n')] },
      { ...base, lab1: [file('.env', 'A=1\n', '0600')] },
      { ...base, lab1: [file('.env.local', 'A=1\n')] },
      { ...base, lab3: [file('.env', 'A=1\n')] },
    ];
    const ids = variants.map((v) => releaseIdWithConfig(ARTIFACT, specs(v)));
    for (const other of ids) assert.notEqual(other, id);
    assert.equal(new Set(ids).size, ids.length);
    assert.notEqual(releaseIdWithConfig({ ...ARTIFACT, sha256: `f${ARTIFACT.sha256.slice(1)}` }, specs(base)), id);
  });
});

describe('release.config in a playbook', () => {
  it('renders src per host with the host\'s variables, and a file carrying a registered secret is sensitive', async () => {
    const hosts = await compile(releasePlay(`      - { dest: .env, src: app.env.j2 }
      - { dest: config/motd, content: "hello {{ inventory_hostname }}\\n", mode: "0644" }
      - { dest: config/key, content: "plain\\n", sensitive: true }
`));
    const lab1 = releaseSpecFor('lab1', hosts.get('lab1')!);
    const lab2 = releaseSpecFor('lab2', hosts.get('lab2')!);
    assert.deepEqual(lab1.config, [
      { dest: '.env', content: `APP_NAME=shop\nAPP_HOST=lab1\nFPM_CHILDREN=8\nDB_PASSWORD=${SECRET}\n`, mode: '0640', sensitive: true },
      { dest: 'config/motd', content: 'hello lab1\n', mode: '0644', sensitive: false },
      { dest: 'config/key', content: 'plain\n', mode: '0640', sensitive: true },
    ]);
    assert.equal(lab2.config?.[0]?.content, `APP_NAME=shop\nAPP_HOST=lab2\nFPM_CHILDREN=4\nDB_PASSWORD=${SECRET}\n`);
    assert.ok(secrets.contains(SECRET));
    // The compiled release resource shows no content anywhere: JSON (plan --json, plan files), masking, redaction.
    const release = hosts.get('lab1')!.find((d) => d.type === 'release')!;
    for (const shown of [JSON.stringify(release), JSON.stringify(secrets.maskValue(release)), JSON.stringify(redactDesired(release))]) {
      assert.ok(!shown.includes('APP_NAME') && !shown.includes('plain') && !shown.includes('hello'), shown);
      assert.match(shown, /"sha256":"[0-9a-f]{64}","size":\d+/);
    }
    // ... and a configuration carrying a secret does not make the layout's own changes sensitive.
    assert.equal(secrets.containsIn(release.spec), false);
  });

  it('refuses a dest that is shared, inside or above a shared path, twice, or reserved — located, per host', async () => {
    const lines = await errorLines(() =>
      compile(releasePlay(`      - { dest: .env.shared, content: a }
      - { dest: storage/app.env, content: a }
      - { dest: conf, content: a }
      - { dest: conf, content: b }
      - { dest: conf/x, content: c }
      - { dest: ../etc/passwd, content: a }
      - { dest: .lanes-release, content: a }
      - { dest: cache, content: a }
`)),
    );
    const all = ' (hosts lab1, lab2)';
    assert.deepEqual(lines, [
      at(8, 11, `release.config[0].dest: is also a shared path: a shared file is the same in every release; list it in shared or in config, not both${all}`),
      at(9, 11, `release.config[1].dest: is inside the shared path storage: a shared file is the same in every release; list it in shared or in config, not both${all}`),
      at(11, 11, `release.config[3].dest: is written twice (also release.config[2])${all}`),
      at(12, 11, `release.config[4].dest: overlaps release.config[2] (conf)${all}`),
      at(13, 11, `release.config[5].dest: must not contain ".." or end with "/"${all}`),
      at(14, 11, `release.config[6].dest: is a name lanes keeps for itself in every release${all}`),
      at(15, 11, `release.config[7].dest: holds the shared path cache/views: a shared file is the same in every release; list it in shared or in config, not both${all}`),
    ]);
    for (const l of lines) assert.ok(l.startsWith(`${INLINE}:`), l);
  });

  it('refuses both src and content, neither, and a src outside the playbook tree', async () => {
    const lines = await errorLines(() =>
      compile(releasePlay(`      - { dest: a, src: app.env.j2, content: x }
      - { dest: b }
      - { dest: c, src: /etc/passwd }
      - { dest: d, src: ../../../../../etc/hostname }
`)),
    );
    const all = ' (hosts lab1, lab2)';
    const outside = (name: string) => `template "${name}" is outside the playbook directory ${path.dirname(INLINE)} (templates, includes and vars_files are confined to it)`;
    assert.deepEqual(lines, [
      at(8, 37, `release.config[0].content: set either src (a template file) or content, not both${all}`),
      at(10, 20, `release.config[2].src: ${outside('/etc/passwd')}${all}`),
      at(11, 20, `release.config[3].src: ${outside('../../../../../etc/hostname')}${all}`),
    ]);
    // A file with neither is refused by the schema (the template errors above stop the block first).
    assert.deepEqual(await errorLines(() => compile(releasePlay('      - { dest: b }\n'))), [at(8, 9, `release.config[0]: needs src (a template file) or content${all}`)]);
  });
});

describe('--dry-run lines', () => {
  it('name dest, mode and size or "(sensitive)", never content', async () => {
    assert.deepEqual(configLines([file('.env', `DB=${SECRET}\n`, '0640', true), file('config/motd', 'hello\n', '0644')]), ['.env  0640  (sensitive)', 'config/motd  0644  6 bytes']);
    const hosts = await compile(releasePlay(`      - { dest: .env, src: app.env.j2 }
      - { dest: config/motd, content: "hello\\n", mode: "0644" }
`));
    const text = renderReleasePlan(hosts, ['lab1', 'lab2'], { artifact: ARTIFACT });
    const id = releaseIdWithConfig(ARTIFACT, new Map(['lab1', 'lab2'].map((h) => [h, releaseSpecFor(h, hosts.get(h)!)])));
    assert.notEqual(id, ARTIFACT.id);
    assert.match(text, new RegExp(`^release ${id} to 2 hosts`));
    assert.match(text, new RegExp(`configuration files into releases/${id} on lab1, lab2:\\n    \\.env  0640  \\(sensitive\\)\\n    config/motd  0644  6 bytes\\n`));
    assert.ok(!text.includes(SECRET) && !text.includes('APP_NAME') && !text.includes('hello'), text);
  });
});

describe('writeConfigScript (real sh, as root)', () => {
  let root: string;
  let rel: string;
  const id = 'r00000000cfg1';
  const spec = (config: ReleaseConfigFile[]): Pick<ReleaseSpec, 'path' | 'group' | 'config'> => ({ path: root, group: 'root', config });
  const run = (command: string, stdin: Buffer) => {
    const r = spawnSync('/bin/sh', ['-c', command], { input: stdin, encoding: 'utf8' });
    return Promise.resolve({ code: r.status, stdout: r.stdout, stderr: r.stderr });
  };

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), 'lanes-config-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const fresh = () => {
    rel = path.join(root, 'releases', id);
    rmSync(path.join(root, 'releases'), { recursive: true, force: true });
    mkdirSync(path.join(rel, 'public'), { recursive: true });
    writeFileSync(path.join(rel, '.env'), 'shipped by the artifact\n');
  };

  it('writes each file with its mode, root and the release group, creating parents; then not again', async () => {
    fresh();
    const content = `APP_KEY=${SECRET}\n`;
    const files = [file('.env', content, '0640', true), file('config/deep/app.ini', 'x=1\n', '0604'), file('empty', '', '0600')];
    assert.equal(await writeReleaseConfig(run, spec(files), id, 'h1'), 'written');
    assert.equal(readFileSync(path.join(rel, '.env'), 'utf8'), content);
    const st = lstatSync(path.join(rel, '.env'));
    assert.equal(st.mode & 0o7777, 0o640);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, 0);
    assert.equal(lstatSync(path.join(rel, 'config/deep/app.ini')).mode & 0o7777, 0o604);
    assert.equal(lstatSync(path.join(rel, 'config/deep')).mode & 0o7777, 0o755);
    assert.equal(readFileSync(path.join(rel, 'empty'), 'utf8'), '');
    assert.ok(lstatSync(path.join(rel, CONFIG_MARKER)).isFile());
    // A release that has its configuration is never rewritten (same id, same content by construction).
    writeFileSync(path.join(rel, '.env'), 'hand edit\n');
    assert.equal(await writeReleaseConfig(run, spec(files), id, 'h1'), 'exists');
    assert.equal(readFileSync(path.join(rel, '.env'), 'utf8'), 'hand edit\n');
  });

  it('refuses a dest that is a link, or below a link, writing nothing through it', async () => {
    fresh();
    const outside = path.join(root, 'outside');
    mkdirSync(outside, { recursive: true });
    rmSync(path.join(rel, '.env'));
    symlinkSync(path.join(outside, 'target'), path.join(rel, '.env'));
    await assert.rejects(writeReleaseConfig(run, spec([file('.env', 'A=1\n')]), id, 'h1'), (e: unknown) => {
      assert.ok(e instanceof LanesError);
      assert.equal(e.message, `writing the configuration files of release ${id} failed: .env is a symbolic link in the release: refused (lanes does not write through a link)`);
      return true;
    });
    symlinkSync(outside, path.join(rel, 'conf'));
    await assert.rejects(writeReleaseConfig(run, spec([file('conf/app.env', 'A=1\n')]), id, 'h1'), /conf is a symbolic link in the release: lanes does not write conf\/app\.env through it/);
    assert.deepEqual(spawnSync('ls', ['-A', outside], { encoding: 'utf8' }).stdout, '');
    assert.equal(lstatSync(path.join(rel, CONFIG_MARKER), { throwIfNoEntry: false }), undefined, 'no marker: the next run tries again');
  });

  it('without perl on the host: the same refusals and the same file (check then act)', async () => {
    fresh();
    // A PATH with the tools of a host that has no perl (nor python3).
    const bin = path.join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const t of ['sh', 'base64', 'mktemp', 'cat', 'wc', 'tr', 'mv', 'rm', 'mkdir', 'chown', 'chmod', 'id', 'getent', 'grep', 'cut', 'date', 'sed']) {
      const at = spawnSync('/bin/sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
      symlinkSync(at, path.join(bin, t));
    }
    const noPerl = (command: string, stdin: Buffer) => {
      const r = spawnSync('/bin/sh', ['-c', command], { input: stdin, encoding: 'utf8', env: { PATH: bin } });
      return Promise.resolve({ code: r.status, stdout: r.stdout, stderr: r.stderr });
    };
    symlinkSync('public', path.join(rel, 'linked'));
    await assert.rejects(writeReleaseConfig(noPerl, spec([file('linked/.env', 'A=1\n')]), id, 'h1'), /linked is a symbolic link in the release: lanes does not write linked\/\.env through it/);
    assert.equal(await writeReleaseConfig(noPerl, spec([file('config/.env', 'A=1\n', '0600')]), id, 'h1'), 'written');
    assert.equal(readFileSync(path.join(rel, 'config/.env'), 'utf8'), 'A=1\n');
    assert.equal(lstatSync(path.join(rel, 'config/.env')).mode & 0o7777, 0o600);
  });

  it('carries content only on stdin: the command is the fixed stdin runner; the script holds no plain content', async () => {
    fresh();
    const content = `TOKEN=${SECRET}\n`;
    const seen: string[] = [];
    await writeReleaseConfig(
      (command, stdin) => {
        seen.push(command);
        return run(command, stdin);
      },
      spec([file('.env', content)]),
      id,
      'h1',
    );
    assert.deepEqual(seen, [STDIN_SCRIPT_COMMAND]);
    const script = writeConfigScript(spec([file('.env', content)]), id).text;
    assert.ok(!script.includes(SECRET));
    // The base64 reaches base64 -d through a pipe from printf, a builtin: never an argument of a program.
    assert.match(script, /printf '%s' '?[A-Za-z0-9+/=]+'? \| base64 -d \| lanes_config_put /);
    assert.equal(readFileSync(path.join(rel, '.env'), 'utf8'), content);
  });
});
