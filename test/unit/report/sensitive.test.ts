// Sensitive changes and resources: what plan text, --json and plan files show of them (hashes,
// never values or diff lines), and how a saved plan's placeholders are filled again at apply.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRecompiled, isSealed, sealHostPlan, unsealChanges } from '../../../agent/plan/sealed.js';
import { SecretMasker } from '../../../agent/report/mask.js';
import { renderPlan } from '../../../agent/report/plan-text.js';
import { isSensitiveSpec, markSensitive, placeholderHash, redactChange, redactDesired, redactEvent } from '../../../agent/report/sensitive.js';
import { sha256Hex, unifiedDiff } from '../../../agent/resources/managed-file.js';
import type { Change, DesiredResource } from '../../../agent/resources/types.js';
import { actualState, fileState, files } from '../../support/actual.js';

const OLD = 'DB_PASSWORD=old-secret\n';
const NEW = 'DB_PASSWORD=new-secret\n';
const PATH = '/srv/app/.env';

function envChange(): Change {
  return {
    resource: `template[${PATH}]`,
    action: 'update',
    summary: `update ${PATH}`,
    fields: [{ name: 'mode', before: '0644', after: '0640' }],
    diff: unifiedDiff(PATH, OLD, NEW),
    operations: [{ op: 'write', path: PATH, content: NEW, owner: 'root', group: 'www-data', mode: '0640' }],
  };
}

const actual = () => actualState(undefined, { files: files({ ...fileState(PATH, OLD), sha256: sha256Hex(OLD) }) });

describe('sensitive changes', () => {
  it('a resource marked sensitive: true, or carrying a registered secret, is sensitive', () => {
    const m = new SecretMasker();
    assert.equal(isSensitiveSpec({ path: PATH, content: 'x', sensitive: true }, m), true);
    assert.equal(isSensitiveSpec({ path: PATH, content: NEW }, m), false);
    m.add('new-secret');
    assert.equal(isSensitiveSpec({ path: PATH, content: NEW }, m), true);
    assert.equal(m.contains('a new-secret b'), true);
    assert.equal(m.containsIn({ env: { A: ['x', 'new-secret'] } }), true);
  });

  it('shows content as hashes before → after, keeps plain fields exact, and no diff line — even of an old value nobody registered', () => {
    const m = new SecretMasker();
    const marked = markSensitive(envChange(), actual(), true, m);
    const shown = redactChange(marked, m);
    assert.equal(shown.diff, undefined);
    assert.deepEqual(shown.fields, [
      { name: 'content', before: `(sensitive, changed) sha256:${sha256Hex(OLD).slice(0, 8)}`, after: `sha256:${sha256Hex(NEW).slice(0, 8)}` },
      { name: 'mode', before: '0644', after: '0640' },
    ]);
    assert.deepEqual(shown.operations, [{ op: 'write', path: PATH, content: `(sensitive) sha256:${sha256Hex(NEW)}`, owner: 'root', group: 'www-data', mode: '0640' }]);
    const text = renderPlan({ title: 'plan', hosts: [{ host: 'web1', changes: [marked] }], failed: [] });
    assert.match(text, /content: \(sensitive, changed\) sha256:[0-9a-f]{8} → sha256:[0-9a-f]{8}/);
    assert.match(text, /mode: 0644 → 0640/);
    assert.ok(!text.includes('old-secret') && !text.includes('new-secret'), text);
  });

  it('hashes value fields (environment) and rewrites a summary that would quote them', () => {
    const m = new SecretMasker();
    const change: Change = {
      resource: 'supervisor_program[worker]',
      action: 'update',
      summary: 'program worker: environment.DB_PASSWORD s3cr3t-1 → s3cr3t-2',
      fields: [
        { name: 'environment.DB_PASSWORD', before: 's3cr3t-1', after: 's3cr3t-2' },
        { name: 'user', before: 'root', after: 'queueuser' },
      ],
      operations: [],
    };
    const shown = redactChange({ ...change, sensitive: true }, m);
    assert.equal(shown.summary, 'supervisor_program[worker]: environment.DB_PASSWORD changed (sensitive)');
    assert.deepEqual(shown.fields![1], { name: 'user', before: 'root', after: 'queueuser' });
    assert.ok(!JSON.stringify(shown).includes('s3cr3t'));
  });

  it('a change that is not sensitive is shown as it is; one whose diff holds a registered secret is not', () => {
    const m = new SecretMasker();
    assert.deepEqual(redactChange(envChange(), m), envChange());
    m.add('new-secret');
    assert.equal(markSensitive(envChange(), actual(), false, m).sensitive, true);
    assert.equal(redactChange(envChange(), m).diff, undefined);
  });

  it('desired specs of sensitive resources hold placeholders except their plain attributes; --json host-end data is redacted', () => {
    const m = new SecretMasker();
    const d: DesiredResource = { type: 'template', id: PATH, spec: { path: PATH, content: NEW, owner: 'root', mode: '0640', sensitive: true } };
    const r = redactDesired(d, m);
    assert.deepEqual(r.spec, { path: PATH, content: `(sensitive) sha256:${sha256Hex(NEW)}`, owner: 'root', mode: '0640', sensitive: true });
    assert.equal(placeholderHash((r.spec as { content: string }).content), sha256Hex(NEW));
    const e = redactEvent({ type: 'host-end', host: 'web1', ok: true, ms: 1, at: 0, data: { changes: [{ ...envChange(), sensitive: true }], desired: [d] } }, m);
    assert.ok(!JSON.stringify(e).includes('secret'), JSON.stringify(e));
  });
});

