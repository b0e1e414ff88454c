// A play's sensitive_vars: the values they resolve to per host are registered with the secret
// registry before the host's resources are compiled; the key is validated like every play key.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { secrets } from '../../../agent/report/mask.js';
import { compileText, errorLines, parse } from './helpers.js';

describe('sensitive_vars', () => {
  it('registers the resolved values of the named and globbed variables, per host', async () => {
    await compileText(`
- hosts: app
  sensitive_vars: [db_password, "*_token"]
  vars:
    db_password: "pw-{{ inventory_hostname }}-x1"
    api_token: { a: tok-aaa1, b: [tok-bbb2] }
    plain: not-a-secret
  files:
    - { path: /etc/x, content: "{{ db_password }}" }
`);
    for (const s of ['pw-lab1-x1', 'pw-lab2-x1', 'tok-aaa1', 'tok-bbb2']) assert.equal(secrets.contains(s), true, s);
    assert.equal(secrets.contains('not-a-secret'), false);
  });

  it('refuses what is not a list of names or globs, at the key', async () => {
    const lines = await errorLines(() => parse('- hosts: app\n  sensitive_vars: "db_password"\n'));
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /:2:\d+: sensitive_vars: must be a list of variable names or globs/);
    const bad = await errorLines(() => parse('- hosts: app\n  sensitive_vars: ["db password"]\n'));
    assert.match(bad[0]!, /:2:20: sensitive_vars\[0\]: must be a variable name or a glob/);
  });
});
