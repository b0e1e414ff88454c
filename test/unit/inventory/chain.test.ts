// Ansible's parse chain (script, auto, yaml, ini), inventory scripts, plugin configs and Ansible's
// warnings. Expected results were checked against ansible-inventory 2.14.18 on the same files.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadInventory, parseInventoryText, type Inventory } from '../../../agent/inventory/index.js';
import { InventoryData } from '../../../agent/inventory/data.js';
import { pyJsonLoads } from '../../../agent/values/json-loads.js';
import { pluginFailure, readPluginInventory } from '../../../agent/inventory/plugin-source.js';
import { runCapped } from '../../../agent/inventory/run-capped.js';
import { PyFloat } from '../../../agent/values/python.js';
import { expectLanesError } from './helpers.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lanes-chain-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string, mode = 0o644): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  await chmod(p, mode);
  return p;
}

const hostsOf = (inv: Inventory, group: string): string[] | undefined => inv.groups.get(group)?.hosts;

describe('parse chain', () => {
  it('reads INI text in hosts.yml as INI, as Ansible falls through yaml to ini', async () => {
    const inv = await loadInventory([await file('hosts.yml', '[web]\nw1 a=1\n')]);
    assert.deepEqual(hostsOf(inv, 'web'), ['w1']);
    assert.equal(inv.hosts.get('w1')?.vars.a, 1);
    assert.deepEqual(inv.warnings, []);
  });

  it('reads YAML in a file without extension, and a .json inventory', async () => {
    const yaml = await loadInventory([await file('inventory', 'all:\n  hosts:\n    h1:\n')]);
    assert.deepEqual(hostsOf(yaml, 'ungrouped'), ['h1']);
    // Ansible's loader reads JSON as JSON first: 1e3 is the float 1000.0 there (a string in YAML 1.1).
    const json = await loadInventory([await file('inv.json', '{"all": {"hosts": {"j1": {"x": 1, "e": 1e3, "f": 8.0, "s": "1e3"}}}}')]);
    assert.deepEqual(hostsOf(json, 'ungrouped'), ['j1']);
    const j1 = json.hosts.get('j1')?.vars ?? {};
    assert.equal(j1.x, 1);
    assert.ok(j1.e instanceof PyFloat);
    assert.equal(String(j1.e), '1000.0');
    assert.equal(String(j1.f), '8.0');
    assert.equal(j1.s, '1e3');
  });

  it('accepts empty and comment-only inventories as empty, without a warning', async () => {
    const cases: [string, string][] = [['empty', ''], ['comments', '# nothing yet\n\n; really\n'], ['empty.yml', '']];
    for (const [name, text] of cases) {
      const inv = await loadInventory([await file(name, text)]);
      assert.deepEqual([...inv.hosts.keys()], [], name);
      assert.deepEqual([...inv.groups.keys()], ['all', 'ungrouped'], name);
      assert.deepEqual(inv.warnings, [], name);
    }
  });

  it('treats an empty YAML document as Ansible does: `{}` is an INI host named {}, a lone --- is refused', async () => {
    const braces = await loadInventory([await file('braces.yml', '{}\n')]);
    assert.deepEqual(hostsOf(braces, 'ungrouped'), ['{}']);
    const dashes = await file('dashes.yml', '---\n');
    await expectLanesError(() => loadInventory([dashes]), {
      message: /^the YAML document is empty$/,
      file: dashes,
      hint: /\(tried auto, yaml, ini\); ini: .*dashes\.yml:1:1: "---" is not a host name/,
    });
  });

  it('refuses a file no parser can read with the error of the format it is written in, naming the parsers tried', async () => {
    const typo = await file('typo', '[web]\nw1 ansible_user deploy\n');
    await expectLanesError(() => loadInventory([typo]), {
      message: /^expected key=value after the host name, got "ansible_user"$/,
      file: typo,
      line: 2,
      column: 4,
      hint: /\(tried yaml, ini\); yaml: .*typo:2:1: invalid YAML/,
    });
    const yamlish = await file('yamlish', 'web:\n  hosts:\n    - w1\n');
    await expectLanesError(() => loadInventory([yamlish]), {
      message: /"hosts" of group "web" must be a mapping, got a list/,
      line: 3,
      column: 5,
      hint: /\(tried yaml, ini\); ini: /,
    });
  });

  it('reads an executable file without #! as INI once running it fails, as Ansible does', async () => {
    const inv = await loadInventory([await file('xini', '[web]\nw1\n', 0o755)]);
    assert.deepEqual(hostsOf(inv, 'web'), ['w1']);
  });

  it('takes -i a,b:2222, as a host list', async () => {
    const inv = await loadInventory(['a, b:2222,']);
    assert.deepEqual(hostsOf(inv, 'ungrouped'), ['a', 'b']);
    assert.equal(inv.hosts.get('b')?.vars.ansible_port, 2222);
  });

  it('warns as Ansible about a subdirectory of a directory source that holds no inventory', async () => {
    const top = join(dir, 'invdir');
    await mkdir(join(top, 'sub'), { recursive: true });
    await writeFile(join(top, 'hosts'), '[web]\nw1\n');
    await writeFile(join(top, 'sub', 'notes.txt'), 'x\n');
    const inv = await loadInventory([top]);
    assert.deepEqual(hostsOf(inv, 'web'), ['w1']);
    assert.deepEqual(inv.warnings, [`Unable to parse ${join(top, 'sub')} as an inventory source`]);
  });

  it('restores the inventory a parser left half-filled (InventoryData.snapshot)', () => {
    const data = new InventoryData();
    data.addHost('keep', 'ungrouped', undefined);
    const restore = data.snapshot();
    data.addGroup('web');
    data.addHost('w1', 'web', 22);
    data.setHostVar('keep', 'x', 1);
    data.warn('from the failed parser');
    restore();
    assert.deepEqual([...data.groups.keys()], ['all', 'ungrouped']);
    assert.deepEqual([...data.hosts.keys()], ['keep']);
    assert.deepEqual(data.hosts.get('keep')?.vars, {});
    assert.deepEqual(data.warnings, []);
    data.addHost('w1', 'ungrouped', undefined);
    assert.deepEqual(data.groups.get('ungrouped')?.hosts, ['keep', 'w1']);
  });
});