describe('saved plans with sensitive content', () => {
  const desired: DesiredResource[] = [{ type: 'template', id: PATH, spec: { path: PATH, content: NEW, sensitive: true } }];
  const marked = () => markSensitive(envChange(), actual(), true);
  const roundTrip = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

  it('are saved with placeholders and filled from the same plan again', () => {
    const sealed = roundTrip(sealHostPlan({ host: 'web1', fingerprint: 'f', probes: [], changes: [marked()], desired }));
    assert.equal(isSealed(sealed), true);
    assert.ok(!JSON.stringify(sealed).includes('secret'));
    checkRecompiled('web1', sealed.desired, desired);
    assert.deepEqual(unsealChanges('web1', sealed.changes, [marked()]), [marked()]);
  });

  it('are refused, naming the host and the resource, when the inputs changed', () => {
    const sealed = roundTrip(sealHostPlan({ host: 'web1', fingerprint: 'f', probes: [], changes: [marked()], desired }));
    const other: DesiredResource[] = [{ type: 'template', id: PATH, spec: { path: PATH, content: 'DB_PASSWORD=other\n', sensitive: true } }];
    assert.throws(() => checkRecompiled('web1', sealed.desired, other), (e: Error & { host?: string }) => e.host === 'web1' && e.message.startsWith(`template[${PATH}]:`));
    const changed = { ...envChange(), operations: [{ op: 'write' as const, path: PATH, content: 'DB_PASSWORD=other\n', owner: 'root', group: 'www-data', mode: '0640' }] };
    assert.throws(() => unsealChanges('web1', sealed.changes, [markSensitive(changed, actual(), true)]), /template\[\/srv\/app\/\.env\]: cannot fill in the sensitive content/);
  });

  it('plans without sensitive content are saved as they are', () => {
    const plain: Change = { resource: 'file[/etc/motd]', action: 'create', summary: 'create /etc/motd', diff: unifiedDiff('/etc/motd', '', 'hi\n'), operations: [{ op: 'write', path: '/etc/motd', content: 'hi\n' }] };
    const sealed = sealHostPlan({ host: 'web1', fingerprint: 'f', probes: [], changes: [plain], desired: [{ type: 'file', id: '/etc/motd', spec: { path: '/etc/motd', content: 'hi\n' } }] });
    assert.equal(isSealed(sealed), false);
    assert.deepEqual(sealed.changes, [plain]);
  });
});
