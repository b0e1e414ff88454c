import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import {
  loadSshConfig,
  parseJumpSpec,
  parseSshArgs,
  parseSshConfigText,
  type SshConfigOptions,
  type SshConfigResult,
} from '../../../agent/transport/ssh-config.js';

const FIXTURES = fileURLToPath(new URL('../../../../test/fixtures/transport/', import.meta.url)).replace(/\/$/, '');
const HOME = userInfo().homedir;
const ME = userInfo().username;
const ENV: SshConfigOptions = { homeDir: HOME, localUser: ME, localHost: 'ctl.example.org' };

const hasSsh = spawnSync('ssh', ['-V'], { stdio: 'ignore' }).status === 0;

/** `ssh -G` output as keyword → values (one entry per output line). */
function sshG(configFile: string, host: string, args: string[] = []): Map<string, string[]> {
  const out = execFileSync('ssh', ['-G', '-F', configFile, ...args, host], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const map = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const key = line.slice(0, sp);
    map.set(key, [...(map.get(key) ?? []), line.slice(sp + 1)]);
  }
  return map;
}

function first(g: Map<string, string[]>, key: string): string | undefined {
  return g.get(key)?.[0];
}

/**
 * Compare our result with `ssh -G`. ssh -G prints IdentityFile unexpanded, so its values are
 * expanded here with the values ssh itself printed (user, hostname, port).
 */
function assertAgreesWithSsh(ours: SshConfigResult, g: Map<string, string[]>, host: string): void {
  const hostname = first(g, 'hostname');
  const user = first(g, 'user');
  const port = first(g, 'port');
  assert.equal(ours.hostName ?? host.toLowerCase(), hostname, `${host}: hostname`);
  assert.equal(ours.user ?? ME, user, `${host}: user`);
  assert.equal(String(ours.port ?? 22), port, `${host}: port`);
  const jump = ours.proxyJump === 'none' ? undefined : ours.proxyJump;
  assert.equal(jump, first(g, 'proxyjump'), `${host}: proxyjump`);
  const command = ours.proxyCommand === 'none' ? undefined : ours.proxyCommand;
  assert.equal(command, first(g, 'proxycommand'), `${host}: proxycommand`);
  assert.equal(ours.identitiesOnly ?? false ? 'yes' : 'no', first(g, 'identitiesonly'), `${host}: identitiesonly`);
  if (ours.identityFiles.length > 0) {
    const expand = (p: string): string =>
      p
        .replace(/^~(?=\/|$)/, HOME)
        .replace(/%([%dhnpru])/g, (_m, t: string) =>
          t === '%' ? '%' : t === 'd' ? HOME : t === 'h' ? (hostname ?? '') : t === 'n' ? host : t === 'p' ? (port ?? '') : t === 'r' ? (user ?? '') : ME,
        );
    assert.deepEqual(ours.identityFiles, (g.get('identityfile') ?? []).map(expand), `${host}: identityfile`);
  }
  if (ours.userKnownHostsFiles.length > 0) {
    assert.equal(ours.userKnownHostsFiles.join(' '), first(g, 'userknownhostsfile'), `${host}: userknownhostsfile`);
  }
  if (ours.strictHostKeyChecking !== undefined) {
    const printed = { yes: 'true', no: 'false' }[ours.strictHostKeyChecking] ?? ours.strictHostKeyChecking;
    assert.equal(printed, first(g, 'stricthostkeychecking'), `${host}: stricthostkeychecking`);
  }
  if (ours.connectTimeout !== undefined) assert.equal(String(ours.connectTimeout), first(g, 'connecttimeout'));
  if (ours.serverAliveInterval !== undefined) {
    assert.equal(String(ours.serverAliveInterval), first(g, 'serveraliveinterval'));
  }
}

function expectInputError(fn: () => unknown, line: number | undefined, re: RegExp): LanesError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof LanesError, `expected a LanesError, got ${String(err)}`);
    assert.equal(err.kind, 'input');
    if (line !== undefined) assert.equal(err.location?.line, line, err.format());
    assert.match(err.format(), re);
    return err;
  }
  assert.fail('expected a LanesError');
}

let tmp: string;
let fixtureConfig: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lanes-sshcfg-'));
  // The fixture names its Include by absolute path so that ssh -G and lanes read the same files.
  const text = readFileSync(join(FIXTURES, 'ssh_config'), 'utf8').replaceAll('@FIXTURES@', FIXTURES);
  fixtureConfig = join(tmp, 'ssh_config');
  writeFileSync(fixtureConfig, text);
});

