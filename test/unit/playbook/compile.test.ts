// Compiling playbooks into per-host resources: variables, interpolation, templates, resource
// schemas with errors at the exact playbook position, collected over all hosts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePlaybook } from '../../../agent/playbook/compile.js';
import { loadPlaybook } from '../../../agent/playbook/load.js';
import { fakeRegistry, fixture } from './fake-registry.js';
import { at, compileText, errorLines, specOf, testInventory } from './helpers.js';

describe('compilePlaybook', () => {
  it('compiles every play for every selected host, resources in play order', async () => {
    const plan = await compilePlaybook(await loadPlaybook(fixture('site.yml')), await testInventory(), {}, fakeRegistry);
    assert.deepEqual(plan.plays, [
      { name: 'app servers', hosts: ['lab1', 'lab2'] },
      { name: 'db', hosts: ['db1'] },
    ]);
    assert.deepEqual([...plan.hosts.keys()], ['lab1', 'lab2', 'db1']);
    assert.deepEqual(
      plan.hosts.get('lab1')?.map((r) => `${r.type}[${r.id}]`),
      [
        'package[php8.2-redis]',
        'package[curl]',
        'directory[/var/www/shop/shared]',
        'template[/etc/nginx/sites-enabled/shop.conf]',
        'fpm_pool[shop_web]',
        'fpm_pool[www]',
        'service[nginx]',
      ],
    );
    assert.deepEqual(
      plan.hosts.get('db1')?.map((r) => `${r.type}[${r.id}]`),
      ['package[mariadb-server]'],
    );
    // A string item fills the shorthand field; `mode: 0755` (octal to YAML 1.1) keeps its digits.
    assert.deepEqual(specOf(plan, 'lab1', 'package', 'php8.2-redis'), { name: 'php8.2-redis' });
    assert.deepEqual(specOf(plan, 'lab1', 'directory', '/var/www/shop/shared'), { path: '/var/www/shop/shared', owner: 'www-data', mode: '0755' });
    // The pool's name is its (templated) key; fpm.version (8.2, a YAML number) is copied as a string.
    assert.deepEqual(specOf(plan, 'lab1', 'fpm_pool', 'shop_web'), {
      name: 'shop_web',
      state: 'present',
      php_version: '8.2',
      user: 'www-data',
      pm: { mode: 'dynamic', max_children: 8, start_servers: 2, min_spare_servers: 1, max_spare_servers: 3 },
    });
    assert.equal(specOf(plan, 'lab2', 'fpm_pool', 'shop_web').pm && (specOf(plan, 'lab2', 'fpm_pool', 'shop_web').pm as { max_children: number }).max_children, 4);
    assert.deepEqual(specOf(plan, 'lab1', 'fpm_pool', 'www'), { name: 'www', state: 'absent', php_version: '8.2' });
    // Each resource points at its item in the playbook.
    const source = (type: string, id: string) => plan.hosts.get('lab1')?.find((r) => r.type === type && r.id === id)?.source;
    assert.deepEqual(source('package', 'curl'), { file: fixture('site.yml'), line: 7, column: 28 });
    assert.deepEqual(source('fpm_pool', 'shop_web'), { file: fixture('site.yml'), line: 17, column: 7 });
    assert.deepEqual(source('fpm_pool', 'www'), { file: fixture('site.yml'), line: 20, column: 20 });
  });

  it('renders templates per host: loops, filters, includes, tests', async () => {
    const plan = await compilePlaybook(await loadPlaybook(fixture('site.yml')), await testInventory(), {}, fakeRegistry);
    const spec = specOf(plan, 'lab1', 'template', '/etc/nginx/sites-enabled/shop.conf');
    assert.equal(spec.src, 'site.conf.j2');
    assert.equal(spec.reload, 'nginx');
    assert.equal(
      spec.content,
      [
        '# lab1 (app)',
        'server {',
        '    root /var/www/shop/current/public;',
        '    # upstream web1 on 9001',
        '    # upstream web2 on 9002',
        '    fastcgi_pass unix:/run/php/SHOP-8.sock;',
        '    listen 80;',
        '}',
        '',
      ].join('\n'),
    );
    assert.match(String(specOf(plan, 'lab2', 'template', '/etc/nginx/sites-enabled/shop.conf').content), /^# lab2 \(app\)\n[\s\S]*SHOP-4\.sock/);
  });

  it('applies Ansible variable precedence: inventory < play vars < vars_files < extra vars', async () => {
    const pb = await loadPlaybook(fixture('precedence.yml'));
    const inv = await testInventory();
    const plan = await compilePlaybook(pb, inv, {}, fakeRegistry);
    // level: vars_files beat play vars; inv_vs_play: play vars beat inventory; from_file: the later file wins;
    // fpm_children: host var (8) beats the group var (4).
    assert.equal(specOf(plan, 'lab1', 'file', '/etc/levels').content, 'vars_files/play/override/8');
    assert.equal(specOf(plan, 'lab2', 'file', '/etc/levels').content, 'vars_files/play/override/4');
    const extra = await compilePlaybook(pb, inv, { extraVars: { level: 'extra', fpm_children: 2 } }, fakeRegistry);
    assert.equal(specOf(extra, 'lab1', 'file', '/etc/levels').content, 'extra/play/override/2');
  });

  it('keeps the type of a value that is exactly "{{ x }}"', async () => {
    const plan = await compileText(
      [
        '- hosts: app',
        '  vars:',
        '    extra_groups: [app, "{{ app_user | regex_replace(\'-\', \'_\') }}"]',
        '    is_system: "{{ inventory_hostname == \'lab1\' }}"',
        '  users:',
        '    - { name: queue, groups: "{{ extra_groups }}", system: "{{ is_system }}" }',
        '  supervisor:',
        '    programs:',
        '      queue: { command: "php artisan queue:work --tries={{ fpm_children }}", numprocs: "{{ fpm_children }}" }',
      ].join('\n'),
    );
    assert.deepEqual(specOf(plan, 'lab1', 'user', 'queue'), { name: 'queue', groups: ['app', 'www_data'], system: true });
    assert.deepEqual(specOf(plan, 'lab2', 'user', 'queue'), { name: 'queue', groups: ['app', 'www_data'], system: false });
    assert.deepEqual(specOf(plan, 'lab1', 'supervisor_program', 'queue'), { name: 'queue', command: 'php artisan queue:work --tries=8', numprocs: 8 });
  });

  it('templates map keys, and provides the magic variables', async () => {
    const plan = await compileText(
      [
        '- hosts: app:db',
        '  vars:',
        '    site: "{{ app_name }}"',
        '  fpm:',
        '    pools:',
        '      "{{ site }}_{{ inventory_hostname_short }}":',
        '        user: "{{ app_user | default(\'nobody\') }}"',
        '  files:',
        '    - path: /etc/lanes-facts',
        '      content: "{{ group_names | join(\',\') }} {{ groups.app | join(\',\') }} {{ ansible_play_hosts | length }}"',
      ].join('\n'),
    );
    assert.deepEqual(specOf(plan, 'lab1', 'fpm_pool', 'shop_lab1'), { name: 'shop_lab1', state: 'present', user: 'www-data' });
    assert.deepEqual(specOf(plan, 'db1', 'fpm_pool', 'shop_db1'), { name: 'shop_db1', state: 'present', user: 'nobody' });
    assert.equal(specOf(plan, 'lab2', 'file', '/etc/lanes-facts').content, 'app lab1,lab2 3');
    assert.equal(specOf(plan, 'db1', 'file', '/etc/lanes-facts').content, 'db lab1,lab2 3');
  });

  it('leaves out fields set to omit, and takes sections from variables', async () => {
    const plan = await compileText(
      [
        '- hosts: lab1',
        '  vars:',
        '    pools:',
        '      api: { user: "{{ app_user }}" }',
        '      admin: {}',
        '  directories:',
        '    - { path: /srv/a, owner: "{{ owner | default(omit) }}", mode: "0750" }',
        '  fpm:',
        '    pools: "{{ pools }}"',
      ].join('\n'),
    );
    assert.deepEqual(specOf(plan, 'lab1', 'directory', '/srv/a'), { path: '/srv/a', mode: '0750' });
    assert.deepEqual(specOf(plan, 'lab1', 'fpm_pool', 'api'), { name: 'api', state: 'present', user: 'www-data' });
    assert.deepEqual(specOf(plan, 'lab1', 'fpm_pool', 'admin'), { name: 'admin', state: 'present' });
  });

  it('narrows plays with --limit, and templates hosts with extra vars', async () => {
    const text = '- hosts: app\n  packages: [curl]\n- hosts: "{{ target | default(\'db\') }}"\n  packages: [git]\n';
    const limited = await compileText(text, { limit: 'lab1' });
    assert.deepEqual(limited.plays, [
      { name: 'app', hosts: ['lab1'] },
      { name: '{{ target | default(\'db\') }}', hosts: [] },
    ]);
    assert.deepEqual([...limited.hosts.keys()], ['lab1']);
    const targeted = await compileText(text, { extraVars: { target: 'lab2' } });
    assert.deepEqual(
      targeted.hosts.get('lab2')?.map((r) => r.id),
      ['curl', 'git'],
    );
    assert.equal(targeted.hosts.has('db1'), false);
  });
});

describe('compilePlaybook errors', () => {
  it('reports an undefined variable at the string, naming the variable and the host', async () => {
    const lines = await errorLines(() =>
      compileText(['- hosts: app', '  files:', '    - path: /etc/addr', '      content: "addr={{ ansible_host }}"'].join('\n')),
    );
    // ansible_host is only set for lab2.
    assert.deepEqual(lines, [at(4, 16, 'files[0].content: undefined variable "ansible_host" (host lab1)')]);
  });

  it('names the variable through which an undefined one was reached', async () => {
    const lines = await errorLines(() =>
      compileText(['- hosts: lab1', '  vars:', '    root: "/srv/{{ project }}"', '  directories:', '    - path: "{{ root }}/shared"'].join('\n')),
    );
    assert.deepEqual(lines, [at(5, 13, 'directories[0].path: undefined variable "project" (in variable "root") (host lab1)')]);
  });

  it('treats any use of an undefined variable as an error, not only printing it', async () => {
    const lines = await errorLines(() =>
      compileText(
        [
          '- hosts: lab1',
          '  files:',
          '    - { path: /etc/a, content: "{% if feature %}on{% endif %}" }',
          '    - { path: /etc/b, content: "{{ \'x\' ~ suffix }}" }',
          '    - { path: /etc/c, content: "{{ name | upper }}" }',
          '    - { path: /etc/d, content: "{{ feature | default(\'off\') }}{% if feature is defined %}!{% endif %}" }',
        ].join('\n'),
      ),
    );
    assert.deepEqual(lines, [
      at(3, 32, 'files[0].content: undefined variable "feature" (host lab1)'),
      at(4, 32, 'files[1].content: undefined variable "suffix" (host lab1)'),
      at(5, 32, 'files[2].content: undefined variable "name" (host lab1)'),
    ]);
  });

  it('maps a resource schema problem to the exact key, nested ones included', async () => {
    const text = [
      '- hosts: app',
      '  fpm:',
      '    pools:',
      '      web_session:',
      '        user: www-data',
      '        pm:',
      '          mode: dynamic',
      '          max_children: 8',
      '          start_servers: 16',
      '          min_spare_servers: 2',
      '          max_spare_servers: 8',
      '        listen: { path: run/web.sock, mode: true }',
    ].join('\n');
    const lines = await errorLines(() => compileText(text));
    assert.deepEqual(lines, [
      at(9, 11, 'fpm.pools.web_session.pm.start_servers: start_servers (16) must be between min_spare_servers (2) and max_spare_servers (8) (hosts lab1, lab2)'),
      at(12, 19, 'fpm.pools.web_session.listen.path: must be an absolute path (hosts lab1, lab2)'),
      at(12, 39, 'fpm.pools.web_session.listen.mode: must be a string or a number, got the boolean true (hosts lab1, lab2)'),
    ]);
  });

  it('reports unknown keys with the allowed ones, and missing keys at their mapping', async () => {
    const text = [
      '- hosts: lab1',
      '  fpm:',
      '    pools:',
      '      web:',
      '        pm: { max_children: 4, max_spare: 2 }',
      '  templates:',
      '    - { src: partials/upstream.j2, dest: /etc/x.conf, ownr: root }',
      '  supervisor:',
      '    programs:',
      '      queue: { numprocs: 2 }',
    ].join('\n');
    const lines = await errorLines(() => compileText(text));
    assert.deepEqual(lines, [
      at(5, 9, 'fpm.pools.web.pm: missing required key "mode" (host lab1)'),
      at(5, 32, 'fpm.pools.web.pm: unknown key "max_spare" (host lab1) (allowed: mode, max_children, start_servers, min_spare_servers, max_spare_servers)'),
      at(7, 55, 'templates[0]: unknown key "ownr" (host lab1) (allowed: dest, owner, group, mode, validate, reload, src; did you mean "owner"?)'),
      at(10, 7, 'supervisor.programs.queue: missing required key "command" (host lab1)'),
    ]);
  });

  it('collects errors of all plays and hosts, merging identical ones', async () => {
    const text = [
      '- hosts: app',
      '  fpm:',
      '    pools:',
      '      web:',
      '        pm: { mode: dynamic, max_children: "{{ fpm_children }}", start_servers: 6 }',
      '  services:',
      '    nginx: { state: start }',
      '- hosts: all',
      '  packages: ["Bad Name"]',
    ].join('\n');
    const lines = await errorLines(() => compileText(text));
    assert.deepEqual(lines, [
      // lab1 has 8 children, lab2 only 4: the same line fails on lab2 alone.
      at(5, 66, 'fpm.pools.web.pm.start_servers: start_servers (6) must be between min_spare_servers (1) and max_spare_servers (4) (host lab2)'),
      at(7, 14, 'services.nginx.state: must be one of "started", "stopped", "restarted", got the string "start" (hosts lab1, lab2)'),
      at(9, 14, 'packages[0]: must be a package name (hosts lab1, lab2, db1)'),
    ]);
  });

  it('refuses the same resource declared twice for a host, naming both places', async () => {
    const text = [
      '- hosts: app',
      '  files:',
      '    - { path: /etc/motd, content: one }',
      '  fpm:',
      '    pools: { www: {} }',
      '    remove_pools: [www]',
      '- hosts: lab1',
      '  files:',
      '    - { path: "/etc/{{ \'motd\' }}", content: two }',
    ].join('\n');
    const lines = await errorLines(() => compileText(text));
    assert.deepEqual(lines, [
      at(6, 20, `fpm_pool "www" is declared twice, differently: first at ${at(5, 14, '').slice(0, -2)} (hosts lab1, lab2) (declare it once (merge the two), or make both declarations identical)`),
      at(9, 7, `file "/etc/motd" is declared twice, differently: first at ${at(3, 7, '').slice(0, -2)} (host lab1) (declare it once (merge the two), or make both declarations identical)`),
    ]);
  });

  it('reports template errors at the template file and line', async () => {
    const text = [
      '- hosts: app',
      '  templates:',
      '    - { src: broken.j2, dest: /etc/a }',
      '    - { src: syntax.j2, dest: /etc/b }',
      '    - { src: nowhere.j2, dest: /etc/c }',
      '    - { src: site.conf.j2, dest: /etc/d, content: inline }',
      '    - { src: filtered.j2, dest: /etc/e }',
    ].join('\n');
    const lines = await errorLines(() => compileText(text));
    const dir = fixture('');
    assert.deepEqual(lines, [
      at(5, 9, `templates[2].src: template not found: nowhere.j2 (hosts lab1, lab2) (looked in ${dir}templates and ${dir.replace(/\/$/, '')})`),
      at(6, 42, 'templates[3].content: not allowed in templates (hosts lab1, lab2) (the content is rendered from "src"; use files: for inline content)'),
      `${fixture('templates/broken.j2')}:3:12: undefined variable "not_defined_anywhere" (hosts lab1, lab2)`,
      `${fixture('templates/syntax.j2')}:2:7: template error: unexpected token: %} (hosts lab1, lab2)`,
      // Used in a filter: nunjucks has no position, so the line of its first use is given.
      `${fixture('templates/filtered.j2')}:3:24: undefined variable "service_name" (hosts lab1, lab2)`,
    ]);
  });

  it('reports a host pattern that matches nothing, and missing vars files', async () => {
    const text = ['- hosts: webz', '  packages: [curl]', '- hosts: lab1', '  vars_files: [vars/missing.yml]', '  packages: [curl]'].join('\n');
    const lines = await errorLines(() => compileText(text));
    assert.equal(lines.length, 2);
    assert.match(lines[0] as string, new RegExp(`^${escape(at(1, 10, 'hosts: '))}`));
    assert.equal(lines[1], at(4, 16, `vars file not found: vars/missing.yml (host lab1) (relative paths are read from ${fixture('').replace(/\/$/, '')})`));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('Python values at the resource schemas', () => {
  it('gives a text field "8.0", a number field 4, and plain JSON to everything after', async () => {
    const plan = await compileText(
      [
        '- hosts: app',
        '  vars:',
        '    php_version: 8.0',
        '    procs: 4.0',
        '    big: 12345678901234567890',
        '  supervisor:',
        '    programs:',
        '      queue: { command: "/usr/bin/php{{ php_version }} artisan --id={{ big }}", numprocs: "{{ procs }}" }',
        '  packages: ["php{{ php_version }}-fpm", "{{ php_version }}"]',
      ].join('\n'),
    );
    const spec = specOf(plan, 'lab1', 'supervisor_program', 'queue');
    assert.equal(spec.command, '/usr/bin/php8.0 artisan --id=12345678901234567890');
    assert.equal(spec.numprocs, 4);
    assert.deepEqual(specOf(plan, 'lab1', 'package', 'php8.0-fpm'), { name: 'php8.0-fpm' });
    assert.deepEqual(specOf(plan, 'lab1', 'package', '8.0'), { name: '8.0' });
    // Plans and reports are JSON: nothing in a compiled plan may be a bigint or a Python value.
    assert.doesNotThrow(() => JSON.stringify([...plan.hosts.values()]));
  });
});