describe('inventory scripts', () => {
  it('runs SCRIPT --list and reads groups, children, vars and _meta.hostvars as the script plugin does', async () => {
    const script = await file(
      'ec2.sh',
      `#!/bin/sh
[ "$1" = "--list" ] || exit 9
cat <<'J'
{"web": {"hosts": ["w1", "w2:2222"], "vars": {"php": 8.0, "n": 1e3, "big": 12345678901234567890}, "children": ["canary"]},
 "canary": ["w1"], "lonely": {"x": 1}, "all": {"vars": {"env": "prod"}}, "db": {"hosts": ["d1"]},
 "_meta": {"hostvars": {"w1": {"ansible_host": "10.0.0.1"}, "nothere": {"a": 1}}}}
J
`,
      0o755,
    );
    const inv = await loadInventory([script]);
    assert.deepEqual([...inv.groups.keys()], ['all', 'ungrouped', 'web', 'canary', 'lonely', 'db']);
    assert.deepEqual(inv.groups.get('all')?.children, ['ungrouped', 'web', 'lonely', 'db']);
    // Host names are literal in scripts: no :port, no ranges.
    assert.deepEqual(hostsOf(inv, 'web'), ['w1', 'w2:2222']);
    assert.deepEqual(inv.groups.get('web')?.children, ['canary']);
    // A group given as a mapping without hosts/vars/children is a host of that name with those vars.
    assert.deepEqual(hostsOf(inv, 'lonely'), ['lonely']);
    assert.equal(inv.hosts.get('lonely')?.vars.x, 1);
    const w1 = inv.hosts.get('w1')?.vars ?? {};
    assert.equal(w1.ansible_host, '10.0.0.1');
    assert.equal(w1.env, 'prod');
    assert.ok(w1.php instanceof PyFloat);
    assert.equal(String(w1.php), '8.0');
    assert.equal(String(w1.n), '1000.0');
    assert.equal(w1.big, 12345678901234567890n);
    assert.equal(inv.hosts.has('nothere'), false);
    assert.deepEqual(inv.warnings, ['Found both group and host with same name: lonely']);
  });

  it('asks SCRIPT --host H for each host when --list has no _meta (JSON, or YAML as Ansible\'s loader takes)', async () => {
    const script = await file(
      'nometa.sh',
      `#!/bin/sh
case "$1" in
--list) echo '{"web": ["w1", "w2"]}';;
--host) [ "$2" = w1 ] && echo "{\\"who\\": \\"$2\\"}" || echo "who: $2";;
esac
`,
      0o755,
    );
    const inv = await loadInventory([script]);
    assert.equal(inv.hosts.get('w1')?.vars.who, 'w1');
    assert.equal(inv.hosts.get('w2')?.vars.who, 'w2');
  });

  it('asks --host when _meta.hostvars is null, and takes children given as an object', async () => {
    const script = await file(
      'nullmeta.sh',
      `#!/bin/sh
case "$1" in
--list) echo '{"all": {"hosts": ["a1"], "children": {"kids": 1}}, "kids": {"hosts": ["k1"]}, "_meta": {"hostvars": null}}';;
--host) echo '{"h": "'$2'"}';;
esac
`,
      0o755,
    );
    const inv = await loadInventory([script]);
    assert.deepEqual(inv.groups.get('all')?.children, ['ungrouped', 'kids']);
    assert.deepEqual(hostsOf(inv, 'ungrouped'), ['a1']);
    assert.equal(inv.hosts.get('k1')?.vars.h, 'k1');
    assert.equal(inv.hosts.get('a1')?.vars.h, 'a1');
  });

  it('keeps what a successful script wrote on stderr as a warning (Ansible shows it as an error line)', async () => {
    const script = await file('chatty.sh', '#!/bin/sh\necho "ec2.py is deprecated" >&2\necho "use aws_ec2" >&2\necho \'{"web": ["w1"], "_meta": {"hostvars": {}}}\'\n', 0o755);
    const inv = await loadInventory([script]);
    assert.deepEqual(hostsOf(inv, 'web'), ['w1']);
    assert.deepEqual(inv.warnings, [`inventory script ${script} --list wrote on stderr: ec2.py is deprecated (and 1 more lines)`]);
  });

  it('refuses empty --host output, which Ansible 2.14 also fails on', async () => {
    const script = await file('emptyhost.sh', '#!/bin/sh\n[ "$1" = --list ] && echo \'{"web": ["w1"]}\'\nexit 0\n', 0o755);
    await expectLanesError(() => loadInventory([script]), { message: /printed nothing for --host w1/, file: script, hint: /print \{\}/ });
  });

  it('names the script, its exit status and the first line of its stderr when it fails', async () => {
    const script = await file('fails.sh', '#!/bin/sh\necho "  " >&2\necho "boto: no credentials" >&2\necho more >&2\nexit 3\n', 0o755);
    const err = await expectLanesError(() => loadInventory([script]), {
      message: /^inventory script .*fails\.sh --list exited with status 3: boto: no credentials$/,
      file: script,
      kind: 'input',
    });
    assert.match(err.hint ?? '', /tried script, ini/);
  });

  it('stops a script that outlives scriptTimeout', async () => {
    const script = await file('hangs.sh', '#!/bin/sh\nexec sleep 30\n', 0o755);
    await expectLanesError(() => loadInventory([script], { scriptTimeout: 0.5 }), {
      message: /did not finish within 0.5s and was stopped/,
      kind: 'timeout',
      file: script,
    });
  });

  it('reports output that is not JSON with Python\'s wording and position', async () => {
    const script = await file('badjson.sh', '#!/bin/sh\necho "{bad"\n', 0o755);
    await expectLanesError(() => loadInventory([script]), {
      message: /--list is not JSON: Expecting property name enclosed in double quotes at line 1 column 2$/,
      file: script,
    });
  });

  it('says a #! file that is not executable must be made executable', async () => {
    const script = await file('noexec.sh', '#!/bin/sh\necho "{}"\n', 0o644);
    await expectLanesError(() => loadInventory([script]), { message: /it is not executable/, hint: /chmod \+x/ });
  });

  it('runs the script from options.cwd, as Ansible runs it from the working directory', async () => {
    const work = join(dir, 'work');
    await mkdir(work, { recursive: true });
    await writeFile(join(work, 'cached.json'), '{"fromcwd": ["c1"]}');
    const script = await file('cat.sh', '#!/bin/sh\ncat cached.json\n', 0o755);
    const inv = await loadInventory([script], { cwd: work });
    assert.deepEqual(hostsOf(inv, 'fromcwd'), ['c1']);
  });

  it('caps what a program may print', async () => {
    const r = await runCapped('/bin/sh', ['-c', 'while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done'], { cwd: dir, timeoutSeconds: 30, maxOutput: 4096 });
    assert.equal(r.kind, 'too-much-output');
  });
});

