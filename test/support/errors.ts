/** Exact assertions on user errors: a LanesError with this message, kind, hint and source position. */
import assert from 'node:assert/strict';
import { LanesError } from '../../agent/errors.js';

export interface ExpectedError {
  message?: RegExp;
  file?: string;
  line?: number;
  column?: number;
  kind?: string;
  hint?: RegExp;
}

/** Run `fn` and check it throws a LanesError at exactly this place. */
export async function expectLanesError(fn: () => unknown, expected: ExpectedError): Promise<LanesError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof LanesError, `expected a LanesError, got ${String(caught)}`);
  const err = caught;
  if (expected.message) assert.match(err.message, expected.message);
  if (expected.kind) assert.equal(err.kind, expected.kind);
  if (expected.hint) assert.match(err.hint ?? '', expected.hint);
  if (expected.file !== undefined) assert.equal(err.location?.file, expected.file);
  if (expected.line !== undefined) assert.equal(err.location?.line, expected.line, err.format());
  if (expected.column !== undefined) assert.equal(err.location?.column, expected.column, err.format());
  return err;
}
