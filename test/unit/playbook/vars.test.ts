// --extra-vars in the forms Ansible's -e takes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LanesError } from '../../../agent/errors.js';
import { parseExtraVars, parseKeyValues } from '../../../agent/playbook/vars.js';
import { fixture } from './fake-registry.js';

describe('parseExtraVars', () => {
  it('reads key=value words as strings, with quotes and templates kept whole', () => {
    assert.deepEqual(parseKeyValues(`release=v2 workers=4 msg="two words" path='/a b' t={{ x | default(1) }} eq=a=b`), {
      release: 'v2',
      workers: '4',
      msg: 'two words',
      path: '/a b',
      t: '{{ x | default(1) }}',
      eq: 'a=b',
    });
  });

  it('reads JSON (or YAML flow) mappings with their types', async () => {
    assert.deepEqual(await parseExtraVars(['{"workers": 4, "tags": ["a"], "on": true}']), { workers: 4, tags: ['a'], on: true });
    assert.deepEqual(await parseExtraVars(['{workers: 4}']), { workers: 4 });
  });

  it('reads @file relative to the working directory', async () => {
    const vars = await parseExtraVars(['@vars/override.yml'], fixture(''));
    assert.deepEqual(vars, { from_file: 'override' });
  });

  it('merges several, the last winning', async () => {
    assert.deepEqual(await parseExtraVars(['a=1 b=1', '{"b": 2}', 'c=3']), { a: '1', b: 2, c: '3' });
  });

  it('refuses malformed input with the allowed forms', async () => {
    await assert.rejects(() => parseExtraVars(['justaword']), (e: unknown) => e instanceof LanesError && /is not key=value/.test(e.message) && /JSON mapping/.test(e.hint ?? ''));
    await assert.rejects(() => parseExtraVars(['[1, 2]']), (e: unknown) => e instanceof LanesError && /must be a mapping of variable names/.test(e.message));
    await assert.rejects(() => parseExtraVars(['@nope.yml'], fixture('')), (e: unknown) => e instanceof LanesError && /file not found: nope\.yml/.test(e.message));
    await assert.rejects(() => parseExtraVars(['a="open']), (e: unknown) => e instanceof LanesError && /unterminated/.test(e.message));
    await assert.rejects(() => parseExtraVars(['{"bad-name": 1}']), (e: unknown) => e instanceof LanesError && /not a valid variable name/.test(e.message));
  });
});
