// The package-database lookup that replaces `php-fpm -v` / `supervisord --version`, run by a real sh
// against stand-in dpkg-query and rpm programs: every answer that is not one clean version (a diversion,
// two owners, an unowned file) must leave `v` empty, so the fact asks the program itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { OWNER_VERSION_COMMAND, unitFilesCommand, upstreamVersion } from '../../../agent/facts/host-files.js';

/** A directory holding only the given programs (sh scripts), used as the whole PATH. */
function fakeBin(programs: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'lanes-hostfiles-'));
  for (const [name, body] of Object.entries(programs)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

function ownerVersion(bin: string, path: string): string {
  const r = spawnSync('/bin/sh', ['-uc', `b='${path}'\n${OWNER_VERSION_COMMAND}\nprintf '%s' "$v"`], { encoding: 'utf8', env: { PATH: bin } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const dpkg = (dashS: string, code = 0) =>
  fakeBin({
    'dpkg-query': `case $1 in -S) printf '${dashS}'; exit ${code} ;; -W) [ "$3" = php8.2-fpm ] && printf '8.2.32-1~deb12u1' ;; esac`,
  });

describe('OWNER_VERSION_COMMAND: the owning package version, or nothing', () => {
  it('dpkg: the version of the one package that owns the file', () => {
    assert.equal(ownerVersion(dpkg('php8.2-fpm: /usr/sbin/php-fpm8.2\\n'), '/usr/sbin/php-fpm8.2'), '8.2.32-1~deb12u1');
  });

  it('dpkg: nothing for an unowned file, a diversion, two owners or another path', () => {
    assert.equal(ownerVersion(dpkg('dpkg-query: no path found matching pattern /usr/sbin/php-fpm8.2\\n', 1), '/usr/sbin/php-fpm8.2'), '');
    assert.equal(ownerVersion(dpkg('diversion by x from: /usr/sbin/php-fpm8.2\\nphp8.2-fpm: /usr/sbin/php-fpm8.2\\n'), '/usr/sbin/php-fpm8.2'), '');
    assert.equal(ownerVersion(dpkg('php8.2-fpm, php8.2-fpm-extra: /usr/sbin/php-fpm8.2\\n'), '/usr/sbin/php-fpm8.2'), '');
    assert.equal(ownerVersion(dpkg('php8.2-fpm: /usr/sbin/php-fpm8.2.bak\\n'), '/usr/sbin/php-fpm8.2'), '');
  });

  it('rpm (no dpkg-query): %{VERSION} of the owner, nothing when unowned or owned twice', () => {
    assert.equal(ownerVersion(fakeBin({ rpm: "printf '8.2.13\\n'" }), '/usr/sbin/php-fpm'), '8.2.13');
    assert.equal(ownerVersion(fakeBin({ rpm: "printf 'file /usr/sbin/php-fpm is not owned by any package\\n'; exit 1" }), '/usr/sbin/php-fpm'), '');
    assert.equal(ownerVersion(fakeBin({ rpm: "printf '8.2.13\\n8.2.13\\n'" }), '/usr/sbin/php-fpm'), '');
  });

  it('neither: nothing', () => {
    assert.equal(ownerVersion(fakeBin({}), '/usr/sbin/php-fpm'), '');
  });
});

describe('unit files from the unit directories', () => {
  it('lists matching names in every unit directory, only where systemctl exists', () => {
    const etc = mkdtempSync(join(tmpdir(), 'lanes-units-'));
    const lib = mkdtempSync(join(tmpdir(), 'lanes-units-'));
    for (const [dir, name] of [[etc, 'php8.3-fpm.service'], [lib, 'php8.2-fpm.service'], [lib, 'php8.3-fpm.service'], [lib, 'nginx.service']] as const) writeFileSync(join(dir, name), '');
    const command = unitFilesCommand('php*fpm*.service', [etc, lib]);
    const run = (bin: string) => spawnSync('/bin/sh', ['-uc', command], { encoding: 'utf8', env: { PATH: bin } }).stdout;
    assert.equal(run(fakeBin({ systemctl: 'exit 0' })), 'unit php8.3-fpm.service\nunit php8.2-fpm.service\nunit php8.3-fpm.service\n');
    assert.equal(run(fakeBin({})), '');
    assert.match(unitFilesCommand('php*fpm*.service'), /\/lib\/systemd\/system\/php\*fpm\*\.service /);
  });

  it('keeps the upstream part of a package version', () => {
    assert.equal(upstreamVersion('2:8.2.28-1+0~20250314.61+debian12~1.gbp4aeb1a'), '8.2.28');
    assert.equal(upstreamVersion('4.2.5-1'), '4.2.5');
    assert.equal(upstreamVersion('4.2.2'), '4.2.2');
  });
});