after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('ssh config fixture', () => {
  const load = () => parseSshConfigText(readFileSync(fixtureConfig, 'utf8'), fixtureConfig, ENV);

  it('resolves the bastion, aliases and wildcards', () => {
    const cfg = load();
    assert.deepEqual(cfg.resolve('bastion'), {
      hostName: 'bastion.example.com',
      user: 'jump',
      port: 2200,
      identityFiles: [`${HOME}/.ssh/id_from_include`, `${HOME}/.ssh/id_bastion`, `${HOME}/.ssh/id_ed25519`],
      identitiesOnly: true,
      userKnownHostsFiles: [`${HOME}/.ssh/known_hosts`],
      strictHostKeyChecking: 'yes',
      connectTimeout: 15,
      serverAliveInterval: 60,
    });
    const web = cfg.resolve('web1');
    assert.equal(web.hostName, 'web1.internal.example.com');
    assert.equal(web.user, 'deploy');
    assert.equal(web.proxyJump, 'jump@bastion.example.com:2200');
    assert.equal(web.port, 2201, 'Match host sees the HostName obtained so far');
    assert.deepEqual(web.identityFiles, [
      `${HOME}/.ssh/id_from_include`,
      `${HOME}/.ssh/id_deploy_web`,
      `${HOME}/.ssh/id_ed25519`,
    ]);
  });

  it('honours negation in Host lines', () => {
    const cfg = load();
    assert.equal(cfg.resolve('web-a.prod').user, 'deploy');
    const legacy = cfg.resolve('web-legacy.prod');
    assert.equal(legacy.user, 'fallback');
    assert.equal(legacy.hostName, undefined);
    assert.equal(legacy.proxyJump, undefined);
  });

  it('gives precedence to the first obtained value, also across Include', () => {
    const app1 = load().resolve('app-1');
    assert.equal(app1.port, 2222, '10-apps.conf is read before 20-override.conf');
    assert.equal(app1.user, 'appuser');
    assert.equal(app1.hostName, 'app-1.apps.example.com');
  });

  it('reads only *.conf, and no dot files, from the Include glob', () => {
    const other = load().resolve('other');
    assert.equal(other.user, 'fallback');
  });

  it('lets the first of ProxyCommand / ProxyJump win, lowercases HostName', () => {
    const legacy = load().resolve('LEGACY');
    assert.equal(legacy.hostName, 'legacy.example.com');
    assert.equal(legacy.proxyCommand, 'ssh -W %h:%p bastion');
    assert.equal(legacy.proxyJump, undefined);
    assert.equal(legacy.port, 2022);
  });

  it('keeps ProxyJump none and quoted values', () => {
    const direct = load().resolve('direct');
    assert.equal(direct.proxyJump, 'none');
    assert.equal(direct.user, 'ops');
    assert.deepEqual(parseJumpSpec(direct.proxyJump ?? ''), []);
  });

  it('expands tokens in IdentityFile and UserKnownHostsFile; UserKnownHostsFile does not accumulate', () => {
    const lab = load().resolve('x.lab');
    assert.deepEqual(lab.identityFiles, [
      `${HOME}/.ssh/id_from_include`,
      `${HOME}/.ssh/lab_labuser@x.lab:22`,
      `${HOME}/.ssh/with space`,
      `${HOME}/.ssh/id_ed25519`,
    ]);
    assert.deepEqual(lab.userKnownHostsFiles, [`${HOME}/.ssh/known_hosts.lab`, '/tmp/lanes-known-hosts-x.lab']);
    assert.equal(lab.strictHostKeyChecking, 'accept-new');
  });

  it('never applies Match exec blocks', () => {
    const cfg = load();
    for (const h of ['other', 'db1', 'alab']) assert.notEqual(cfg.resolve(h).port, 9999);
  });

  const hosts = [
    'bastion',
    'bastion.example.com',
    'web1',
    'webx',
    'web-a.prod',
    'web-legacy.prod',
    'db1',
    'legacy',
    'LEGACY',
    'direct',
    'x.lab',
    'alab',
    'app-1',
    'app-2',
    'other',
    'Mixed.Case.Host',
  ];
  for (const host of hosts) {
    it(`agrees with ssh -G for ${host}`, { skip: !hasSsh && 'ssh not installed' }, () => {
      assertAgreesWithSsh(load().resolve(host), sshG(fixtureConfig, host), host);
    });
  }

  it('agrees with ssh -G when command-line arguments override the file', { skip: !hasSsh && 'ssh not installed' }, () => {
    const key = join(tmp, 'cli_key');
    writeFileSync(key, '');
    const argv = ['-p', '2999', '-o', 'User=cliuser', '-i', key, '-o', 'UserKnownHostsFile=/tmp/cli_known_hosts'];
    const overrides = parseSshArgs(argv.map((a) => `'${a}'`).join(' '), 'test');
    for (const host of ['web1', 'app-1', 'x.lab', 'legacy']) {
      const ours = load().resolve(host, overrides);
      assert.equal(ours.port, 2999);
      assert.equal(ours.user, 'cliuser');
      assert.equal(ours.identityFiles[0], key, 'command-line identities come first');
      assertAgreesWithSsh(ours, sshG(fixtureConfig, host, argv), host);
    }
    // -J on the command line beats the file's ProxyCommand and ProxyJump.
    const jargv = ['-J', 'cli@jump.example.com:2022'];
    for (const host of ['web1', 'legacy', 'direct']) {
      const ours = load().resolve(host, parseSshArgs(jargv.join(' '), 'test'));
      assert.equal(ours.proxyJump, 'cli@jump.example.com:2022');
      assertAgreesWithSsh(ours, sshG(fixtureConfig, host, jargv), host);
    }
  });
});

