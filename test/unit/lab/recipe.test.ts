import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nspawnArgs } from '../../../agent/lab/boot.js';
import { etcHosts, nginxSite } from '../../../agent/lab/host.js';
import { CUSTOMISE_SCRIPT, imageDir, PACKAGES, recipeHash } from '../../../agent/lab/image.js';
import { statusTable } from '../../../cli/lab.js';

describe('lab recipe and host files', () => {
  it('names the image after a stable short hash of the recipe', () => {
    assert.match(recipeHash(), /^[0-9a-f]{12}$/);
    assert.equal(recipeHash(), recipeHash());
    assert.equal(imageDir('/c/lab/images'), `/c/lab/images/bookworm-${recipeHash()}`);
  });

  it('installs what the project needs and customises the image as specified', () => {
    for (const p of ['systemd', 'openssh-server', 'php8.2-fpm', 'php8.2-cli', 'supervisor', 'nginx-light', 'sudo', 'python3-minimal', 'libfcgi-bin', 'curl']) {
      assert.ok((PACKAGES as readonly string[]).includes(p), p);
    }
    for (const line of [
      'rm -f /etc/nginx/sites-enabled/default',
      'visudo -cf /etc/sudoers.d/lanes',
      'chmod 0440 /etc/sudoers.d/lanes',
      'PasswordAuthentication no',
      'PermitRootLogin no',
      'UseDNS no',
      'rm -f /etc/ssh/ssh_host_*',
      ': > /etc/machine-id',
      'systemctl enable ssh.service php8.2-fpm.service supervisor.service nginx.service',
    ]) {
      assert.ok(CUSTOMISE_SCRIPT.includes(line), line);
    }
  });

  it('boots with the flags LAB-NOTES found necessary', () => {
    assert.deepEqual(nspawnArgs('/m', 'lanes-lab1'), ['-D', '/m', '-b', '--register=no', '--keep-unit', '--machine=lanes-lab1', '--console=read-only']);
  });

  it('gives each host an Nginx default server on its own address only', () => {
    const site = nginxSite('lab2', '127.0.1.2');
    assert.match(site, /listen 127\.0\.1\.2:80 default_server;/);
    assert.doesNotMatch(site, /listen 80|0\.0\.0\.0|\[::\]/);
    assert.match(site, /return 200 "lab2\\n";/);
    assert.match(etcHosts('lab2', '127.0.1.2'), /^127\.0\.1\.2\tlab2$/m);
  });

  it('prints the status table', () => {
    assert.equal(
      statusTable([
        { name: 'lab1', address: '127.0.1.1', pid: 10, state: 'running', systemState: 'running' },
        { name: 'lab10', address: '127.0.1.10', state: 'stopped' },
      ]),
      'HOST   ADDRESS     STATE    SYSTEMD\nlab1   127.0.1.1   running  running\nlab10  127.0.1.10  stopped  -\n',
    );
  });
});
