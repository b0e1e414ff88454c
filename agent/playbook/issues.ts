/**
 * zod issues turned into lanes messages, each with the path of the value at fault: unknown keys
 * one by one, missing keys as such, "must be a list, got a mapping" instead of zod's generic type
 * messages, and unions reduced to the branch that got furthest.
 */
import type { z } from 'zod';
import { describeValue } from './yaml.js';

type Issue = z.core.$ZodIssue;

/**
 * How a playbook's schemas are parsed: without zod's eval'd fast path for objects. A run parses each
 * schema a few times (identical specs are validated once), and generating that code on first use cost
 * more than it saved: about a quarter of a one-host compile in a fresh `lanes` process. Per call, so
 * nothing global changes for a program that uses lanes and zod.
 */
export const NO_EVAL = { jitless: true } as const;

export interface Problem {
  /** Path of the value at fault (for a missing key: the key's path). */
  path: PropertyKey[];
  message: string;
  /** Set for an unknown key (the last path segment). */
  unknownKey?: string;
  /** Set for a required key that is absent (the last path segment). */
  missingKey?: string;
}

/** Walk a plain value along a path. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let v: unknown = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, seg)) return { found: false, value: undefined };
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value: v };
}

const DEFAULT_MESSAGE = /^Invalid (?:input|option)(?::|$)/;

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  bigint: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  tuple: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  null: 'empty',
};

function expectedText(expected: string): string {
  return EXPECTED[expected] ?? `a ${expected}`;
}

/** The issues of one safeParse, as problems against the parsed input. */
export function problemsOf(issues: readonly Issue[], input: unknown, base: readonly PropertyKey[] = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key "${key}"`, unknownKey: key });
      continue;
    }
    const at = valueAt(input, path);
    const parent = valueAt(input, path.slice(0, -1));
    const last = path[path.length - 1];
    if (!at.found && parent.found && typeof last === 'string' && isKeyed(parent.value)) {
      // Only type checks fail on a missing key; a custom check may name a key that is absent on purpose.
      if (issue.code === 'invalid_type' || issue.code === 'invalid_union' || issue.code === 'invalid_value') {
        out.push({ path, message: `missing required key "${last}"`, missingKey: last });
        continue;
      }
    }
    if (issue.code === 'invalid_union') {
      const branch = furthestBranch(issue.errors);
      if (branch) {
        out.push(...problemsOf(branch, input, path));
        continue;
      }
      const expected = [...new Set(issue.errors.flat().flatMap((i) => (i.code === 'invalid_type' ? [expectedText(i.expected)] : [])))];
      const what = DEFAULT_MESSAGE.test(issue.message) ? (expected.length > 0 ? `must be ${expected.join(' or ')}` : 'is not valid') : issue.message;
      out.push({ path, message: `${what}, got ${describeValue(at.value)}` });
      continue;
    }
    if (issue.code === 'invalid_type') {
      const what = DEFAULT_MESSAGE.test(issue.message) ? `must be ${expectedText(issue.expected)}` : issue.message;
      out.push({ path, message: `${what}, got ${describeValue(at.value)}` });
      continue;
    }
    if (issue.code === 'invalid_value' && DEFAULT_MESSAGE.test(issue.message)) {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
      out.push({ path, message: `must be one of ${allowed}, got ${describeValue(at.value)}` });
      continue;
    }
    out.push({ path, message: issue.message });
  }
  return out;
}

function isKeyed(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The union branch whose issues reach deepest into the value (it is the one that was meant), if any got past the top. */
function furthestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  let best: readonly Issue[] | undefined;
  let bestDepth = 0;
  for (const b of branches) {
    const depth = Math.max(0, ...b.map((i) => i.path.length + (i.code === 'unrecognized_keys' ? 1 : 0)));
    if (depth > bestDepth) {
      best = b;
      bestDepth = depth;
    }
  }
  return best;
}

/** `fpm.pools.web.pm` + ['start_servers'] → "fpm.pools.web.pm.start_servers". */
export function joinPath(base: string, rest: readonly PropertyKey[]): string {
  let out = base;
  for (const seg of rest) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}
