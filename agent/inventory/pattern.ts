/**
 * Ansible host patterns, for `--limit` and a play's `hosts:`:
 *
 *   all  *  web  web1.example.com  web*  *.example.com  ~^web\d+   (one term)
 *   web:db  web,db         union
 *   web:&prod              intersection
 *   web:!web3              exclusion
 *   web[0]  web[1:3]  web[-1]  web[2:]   subscripts of the hosts a term matches
 *
 * Terms are applied as Ansible applies them: unions first, then intersections, then exclusions,
 * whatever order they are written in. A term matches every group whose name it matches (with all
 * hosts in the group and its descendants) and, when it matches no group or is a glob or regex,
 * the hosts whose names it matches. The result is in inventory order.
 *
 * Unlike Ansible, which only warns, a union or intersection term that matches nothing is an error:
 * a typo in --limit must not quietly run against fewer hosts, or none. And where Ansible reads
 * `web-[12]` as a subscript of a `web-` that does not exist, lanes falls back to the glob.
 */
import { LanesError } from '../errors.js';
import { parseAddress } from './address.js';
import { classEnd, fnmatchToRegExp } from './fnmatch.js';
import type { Inventory } from './model.js';
import { byCodePoint } from './vars.js';

// A term followed by [n], [-n], [x:y], [x:] or the old [x-y] (Ansible's PATTERN_WITH_SUBSCRIPT).
const WITH_SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/;

export function selectHosts(inv: Inventory, pattern: string): string[] {
  const terms = splitHostPattern(pattern);
  if (terms.length === 0) {
    throw new LanesError('empty host pattern', { kind: 'pattern', hint: 'use "all" to select every host' });
  }
  const selected = new Set<string>();
  for (const term of orderTerms(terms)) {
    const op = term[0] === '&' || term[0] === '!' ? term[0] : '';
    // A plain host name is taken as is, before any group or glob matching (as Ansible does).
    if (op === '' && inv.hosts.has(term)) {
      selected.add(term);
      continue;
    }
    const matched = matchTerm(inv, op === '' ? term : term.slice(1), term);
    if (op === '!') for (const h of matched) selected.delete(h);
    else if (op === '&') {
      const keep = new Set(matched);
      for (const h of [...selected]) if (!keep.has(h)) selected.delete(h);
    } else for (const h of matched) selected.add(h);
  }
  return [...inv.hosts.keys()].filter((h) => selected.has(h));
}

/**
 * Split a pattern into terms: on commas when there are any; otherwise a single host or address
 * (so an IPv6 address or `web[1:3]` stays whole) or, failing that, on colons outside brackets.
 */
export function splitHostPattern(pattern: string): string[] {
  let terms: string[];
  if (pattern.includes(',')) terms = pattern.split(',');
  else if (parseAddress(pattern) !== undefined) terms = [pattern];
  else {
    checkBrackets(pattern, pattern);
    terms = pattern.match(/(?:[^\s:[\]]|\[[^\]]*\])+/g) ?? [];
  }
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

/** Unions, then intersections, then exclusions; with no union at all, start from 'all'. */
function orderTerms(terms: string[]): string[] {
  const union = terms.filter((t) => t[0] !== '&' && t[0] !== '!');
  const and = terms.filter((t) => t[0] === '&');
  const not = terms.filter((t) => t[0] === '!');
  return [...(union.length > 0 ? union : ['all']), ...and, ...not];
}

/** Host names one term (without its & or !) matches, in group order. */
function matchTerm(inv: Inventory, expr: string, term: string): string[] {
  if (expr === '') {
    throw new LanesError(`host pattern term "${term}" has nothing after "${term}"`, {
      kind: 'pattern',
      hint: 'write &group to intersect and !group to exclude',
    });
  }
  const regex = expr[0] === '~';
  if (!regex) checkBrackets(expr, term);
  const sub = regex ? null : WITH_SUBSCRIPT.exec(expr);
  if (sub) {
    const base = enumerate(inv, sub[1] as string, term);
    if (base.groups > 0 || base.hosts.length > 0) return applySubscript(base.hosts, sub, term);
    // `web-[12]` reads as "index 12 of web-" in Ansible and then matches nothing; when that is
    // so, take it as the glob it also is (web-1 or web-2) rather than failing.
  }
  const { hosts, groups } = enumerate(inv, expr, term);
  if (term[0] !== '!' && hosts.length === 0 && groups === 0) {
    const known = [...inv.groups.keys()].sort(byCodePoint).join(', ');
    throw new LanesError(`host pattern "${term}" matches no host or group in ${inv.sources.join(', ')}`, {
      kind: 'pattern',
      hint: `known groups: ${known}`,
    });
  }
  return hosts;
}

