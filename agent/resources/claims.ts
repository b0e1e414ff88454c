/**
 * What a resource owns on a host, so that two declarations of one path, unit, program or pool —
 * across sections (`files:` and `templates:`), across plays, or a unit file also written as a plain
 * file — are refused before anything runs instead of fighting each other on every apply.
 */
import { posix } from 'node:path';
import type { ResourceType } from './types.js';

/** `path:<normalised absolute path>`: `/a//b/` and `/a/b` are one path. */
export function pathClaim(p: string): string {
  const n = posix.normalize(p);
  return `path:${n.length > 1 ? n.replace(/\/+$/, '') : n}`;
}

export function unitClaim(unit: string): string {
  return `unit:${unit}`;
}

/** The claims of one resource (its type's own, or `<type>:<id>`). */
export function claimsOf(rt: Pick<ResourceType<unknown>, 'type' | 'id' | 'claims'>, spec: unknown): string[] {
  return rt.claims ? rt.claims(spec) : [`${rt.type}:${rt.id(spec)}`];
}

/** A claim for people: `path /etc/x`, `unit x.service`. */
export function describeClaim(claim: string): string {
  const i = claim.indexOf(':');
  return i < 0 ? claim : `${claim.slice(0, i)} ${claim.slice(i + 1)}`;
}
