// The supervisor probe's shell and Python, run for real by sh and python3 against a fake supervisord
// (an XML-RPC server on a unix socket) and a fake supervisorctl: the direct question answers as
// `supervisorctl status` would print, and every unusual case falls back to supervisorctl itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseSupervisorStatus, SUPERVISOR_STATUS_COMMAND } from '../../../agent/facts/probe-supervisor.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const member = (name: string, value: string) => `<member>\n<name>${name}</name>\n<value>${value}</value>\n</member>\n`;
function info(p: { name: string; group: string; statename: string; description: string }): string {
  return `<value><struct>\n${member('name', `<string>${p.name}</string>`)}${member('group', `<string>${p.group}</string>`)}${member('pid', '<int>557</int>')}${member('statename', `<string>${p.statename}</string>`)}${member('spawnerr', '<string></string>')}${member('description', `<string>${p.description}</string>`)}</struct></value>\n`;
}
const PROCESSES =
  "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value><array><data>\n" +
  info({ name: 'app-queue_00', group: 'app-queue', statename: 'RUNNING', description: 'pid 557, uptime 0:18:37' }) +
  info({ name: 'app-queue_01', group: 'app-queue', statename: 'STARTING', description: '' }) +
  info({ name: 'mailer', group: 'mailer', statename: 'STOPPED', description: 'Not started &amp; &lt;idle&gt;' }) +
  '</data></array></value>\n</param>\n</params>\n</methodResponse>\n';
const FAULT = "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n" + member('faultCode', '<int>6</int>') + member('faultString', '<string>SHUTDOWN_STATE</string>') + '</struct></value>\n</fault>\n</methodResponse>\n';

/** A directory with bin/supervisorctl (a fake that marks that it ran) and etc/supervisord.conf beside it. */
function setup(opts: { conf?: (sock: string) => string; shebang?: string } = {}) {
  const T = mkdtempSync(path.join(os.tmpdir(), 'lanes-sv-'));
  dirs.push(T);
  mkdirSync(path.join(T, 'bin'));
  mkdirSync(path.join(T, 'etc'));
  const sock = path.join(T, 'supervisor.sock');
  const ctl = path.join(T, 'bin', 'supervisorctl');
  writeFileSync(
    ctl,
    `${opts.shebang ?? '#!/usr/bin/python3'}\n` +
      (opts.shebang && !opts.shebang.includes('python')
        ? `touch ${T}/ran; echo "fallback RUNNING   pid 1, uptime 0:00:01"; exit 3\n`
        : `import sys\nopen("${T}/ran", "w").close()\nprint("fallback                         RUNNING   pid 1, uptime 0:00:01")\nsys.exit(3)\n`),
    { mode: 0o755 },
  );
  const conf = opts.conf ?? ((s: string) => `[unix_http_server]\nfile=${s}   ; (the path to the socket file)\n\n[supervisorctl]\nserverurl=unix://${s} ; use a unix:// URL  for a unix socket\n`);
  writeFileSync(path.join(T, 'etc', 'supervisord.conf'), conf(sock));
  return { T, sock, ranSupervisorctl: () => existsSync(path.join(T, 'ran')) };
}

/** A fake supervisord: answers every HTTP request on the socket with `body`, recording the requests. */
async function serve(sock: string, body: string): Promise<{ requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = net.createServer((c) => {
    let req = '';
    c.on('data', (d) => {
      req += d.toString();
      const [head, content] = req.split('\r\n\r\n');
      const length = Number(/Content-Length: (\d+)/i.exec(head ?? '')?.[1] ?? 0);
      if (content !== undefined && Buffer.byteLength(content) >= length) {
        requests.push(req);
        c.end(`HTTP/1.0 200 OK\r\nServer: Medusa/1.12\r\nContent-Type: text/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  return { requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function probe(T: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', SUPERVISOR_STATUS_COMMAND], { cwd: T, env: { PATH: `${T}/bin:/usr/bin:/bin` } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('close', (code) => resolve({ code, stdout }));
  });
}

describe('supervisor probe', () => {
  it('asks supervisord over its socket and prints what supervisorctl status would, without running supervisorctl', async () => {
    const s = setup();
    const server = await serve(s.sock, PROCESSES);
    try {
      const r = await probe(s.T);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, 'app-queue:app-queue_00 RUNNING pid 557, uptime 0:18:37\napp-queue:app-queue_01 STARTING \nmailer STOPPED Not started & <idle>\nrc 0\n');
      assert.equal(s.ranSupervisorctl(), false);
      assert.equal(server.requests.length, 1);
      assert.match(server.requests[0]!, /^POST \/RPC2 HTTP\/1\.0\r\n/);
      assert.match(server.requests[0]!, /<methodName>supervisor\.getAllProcessInfo<\/methodName>/);
      assert.deepEqual([...parseSupervisorStatus(r.stdout)!.values()], [
        { name: 'app-queue:app-queue_00', state: 'RUNNING' },
        { name: 'app-queue:app-queue_01', state: 'STARTING' },
        { name: 'mailer', state: 'STOPPED' },
      ]);
    } finally {
      await server.close();
    }
  });

  const fallbacks: [string, Parameters<typeof setup>[0], string | undefined][] = [
    ['supervisord answers with a fault', undefined, FAULT],
    ['nothing listens on the socket', undefined, undefined],
    ['serverurl is not a unix socket', { conf: () => '[supervisorctl]\nserverurl=http://localhost:9001\n' }, PROCESSES],
    ['supervisorctl is given a username', { conf: (sock) => `[supervisorctl]\nserverurl=unix://${sock}\nusername=admin\npassword=secret\n` }, PROCESSES],
    ['serverurl uses an expansion', { conf: (sock) => `[supervisorctl]\nserverurl=unix://%(here)s/${path.basename(sock)}\n` }, PROCESSES],
    ['there is no config file', { conf: () => '' }, PROCESSES],
    ['supervisorctl does not run under Python', { shebang: '#!/bin/sh' }, PROCESSES],
  ];
  for (const [what, opts, answer] of fallbacks) {
    it(`runs supervisorctl status when ${what}`, async () => {
      const s = setup(opts);
      if (what === 'there is no config file') rmSync(path.join(s.T, 'etc', 'supervisord.conf'));
      const server = answer === undefined ? undefined : await serve(s.sock, answer);
      try {
        const r = await probe(s.T);
        assert.equal(r.code, 0);
        assert.match(r.stdout, /^fallback +RUNNING +pid 1, uptime 0:00:01\nrc 3\n$/);
        assert.equal(s.ranSupervisorctl(), true);
        assert.deepEqual([...parseSupervisorStatus(r.stdout)!.keys()], ['fallback']);
        if (server && what !== 'supervisord answers with a fault') assert.equal(server.requests.length, 0, 'supervisord was not asked');
      } finally {
        await server?.close();
      }
    });
  }

  it('says nothing when supervisorctl is not installed', async () => {
    const T = mkdtempSync(path.join(os.tmpdir(), 'lanes-sv-'));
    dirs.push(T);
    const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn('/bin/sh', ['-c', SUPERVISOR_STATUS_COMMAND], { cwd: T, env: { PATH: T } });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.on('close', (code) => resolve({ code, stdout }));
    });
    assert.deepEqual(r, { code: 0, stdout: '' });
    assert.equal(parseSupervisorStatus(r.stdout), undefined);
  });
});