describe('ssh config parsing', () => {
  const parse = (text: string, opts: SshConfigOptions = ENV) => parseSshConfigText(text, '/cfg', opts);

  it('accepts case-insensitive keywords, = separators, comments and CRLF', () => {
    const cfg = parse(
      '# comment\r\n\r\nHOST a\r\n  hostNAME=one.example\r\n  PORT = 2022 # trailing comment\r\n\tUser\t"x y"\r\n  Bogus-Keyword whatever\r\n',
    );
    assert.deepEqual(cfg.resolve('a'), {
      hostName: 'one.example',
      port: 2022,
      user: 'x y',
      identityFiles: [],
      userKnownHostsFiles: [],
    });
    assert.deepEqual(cfg.resolve('b'), { identityFiles: [], userKnownHostsFiles: [] });
  });

  it('matches Host patterns like OpenSSH: *, ?, !, several per line, case-sensitive', () => {
    const cfg = parse('Host *.example.com !secret.example.com db?\n  User u1\nHost Caps\n  User caps\n');
    assert.equal(cfg.resolve('www.example.com').user, 'u1');
    assert.equal(cfg.resolve('secret.example.com').user, undefined);
    assert.equal(cfg.resolve('db1').user, 'u1');
    assert.equal(cfg.resolve('db12').user, undefined);
    assert.equal(cfg.resolve('Caps').user, 'caps');
    assert.equal(cfg.resolve('caps').user, undefined);
    // A comma is literal in a Host line (unlike Match and known_hosts).
    assert.equal(parse('Host a,b\n  User ab\n').resolve('a').user, undefined);
  });

  it('accumulates IdentityFile, dropping duplicates, and keeps the first value of others', () => {
    const cfg = parse('Host a\n  IdentityFile /k1\n  Port 1\nHost *\n  IdentityFile /k2\n  IdentityFile /k1\n  Port 2\n');
    const r = cfg.resolve('a');
    assert.deepEqual(r.identityFiles, ['/k1', '/k2']);
    assert.equal(r.port, 1);
  });

  it('applies options before the first Host line to every host', () => {
    const r = parse('User top\nHost a\n  User a\n').resolve('a');
    assert.equal(r.user, 'top');
  });

  it('expands %-tokens, ${ENV} and ~ in IdentityFile', () => {
    process.env.LANES_TEST_KEYDIR = '/keys';
    try {
      const cfg = parse(
        'Host srv\n  HostName Real.Example\n  User bob\n  Port 2200\n' +
          '  IdentityFile ~/.ssh/%h-%r-%p-%u-%n-%l-%L-%d-%%\n  IdentityFile ${LANES_TEST_KEYDIR}/%h\n  IdentityFile ~\n',
      );
      assert.deepEqual(cfg.resolve('srv').identityFiles, [
        `${HOME}/.ssh/real.example-bob-2200-${ME}-srv-ctl.example.org-ctl-${HOME}-%`,
        '/keys/real.example',
        HOME,
      ]);
      // %r defaults to the local user and %p to 22.
      assert.deepEqual(parse('IdentityFile /k/%r@%h:%p\n').resolve('Plain').identityFiles, [`/k/${ME}@plain:22`]);
    } finally {
      delete process.env.LANES_TEST_KEYDIR;
    }
  });

  it('expands %h (only) in HostName', () => {
    assert.equal(parse('Host *\n  HostName %h.Corp.Example\n').resolve('box').hostName, 'box.corp.example');
    expectInputError(() => parse('Host *\n  HostName %r.example\n').resolve('box'), 2, /%r/);
  });

  it('reports unsupported tokens and unset variables with file:line', () => {
    expectInputError(() => parse('Host a\n  IdentityFile ~/.ssh/%C\n').resolve('a'), 2, /\/cfg:2: IdentityFile .*%C/);
    expectInputError(() => parse('\nIdentityFile ${LANES_SURELY_UNSET_VAR}/k\n').resolve('a'), 2, /LANES_SURELY_UNSET_VAR/);
    expectInputError(() => parse('IdentityFile /k%\n').resolve('a'), 1, /lone %/);
  });

  it('keeps UserKnownHostsFile none and the first UserKnownHostsFile line', () => {
    assert.deepEqual(parse('UserKnownHostsFile none\nUserKnownHostsFile /x\n').resolve('a').userKnownHostsFiles, ['none']);
    assert.deepEqual(parse('Host a\n UserKnownHostsFile /a1 /a2\nHost *\n UserKnownHostsFile /b\n').resolve('a').userKnownHostsFiles, [
      '/a1',
      '/a2',
    ]);
  });

  it('normalises StrictHostKeyChecking and parses time values', () => {
    const v = (s: string) => parse(`StrictHostKeyChecking ${s}\n`).resolve('a').strictHostKeyChecking;
    assert.equal(v('true'), 'yes');
    assert.equal(v('YES'), 'yes');
    assert.equal(v('off'), 'no');
    assert.equal(v('false'), 'no');
    assert.equal(v('ask'), 'ask');
    assert.equal(v('accept-new'), 'accept-new');
    const t = (s: string) => parse(`ConnectTimeout ${s}\nServerAliveInterval ${s}\n`).resolve('a');
    assert.equal(t('30').connectTimeout, 30);
    assert.equal(t('1m30s').serverAliveInterval, 90);
    assert.equal(t('2H').connectTimeout, 7200);
    assert.equal(parse('IdentitiesOnly no\n').resolve('a').identitiesOnly, false);
  });

  it('evaluates simple Match criteria and ignores the rest without breaking parsing', () => {
    const cfg = parse(
      [
        'Match canonical host foo',
        '  Port 1',
        'Match final',
        '  Port 2',
        'Match localnetwork 10.0.0.0/8',
        '  Port 3',
        'Match exec "touch /tmp/lanes-must-not-exist"',
        '  Port 4',
        'Match !localuser nosuchuser originalhost web*,!web9',
        '  User matched',
        'Match user matched host *.example.com',
        '  Port 5',
        'Match all',
        '  Port 6',
        'Host *',
        '  HostName %h.example.com',
      ].join('\n'),
    );
    const web1 = cfg.resolve('web1');
    assert.equal(web1.user, 'matched');
    // HostName is only obtained after the Match host line, so Match host sees "web1" there.
    assert.equal(web1.port, 6);
    assert.equal(cfg.resolve('web9').user, undefined);
    assert.equal(
      parse('HostName %h.example.com\nMatch host *.EXAMPLE.com user ' + ME + '\n  Port 5\n').resolve('a').port,
      5,
    );
  });

  it('agrees with ssh -G on Match criteria', { skip: !hasSsh && 'ssh not installed' }, () => {
    const text = [
      'Match originalhost web*,!web9 !localuser nosuchuser',
      '  User webby',
      'Match host *.corp user webby',
      '  Port 2022',
      'Host *',
      '  HostName %h.corp',
      'Match host *.corp',
      '  IdentityFile /k/late',
      'Match all',
      '  ProxyJump b1',
    ].join('\n');
    const file = join(tmp, 'match_config');
    writeFileSync(file, text);
    for (const h of ['web1', 'web9', 'db']) {
      assertAgreesWithSsh(parse(text).resolve(h), sshG(file, h), h);
    }
  });

  it('follows OpenSSH rules for Include inside Host blocks', { skip: !hasSsh && 'ssh not installed' }, () => {
    const dir = join(tmp, 'inc-blocks');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.conf'), 'Host incl\n  User incuser\nHost *\n  IdentityFile /k/from-include\n');
    const main = join(dir, 'main');
    const text = [
      'Host bastion',
      `  Include ${dir}/a.conf`,
      'Host incl',
      '  HostName first.example',
      `Include ${dir}/*.conf`,
      '  Port 2200',
    ].join('\n');
    writeFileSync(main, text);
    const cfg = parse(text);
    // Inside "Host bastion": the include's Host * applies only to bastion, its Host incl never.
    assert.deepEqual(cfg.resolve('bastion').identityFiles, ['/k/from-include']);
    const incl = cfg.resolve('incl');
    assert.equal(incl.user, 'incuser');
    assert.equal(incl.port, 2200, 'the Include does not change the active block of the including file');
    for (const h of ['bastion', 'incl', 'zzz']) assertAgreesWithSsh(cfg.resolve(h), sshG(main, h), h);
  });

  it('resolves relative Include paths against ~/.ssh, with glob and tilde', () => {
    const home = join(tmp, 'home');
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'conf.d', 'b.conf'), 'Host *\n  User from-b\n');
    writeFileSync(join(home, '.ssh', 'conf.d', 'a.conf'), 'Host *\n  User from-a\n  Port 2001\n');
    writeFileSync(join(home, '.ssh', 'extra'), 'Host x\n  HostName extra.example\n');
    const opts = { ...ENV, homeDir: home };
    const cfg = parse('Include conf.d/*.conf ~/.ssh/extra missing/*.conf ~/.ssh/absent\n', opts);
    assert.deepEqual(cfg.resolve('x'), {
      user: 'from-a',
      port: 2001,
      hostName: 'extra.example',
      identityFiles: [],
      userKnownHostsFiles: [],
    });
  });

  it('refuses runaway recursive Include', () => {
    const file = join(tmp, 'loop.conf');
    writeFileSync(file, `Include ${file}\n`);
    expectInputError(() => parse(`Include ${file}\n`), 1, /recursive/);
  });

  const bad: [string, string, number, RegExp][] = [
    ['unterminated quote', 'Host a\n  User "bob\n', 2, /invalid quotes/],
    ['keyword without argument', 'Host a\n  HostName\n', 2, /no argument after keyword "HostName"/],
    ['bad port', '\n\nPort 70000\n', 3, /bad port '70000'/],
    ['port not a number', 'Port ssh2\n', 1, /bad port/],
    ['extra arguments', 'User a b\n', 1, /extra arguments/],
    ['bad StrictHostKeyChecking', 'StrictHostKeyChecking maybe\n', 1, /StrictHostKeyChecking/],
    ['bad IdentitiesOnly', 'IdentitiesOnly perhaps\n', 1, /IdentitiesOnly/],
    ['bad time', 'ConnectTimeout 10x\n', 1, /invalid time value/],
    ['unknown Match attribute', 'Match flavour vanilla\n', 1, /unsupported Match attribute flavour/],
    ['Match criterion without argument', 'Match host\n', 1, /missing Match criteria for host/],
    ['all combined', 'Match all host x\n', 1, /cannot be combined/],
    ['none with other files', 'UserKnownHostsFile none /x\n', 1, /must appear alone/],
    ['invalid ProxyJump', 'Host a\n  ProxyJump user@:22\n', 2, /invalid ProxyJump/],
    ['bad error in a block that does not apply', 'Host nomatch\n  Port 0\n', 2, /bad port/],
  ];
  for (const [what, text, line, re] of bad) {
    it(`reports ${what} with file:line, as ssh does`, () => {
      const err = expectInputError(() => parse(text), line, re);
      assert.equal(err.location?.file, '/cfg');
      if (hasSsh) {
        const file = join(tmp, `bad-${line}-${what.replace(/\W+/g, '_')}`);
        writeFileSync(file, text);
        const r = spawnSync('ssh', ['-G', '-F', file, 'a'], { encoding: 'utf8' });
        assert.notEqual(r.status, 0, `ssh -G also rejects it: ${r.stdout}`);
        assert.match(r.stderr, new RegExp(`line ${line}\\b`));
      }
    });
  }
});

