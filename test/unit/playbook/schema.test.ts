// The playbook JSON Schema: its structure, derived from the sections table and resource schemas.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPlaybook } from '../../../agent/playbook/load.js';
import { buildPlaybookJsonSchema } from '../../../agent/playbook/schema.js';
import { fakeRegistry, fixture } from './fake-registry.js';

type J = Record<string, unknown>;
const o = (v: unknown): J => {
  assert.ok(v !== null && typeof v === 'object', `expected an object, got ${JSON.stringify(v)}`);
  return v as J;
};
/** The first non-template alternative of an `anyOf` (or the schema itself). */
const main = (v: unknown): J => {
  const s = o(v);
  return Array.isArray(s.anyOf) ? o(s.anyOf[0]) : s;
};

describe('playbookJsonSchema', () => {
  const schema = buildPlaybookJsonSchema(fakeRegistry);
  const defs = o(schema.$defs);
  const play = o(defs.play);
  const props = o(play.properties);

  it('is a draft 2020-12 schema of a list of plays', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.type, 'array');
    assert.deepEqual(schema.items, { $ref: '#/$defs/play' });
    assert.deepEqual(play.required, ['hosts']);
    assert.equal(play.additionalProperties, false);
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema, 'plain JSON');
  });

  it('has every play key and section group', () => {
    assert.deepEqual(Object.keys(props), [
      'name', 'hosts', 'vars', 'vars_files', 'sensitive_vars',
      'packages', 'groups', 'users', 'directories', 'files', 'templates', 'symlinks', 'services', 'release',
      'fpm', 'systemd', 'supervisor',
    ]);
    assert.deepEqual(Object.keys(o(o(props.fpm).properties)), ['version', 'global', 'pools', 'remove_pools']);
    assert.deepEqual(Object.keys(o(o(props.supervisor).properties)), ['programs']);
    assert.deepEqual(Object.keys(o(o(props.systemd).properties)), ['slices', 'services']);
    assert.equal(o(props.fpm).additionalProperties, false);
  });

  it('shapes each section\'s items from its resource schema', () => {
    // Named sections: the name is the key, not a field.
    const program = main(o(main(o(o(props.supervisor).properties).programs)).additionalProperties);
    assert.deepEqual(Object.keys(o(program.properties)), ['command', 'numprocs', 'user']);
    assert.deepEqual(program.required, ['command']);
    // A count, or a name with a pattern, accepts a "{{ … }}" template as well; a free string needs not.
    const programProps = o(program.properties);
    assert.deepEqual((o(programProps.numprocs).anyOf as unknown[])[1], { $ref: '#/$defs/template' });
    assert.equal(main(programProps.numprocs).type, 'integer');
    assert.deepEqual((o(programProps.user).anyOf as unknown[])[1], { $ref: '#/$defs/template' });
    assert.deepEqual(programProps.command, { type: 'string' });
    // Templates: `dest` instead of path, no content (rendered from src).
    const template = main(o(main(props.templates)).items);
    assert.deepEqual(Object.keys(o(template.properties)).sort(), ['dest', 'group', 'mode', 'owner', 'reload', 'src', 'validate']);
    assert.deepEqual([...(template.required as string[])].sort(), ['dest', 'src']);
    // Packages: a name or a mapping.
    const pkg = o(o(main(props.packages)).items);
    assert.deepEqual(main((pkg.anyOf as unknown[])[0]).type, 'string');
    assert.deepEqual(Object.keys(o(o((pkg.anyOf as unknown[])[1]).properties)), ['name', 'state', 'version']);
    // remove_pools: a list of names; global: the settings mapping.
    const fpm = o(o(props.fpm).properties);
    assert.equal(main(o(main(fpm.remove_pools)).items).type, 'string');
    assert.equal(main(fpm.global).type, 'object');
    const pool = main(o(main(fpm.pools)).additionalProperties);
    assert.ok(!('name' in o(pool.properties)));
    assert.ok('pm' in o(pool.properties));
  });

  it('covers every key of the sample playbooks', async () => {
    for (const file of ['site.yml', 'precedence.yml']) {
      const pb = await loadPlaybook(fixture(file));
      for (const p of pb.plays) {
        const value = pb.source.value(p.node) as J;
        for (const [k, v] of Object.entries(value)) {
          assert.ok(k in props, `${file}: ${k}`);
          const group = o(props[k]).properties;
          if (group) for (const sub of Object.keys(o(v))) assert.ok(sub in o(group), `${file}: ${k}.${sub}`);
        }
      }
    }
  });
});
