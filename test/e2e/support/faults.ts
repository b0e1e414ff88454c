/**
 * What the release-fault e2e files share: one lab host with site.yml applied and a first release (v1)
 * live, through the real CLI; app variants, site.yml variants (with a short health gate, since most
 * releases there are meant to fail it), and checks of the host (current, worker processes, what
 * Nginx serves, the FAILED line as a sentence).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readArtifact } from '../../../agent/rollout/artifact.js';
import { runCli } from '../../support/cli.js';
import { repoRoot } from '../../support/paths.js';
import { ensureLab, type EnsuredLab } from './lab.js';
import { onHost } from './remote.js';
import { copySampleApp } from './sample-app.js';

export const APP = '/var/www/app';
export const site = path.join(repoRoot, 'playbooks', 'site.yml');

/**
 * A copy of site.yml (with its templates, without the sample app) in `dir`, with text replaced and a
 * 5 s health gate: for releases meant to fail it, which then fail in 5 s instead of 30.
 */
export function sitePlaybook(dir: string, replace: [string, string][] = []): string {
  cpSync(path.join(repoRoot, 'playbooks'), dir, { recursive: true, filter: (src) => !src.includes('sample-app') });
  let text = readFileSync(site, 'utf8');
  for (const [a, b] of [...replace, ['timeout: 30s', 'timeout: 5s'] as [string, string]]) {
    assert.ok(text.includes(a), `site.yml has ${a}`);
    text = text.replace(a, b);
  }
  const file = path.join(dir, 'site.yml');
  writeFileSync(file, text);
  return file;
}

export class FaultHost {
  readonly tmp = mkdtempSync(path.join(os.tmpdir(), 'lanes-e2e-faults-'));
  private readonly run = `${process.pid}-${Date.now()}`;
  lab!: EnsuredLab;
  host = '';
  address = '';
  /** site.yml with a 5 s health gate. */
  fast = '';
  /** The release live after setup. */
  v1 = '';

  /** Lab host `index`: site.yml applied, v1 released. */
  async setup(index: number): Promise<void> {
    this.lab = await ensureLab(3);
    this.host = this.lab.hosts[index]!.name;
    this.address = this.lab.hosts[index]!.address;
    this.fast = this.playbook('fast');
    const r = await runCli(['apply', site, '-i', this.lab.inventoryFile, '--limit', this.host, '--yes']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const first = await this.cli(['release', this.fast, '--artifact', this.variant('v1')]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    this.v1 = await this.idOf(path.join(this.tmp, 'v1'));
    assert.equal(await this.current(), `releases/${this.v1}`);
  }

  /** Back to workers running, whatever a test left; local files removed. */
  async teardown(extra: string[] = []): Promise<void> {
    if (this.lab) await this.sh([...extra, "supervisorctl start 'app-queue:*' >/dev/null 2>&1; systemctl start app-scheduler"].join('\n'));
    rmSync(this.tmp, { recursive: true, force: true });
  }

  /** A copy of the sample app, distinct per name and run; `drop` removes files, `extra` adds some. */
  variant(name: string, extra: Record<string, string> = {}, drop: string[] = []): string {
    const dir = copySampleApp(path.join(this.tmp, name), { version: `${name} ${this.run}`, extra });
    for (const f of drop) rmSync(path.join(dir, f));
    return dir;
  }

  /** site.yml (with its templates) with text replaced and a 5 s health gate. */
  playbook(name: string, replace: [string, string][] = []): string {
    return sitePlaybook(path.join(this.tmp, `pb-${name}`), replace);
  }

  sh(script: string): Promise<string> {
    return onHost(this.lab, this.host, script, { allowFail: true });
  }

  cli(args: string[]) {
    return runCli([...args, '-i', this.lab.inventoryFile, '--limit', this.host]);
  }

  async idOf(dir: string): Promise<string> {
    return (await readArtifact(dir)).id;
  }

  async current(root = APP): Promise<string> {
    return (await this.sh(`readlink ${root}/current || echo none`)).trim();
  }

  async locked(): Promise<boolean> {
    return (await this.sh(`test -e ${APP}/.lanes-release.lock && echo locked || echo free`)).trim() === 'locked';
  }

  /** Worker processes ("pid cwd") of the sample app. */
  async workers(): Promise<string[]> {
    const out = await this.sh(`for p in $(pgrep -f '^/usr/bin/php .*/(worker|scheduler)\\.php'); do echo "$p $(readlink /proc/$p/cwd)"; done | sort`);
    return out.split('\n').filter(Boolean);
  }

  /** The three sample workers run, all in this release. */
  async assertWorkersOn(id: string): Promise<void> {
    const w = await this.workers();
    assert.equal(w.length, 3, w.join('\n'));
    assert.ok(w.every((l) => l.endsWith(` ${APP}/releases/${id}`)), w.join('\n'));
  }

  async served(): Promise<string> {
    const res = await fetch(`http://${this.address}/`);
    return ((await res.json()) as { release: string }).release;
  }

  /**
   * A run that failed its health gate on `failed` and was rolled back to `to`: exit 1, the sentence
   * says what the rollback did, and the host is back — `to` live and served, the workers on it.
   */
  async assertGateRolledBack(r: { code: number | null; stdout: string; stderr: string }, to: string): Promise<void> {
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      this.failure(r.stdout + r.stderr),
      new RegExp(`health gate: .*500.* — rolled back to ${to}, php-fpm reloaded, app-queue, app-scheduler\\.service running again, health gate passed`),
    );
    assert.equal(await this.current(), `releases/${to}`);
    assert.equal(await this.served(), to);
    await this.assertWorkersOn(to);
  }

  /** The FAILED line for this host: a sentence, no frame, no base64. */
  failure(out: string): string {
    const line = out.split('\n').find((l) => l.includes(this.host) && l.includes('FAILED:')) ?? '';
    assert.ok(line, `a FAILED line for ${this.host} in:\n${out}`);
    assert.doesNotMatch(line, /@@|[A-Za-z0-9+/]{32,}={0,2}/, 'no protocol text or base64');
    return line;
  }
}