describe('inventory plugin configs (through ansible-inventory)', () => {
  it('reads a plugin config with the real ansible-inventory', async () => {
    const cfg = await file(
      'gen.yml',
      'plugin: ansible.builtin.generator\nhosts:\n  name: "{{ operation }}-{{ application }}"\n  parents:\n    - name: "{{ application }}"\nlayers:\n  operation: [build, launch]\n  application: [web, api]\n',
    );
    const inv = await loadInventory([cfg], { cwd: dir });
    // Hosts come in the order of ansible-inventory's JSON (groups sorted by name), not the plugin's.
    assert.deepEqual([...inv.hosts.keys()], ['build-api', 'launch-api', 'build-web', 'launch-web']);
    assert.deepEqual(hostsOf(inv, 'api'), ['build-api', 'launch-api']);
    assert.deepEqual(hostsOf(inv, 'web'), ['build-web', 'launch-web']);
  });

  it('refuses a plugin ansible-inventory cannot load, with its reason', async () => {
    const cfg = await file('nope.yml', 'plugin: lanes_no_such_plugin\n');
    await expectLanesError(() => loadInventory([cfg], { cwd: dir }), {
      message: /inventory plugin "lanes_no_such_plugin" failed in ansible-inventory: .*unknown plugin 'lanes_no_such_plugin'/,
      file: cfg,
      hint: /-vvv/,
    });
  });

  it('says ansible-core must be installed when ansible-inventory is missing', async () => {
    await expectLanesError(() => readPluginInventory(new InventoryData(), 'aws_ec2.yml', 'aws_ec2', { cwd: dir, timeoutSeconds: 5, command: join(dir, 'no-ansible-inventory') }), {
      message: /inventory plugin "aws_ec2" needs Ansible, and .*no-ansible-inventory is not installed/,
      file: 'aws_ec2.yml',
      hint: /apt install ansible-core/,
    });
  });

  it('finds the auto plugin\'s reason in ansible-inventory\'s wrapped warnings', () => {
    const stderr = "[WARNING]:  * Failed to parse /x/aws_ec2.yml with auto plugin: Failed to\nimport the required Python library (botocore and boto3)\n[WARNING]:  * Failed to parse /x/aws_ec2.yml with yaml plugin: Plugin\nconfiguration YAML file\nERROR! Completely failed to parse inventory source /x/aws_ec2.yml\n";
    assert.equal(pluginFailure(stderr), 'Failed to import the required Python library (botocore and boto3)');
    assert.equal(pluginFailure('ERROR! Something broke\n'), 'Something broke');
  });
});

