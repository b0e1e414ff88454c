// Shared helpers for playbook tests: parse inline playbooks placed in the fixture directory (so
// vars_files and templates resolve), compile with the fake registry, and check errors exactly.
import assert from 'node:assert/strict';
import { loadInventory } from '../../../agent/inventory/index.js';
import type { Inventory } from '../../../agent/inventory/model.js';
import { compilePlaybook, type CompileOptions, type CompiledPlan } from '../../../agent/playbook/compile.js';
import { PlaybookErrors } from '../../../agent/playbook/errors.js';
import { parsePlaybook, type Playbook } from '../../../agent/playbook/load.js';
import { fakeRegistry, fixture } from './fake-registry.js';

export { fixture };

/** The path inline playbooks pretend to live at (in the fixture directory). */
export const INLINE = fixture('inline.yml');

let inventory: Inventory | undefined;
export async function testInventory(): Promise<Inventory> {
  inventory ??= await loadInventory([fixture('inventory.yml')]);
  return inventory;
}

export function parse(text: string): Playbook {
  return parsePlaybook(text, INLINE);
}

export async function compileText(text: string, opts: CompileOptions = {}): Promise<CompiledPlan> {
  return compilePlaybook(parse(text), await testInventory(), opts, fakeRegistry);
}

/** The spec of the resource `type[id]` of a host. */
export function specOf(plan: CompiledPlan, host: string, type: string, id: string): Record<string, unknown> {
  const r = plan.hosts.get(host)?.find((x) => x.type === type && x.id === id);
  assert.ok(r, `no ${type}[${id}] on ${host}: ${JSON.stringify(plan.hosts.get(host)?.map((x) => `${x.type}[${x.id}]`))}`);
  return r.spec as Record<string, unknown>;
}

/** Run `fn`, expect a PlaybookErrors, and return its errors' one-line formats. */
export async function errorLines(fn: () => unknown): Promise<string[]> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PlaybookErrors, `expected PlaybookErrors, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  return caught.errors.map((e) => e.format());
}

export { expectLanesError, type ExpectedError } from '../../support/errors.js';

/** `INLINE:line:column: rest` */
export function at(line: number, column: number, rest: string): string {
  return `${INLINE}:${line}:${column}: ${rest}`;
}