describe('loadSshConfig', () => {
  it('uses an explicit file, then $LANES_SSH_CONFIG, then ~/.ssh/config', async () => {
    const home = join(tmp, 'load-home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const opts = { ...ENV, homeDir: home };
    const saved = process.env.LANES_SSH_CONFIG;
    try {
      delete process.env.LANES_SSH_CONFIG;
      // A missing default file is an empty configuration.
      assert.deepEqual((await loadSshConfig(undefined, opts)).resolve('a'), { identityFiles: [], userKnownHostsFiles: [] });
      writeFileSync(join(home, '.ssh', 'config'), 'User default-file\n');
      assert.equal((await loadSshConfig(undefined, opts)).resolve('a').user, 'default-file');
      const envFile = join(tmp, 'env_config');
      writeFileSync(envFile, 'User env-file\n');
      process.env.LANES_SSH_CONFIG = envFile;
      assert.equal((await loadSshConfig(undefined, opts)).resolve('a').user, 'env-file');
      assert.equal((await loadSshConfig(fixtureConfig, opts)).resolve('bastion').user, 'jump');
      process.env.LANES_SSH_CONFIG = 'none';
      assert.equal((await loadSshConfig(undefined, opts)).resolve('a').user, undefined);
      process.env.LANES_SSH_CONFIG = join(tmp, 'does-not-exist');
      await assert.rejects(loadSshConfig(undefined, opts), (err: unknown) => err instanceof LanesError && err.kind === 'input');
    } finally {
      if (saved === undefined) delete process.env.LANES_SSH_CONFIG;
      else process.env.LANES_SSH_CONFIG = saved;
    }
  });

  it('reports syntax errors with the file path and line', async () => {
    const file = join(tmp, 'broken_config');
    writeFileSync(file, 'Host a\n  Port x\n');
    await assert.rejects(loadSshConfig(file, ENV), (err: unknown) => {
      assert.ok(err instanceof LanesError);
      assert.equal(err.format(), `${file}:2: bad port 'x' (a number from 1 to 65535)`);
      return true;
    });
  });
});

describe('parseSshArgs', () => {
  it('reads -o in both forms, -J, -p, -i, -l and ignores the rest', () => {
    const r = parseSshArgs(
      `-4 -C -o 'UserKnownHostsFile=~/kh /tmp/kh2' -o "StrictHostKeyChecking yes" -oConnectTimeout=7 -J bastion -p2222 -i ~/.ssh/k1 -i/k2 -l deploy -vvv -o ForwardAgent=yes -o ServerAliveInterval=5 -L 8080:localhost:80 -o IdentitiesOnly=yes`,
      'inventory.yml',
    );
    assert.deepEqual(r, {
      userKnownHostsFiles: [`${HOME}/kh`, '/tmp/kh2'],
      strictHostKeyChecking: 'yes',
      connectTimeout: 7,
      proxyJump: 'bastion',
      port: 2222,
      identityFiles: [`${HOME}/.ssh/k1`, '/k2'],
      user: 'deploy',
      serverAliveInterval: 5,
      identitiesOnly: true,
    });
  });

  it('keeps the first value like ssh and takes ProxyCommand as one shell command', () => {
    assert.deepEqual(parseSshArgs('-o Port=1 -p 2 -o User=a -l b', 'x'), { port: 1, user: 'a' });
    assert.deepEqual(parseSshArgs(`-o ProxyCommand="ssh -W %h:%p -q bastion"`, 'x'), {
      proxyCommand: 'ssh -W %h:%p -q bastion',
    });
    assert.deepEqual(parseSshArgs(`-o ProxyJump=a@b:3,c`, 'x'), { proxyJump: 'a@b:3,c' });
    assert.deepEqual(parseSshArgs('', 'x'), {});
  });

  it('agrees with ssh -G on the same arguments', { skip: !hasSsh && 'ssh not installed' }, () => {
    const key = join(tmp, 'args key');
    writeFileSync(key, '');
    const cases = [
      `-p 2222 -l alice -o StrictHostKeyChecking=accept-new`,
      `-o Port=1 -p 2 -o 'User bob' -l carol`,
      `-J 'jump@bastion:2200,second' -o ConnectTimeout=1m -o ServerAliveInterval=30`,
      `-o UserKnownHostsFile=/tmp/kh1 -o UserKnownHostsFile=/tmp/kh2 -i '${key}' -o IdentitiesOnly=yes`,
      `-o ProxyCommand="nc %h %p" -o ProxyJump=ignored`,
      `-o HostName=real.example -o StrictHostKeyChecking=no -C -4`,
    ];
    const lookup = parseSshConfigText('', '/empty', ENV);
    for (const args of cases) {
      const ours = lookup.resolve('target', parseSshArgs(args, 'test'));
      const out = execFileSync('sh', ['-c', `exec ssh -G -F none ${args} target`], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const g = new Map<string, string[]>();
      for (const line of out.split('\n')) {
        const sp = line.indexOf(' ');
        if (sp > 0) g.set(line.slice(0, sp), [...(g.get(line.slice(0, sp)) ?? []), line.slice(sp + 1)]);
      }
      assertAgreesWithSsh(ours, g, 'target');
    }
  });

  it('refuses malformed quotes and values, naming where they came from', () => {
    const where = 'inventories/lab.yml: lab1 ansible_ssh_common_args';
    const e1 = expectInputError(() => parseSshArgs(`-o 'User=bob`, where), undefined, /unterminated single quote/);
    assert.equal(e1.location?.file, where);
    assert.ok(e1.format().startsWith(`${where}: `));
    expectInputError(() => parseSshArgs(`-o "User=bob`, where), undefined, /unterminated double quote/);
    expectInputError(() => parseSshArgs(`-o User=bob\\`, where), undefined, /trailing backslash/);
    expectInputError(() => parseSshArgs(`-p nope`, where), undefined, /bad port 'nope'/);
    expectInputError(() => parseSshArgs(`-o Port=0`, where), undefined, /bad port/);
    expectInputError(() => parseSshArgs(`-o ProxyJump=a -J b`, where), undefined, /single -J/);
    expectInputError(() => parseSshArgs(`-J a -J b`, where), undefined, /single -J/);
    expectInputError(() => parseSshArgs(`-o ProxyCommand=nc -J b`, where), undefined, /-J with ProxyCommand/);
    expectInputError(() => parseSshArgs(`-J ''`, where), undefined, /-J/);
    expectInputError(() => parseSshArgs(`-i`, where), undefined, /-i needs an argument/);
    expectInputError(() => parseSshArgs(`-o 'User "x'`, where), undefined, /invalid quotes/);
  });

  it('splits like a POSIX shell (shlex)', () => {
    assert.deepEqual(parseSshArgs(`-l a\\ b`, 'x'), { user: 'a b' });
    // "-o User=a\ b" is one word for ssh, whose config parser then sees two arguments, as ssh does.
    expectInputError(() => parseSshArgs(`-o User=a\\ b`, 'x'), undefined, /extra arguments/);
    assert.deepEqual(parseSshArgs(`-o "User=\\"q\\""`, 'x'), { user: 'q' }, 'argv_split removes the inner quotes');
    assert.deepEqual(parseSshArgs(`-l 'o'"k"`, 'x'), { user: 'ok' });
  });
});

describe('parseJumpSpec', () => {
  it('parses chains of hops', () => {
    assert.deepEqual(parseJumpSpec('user@bastion:2222,other'), [{ user: 'user', host: 'bastion', port: 2222 }, { host: 'other' }]);
    assert.deepEqual(parseJumpSpec('ssh://me@h.example:2200'), [{ user: 'me', host: 'h.example', port: 2200 }]);
    assert.deepEqual(parseJumpSpec('[2001:db8::1]:2022,u@[::1]'), [
      { host: '2001:db8::1', port: 2022 },
      { user: 'u', host: '::1' },
    ]);
    assert.deepEqual(parseJumpSpec('a@b@c'), [{ user: 'a@b', host: 'c' }]);
    assert.deepEqual(parseJumpSpec('NONE'), []);
  });

  it('rejects malformed hops', () => {
    for (const bad of ['', 'a,,b', '@host', 'host:0', 'host:x', '[::1', 'ssh://h/path', 'user@']) {
      assert.throws(() => parseJumpSpec(bad), LanesError, bad);
    }
  });
});