/**
 * Ansible's _enumerate_matches: the hosts of every group whose name matches, then, when no group
 * matched or the expression is a glob or regex, every host whose name matches.
 */
function enumerate(inv: Inventory, expr: string, term: string): { hosts: string[]; groups: number } {
  const regex = expr[0] === '~';
  const test = compile(expr, term);
  const found: string[] = [];
  const seen = new Set<string>();
  const add = (h: string): void => {
    if (!seen.has(h)) {
      seen.add(h);
      found.push(h);
    }
  };
  const groups = [...inv.groups.keys()].filter(test);
  for (const g of groups) for (const h of groupHosts(inv, g)) add(h);
  if (groups.length === 0 || regex || /[.?*[]/.test(expr)) {
    for (const h of inv.hosts.keys()) if (test(h)) add(h);
  }
  return { hosts: found, groups: groups.length };
}

function compile(expr: string, term: string): (name: string) => boolean {
  if (expr[0] !== '~') {
    const re = fnmatchToRegExp(expr);
    return (name) => re.test(name);
  }
  let re: RegExp;
  try {
    // Python's re.match anchors at the start only; the sticky flag does the same in JavaScript.
    re = new RegExp(pythonRegexToJs(expr.slice(1)), 'y');
  } catch (e) {
    throw new LanesError(`invalid regular expression in host pattern "${term}": ${(e as Error).message}`, {
      kind: 'pattern',
      hint: 'a term starting with ~ is a regular expression matched at the start of names, e.g. ~^web\\d+',
    });
  }
  return (name) => {
    re.lastIndex = 0;
    return re.test(name);
  };
}

/** The few Python-only regex spellings people use: named groups and \A / \Z anchors. */
function pythonRegexToJs(src: string): string {
  return src
    .replace(/\(\?P</g, '(?<')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$');
}

/** Hosts of a group and its descendants: its own hosts, then each child's, breadth first. */
export function groupHosts(inv: Inventory, group: string): string[] {
  const order: string[] = [group];
  const queued = new Set(order);
  for (let i = 0; i < order.length; i += 1) {
    for (const c of inv.groups.get(order[i] as string)?.children ?? []) {
      if (!queued.has(c)) {
        queued.add(c);
        order.push(c);
      }
    }
  }
  const out: string[] = [];
  const seen = new Set<string>();
  for (const g of order) {
    for (const h of inv.groups.get(g)?.hosts ?? []) {
      if (!seen.has(h)) {
        seen.add(h);
        out.push(h);
      }
    }
  }
  return out;
}

function applySubscript(hosts: string[], m: RegExpExecArray, term: string): string[] {
  if (hosts.length === 0) return hosts;
  const [, , index, start, , end] = m;
  if (index !== undefined) {
    const i = Number(index);
    const host = i < 0 ? hosts[hosts.length + i] : hosts[i];
    if (host === undefined) {
      throw new LanesError(`subscript in host pattern "${term}" is out of range: it matches ${hosts.length} hosts`, {
        kind: 'pattern',
        hint: `indexes run from 0 to ${hosts.length - 1}, or -1 for the last host`,
      });
    }
    return [host];
  }
  const from = Number(start);
  // Ansible quirk kept: an end of 0 ([x:0]) selects the single host x.
  const to = end === '' || end === undefined ? hosts.length - 1 : Number(end);
  if (to === 0) return hosts[from] === undefined ? [] : [hosts[from] as string];
  return hosts.slice(from, to + 1);
}

/** An unclosed `[` is an error here, where Ansible would take it literally or drop it. */
function checkBrackets(text: string, term: string): void {
  for (let i = 0; i < text.length; i += 1) {
    if (text[i] !== '[') continue;
    const close = classEnd(text, i + 1);
    if (close < 0) {
      throw new LanesError(`unclosed "[" in host pattern "${term}"`, {
        kind: 'pattern',
        hint: 'subscripts look like web[0] or web[1:3]; globs like web-[ab]*',
      });
    }
    i = close;
  }
}