describe("Ansible's warnings", () => {
  it('warns about duplicate YAML keys with the mapping\'s place and the absolute path', () => {
    const inv = parseInventoryText('web:\n  hosts:\n    h1:\n    h1:\n      a: 1\n', 'dup.yml');
    assert.equal(inv.hosts.get('h1')?.vars.a, 1);
    assert.deepEqual(inv.warnings, [
      `While constructing a mapping from ${resolve('dup.yml')}, line 3, column 5, found a duplicate dict key (h1). Using last defined value only.`,
    ]);
  });

  it('orders duplicate-key warnings as PyYAML builds mappings (level by level), and is silent for JSON', async () => {
    const text = 'all:\n  vars: {a: 1, a: 2}\n  hosts:\n    h1:\n      x: 1\n      x: 2\n    h2:\n  hosts:\n    h3:\nweb:\n  hosts: {w: , w: }\n';
    const inv = parseInventoryText(text, 'dup2.yml');
    const at = (l: number, c: number, k: string): string =>
      `While constructing a mapping from ${resolve('dup2.yml')}, line ${l}, column ${c}, found a duplicate dict key (${k}). Using last defined value only.`;
    assert.deepEqual(inv.warnings, [at(2, 3, 'hosts'), at(2, 9, 'a'), at(11, 10, 'w'), at(5, 7, 'x')]);
    assert.deepEqual(hostsOf(inv, 'ungrouped'), ['h3']);
    const json = await loadInventory([await file('dup.json', '{"all": {"hosts": {"j1": {"x": 1, "x": 2}}}}')]);
    assert.equal(json.hosts.get('j1')?.vars.x, 2);
    assert.deepEqual(json.warnings, []);
  });

  it('applies YAML merge keys in the group structure as PyYAML does, warning about the overridden key', () => {
    const inv = parseInventoryText('base: &b\n  hosts:\n    h1:\n  vars:\n    x: 1\nweb:\n  <<: *b\n  vars:\n    x: 2\n', 'm.yml');
    assert.deepEqual(hostsOf(inv, 'web'), ['h1']);
    assert.equal(inv.hosts.get('h1')?.vars.x, 2);
    assert.deepEqual(inv.warnings, [
      `While constructing a mapping from ${resolve('m.yml')}, line 7, column 3, found a duplicate dict key (vars). Using last defined value only.`,
    ]);
    const list = parseInventoryText('a: &a {hosts: {h1: }}\nb: &b {hosts: {h2: }}\nweb:\n  <<: [*a, *b]\n', 'm2.yml');
    assert.deepEqual(hostsOf(list, 'web'), ['h1']);
    assert.deepEqual(list.warnings, [
      `While constructing a mapping from ${resolve('m2.yml')}, line 4, column 3, found a duplicate dict key (hosts). Using last defined value only.`,
    ]);
  });

  it('skips group keys that are not mappings, naming their Python class', () => {
    const inv = parseInventoryText('web:\n  hosts:\n    h1:\n  foo: bar\n  lst: [1]\n  fl: 1.5\n  n: 3\n  bo: true\n  nul:\n', 'a.yml');
    assert.deepEqual(hostsOf(inv, 'web'), ['h1']);
    assert.deepEqual(
      inv.warnings,
      [
        "foo) in group (web) as it is not a mapping, it is a <class 'ansible.parsing.yaml.objects.AnsibleUnicode'>",
        "lst) in group (web) as it is not a mapping, it is a <class 'ansible.parsing.yaml.objects.AnsibleSequence'>",
        "fl) in group (web) as it is not a mapping, it is a <class 'float'>",
        "n) in group (web) as it is not a mapping, it is a <class 'int'>",
        "bo) in group (web) as it is not a mapping, it is a <class 'bool'>",
      ].map((w) => `Skipping key (${w}`),
    );
  });

  it('refuses a child group Ansible skipped, as adding it then fails', async () => {
    await expectLanesError(() => parseInventoryText('all:\n  children:\n    web: [1]\n', 'c.yml'), {
      message: /^web is not a known host nor group$/,
      line: 3,
      column: 10,
    });
  });

  const ini = '[web-servers]\nh1\n[web-servers:vars]\nx=1\n[1db]\nd1\n';
  it('force_valid_group_names=never (default) keeps invalid names with a warning; ignore without one', () => {
    const never = parseInventoryText(ini, 'hosts');
    assert.deepEqual([...never.groups.keys()], ['all', 'ungrouped', 'web-servers', '1db']);
    assert.equal(never.hosts.get('h1')?.vars.x, 1);
    assert.deepEqual(never.warnings, ['Invalid characters were found in group names but not replaced, use -vvvv to see details']);
    const ignore = parseInventoryText(ini, 'hosts', undefined, { invalidGroupChars: 'ignore' });
    assert.deepEqual([...ignore.groups.keys()], ['all', 'ungrouped', 'web-servers', '1db']);
    assert.deepEqual(ignore.warnings, []);
  });

  it('force_valid_group_names=always and silently replace invalid characters with _', () => {
    const always = parseInventoryText(ini, 'hosts', undefined, { invalidGroupChars: 'always' });
    assert.deepEqual([...always.groups.keys()], ['all', 'ungrouped', 'web_servers', '_db']);
    assert.equal(always.hosts.get('h1')?.vars.x, 1);
    assert.deepEqual(always.warnings, ['Invalid characters were found in group names and automatically replaced, use -vvvv to see details']);
    const silently = parseInventoryText('all:\n  children:\n    web-servers:\n      hosts:\n        h1:\n', 'x.yml', undefined, { invalidGroupChars: 'silently' });
    assert.deepEqual(silently.groups.get('all')?.children, ['ungrouped', 'web_servers']);
    assert.deepEqual(silently.warnings, []);
  });

  it('fails [x:children] naming a group by its invalid name under always, as Ansible\'s ini plugin does', async () => {
    await expectLanesError(() => parseInventoryText('[web-servers]\nh1\n[prod:children]\nweb-servers\n', 'hosts', undefined, { invalidGroupChars: 'always' }), {
      message: /\[prod:children\] includes undefined group "web-servers"/,
      line: 4,
    });
  });
});

describe('Python json.loads', () => {
  it('keeps floats, big integers and special values as Python has them', () => {
    const v = pyJsonLoads('{"a": 8.0, "b": 1e3, "c": 1.5, "d": 123456789012345678901, "e": [NaN, -Infinity], "f": "x\\u00e9\\n", "a": 2}') as Record<string, unknown>;
    assert.equal(v.a, 2);
    assert.deepEqual(Object.keys(v), ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.equal(String(v.b), '1000.0');
    assert.equal(v.c, 1.5);
    assert.equal(v.d, 123456789012345678901n);
    assert.deepEqual((v.e as unknown[]).map(String), ['nan', '-inf']);
    assert.equal(v.f, 'x\u00e9\n');
  });

  it('reports errors with line and column', () => {
    assert.throws(() => pyJsonLoads('{\n  "a": 1,\n  }'), /Expecting property name enclosed in double quotes/);
    assert.throws(() => pyJsonLoads('{"a": 1} x'), (e: Error & { line?: number; column?: number }) => e.message === 'Extra data' && e.column === 10);
    assert.throws(() => pyJsonLoads(''), /Expecting value/);
  });
});
