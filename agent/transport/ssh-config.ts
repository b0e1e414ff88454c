/**
 * What the user's OpenSSH client configuration says about a host — the subset of `ssh -G` that
 * lanes' connector uses — plus Ansible-style extra ssh arguments (`-o Key=Value`, `-J`, `-p`, `-i`,
 * `-l`).
 *
 * The `ssh-config` package is not used for this: it gives no line numbers (needed for errors), does
 * not follow `Include`, runs `Match exec` commands through a shell when computing, and does not
 * implement OpenSSH's quoting, `=` separator and ProxyJump/ProxyCommand precedence. The grammar is
 * small, so it is implemented here after OpenSSH 9's readconf.c:
 *
 * - A line is `Keyword [=] arguments`; keywords are case-insensitive; arguments are split like
 *   OpenSSH's argv_split (single/double quotes, backslash escapes, `#` starting a word ends the
 *   line). Bad quotes, a keyword without argument, extra arguments or a bad value for a keyword
 *   lanes reads are errors with file:line (ssh refuses those files too); keywords lanes does not
 *   read are skipped without checking.
 * - The first obtained value of a keyword wins (earlier matching blocks beat later ones).
 *   IdentityFile accumulates (duplicates dropped). UserKnownHostsFile does NOT accumulate across
 *   lines in OpenSSH: the first line that applies wins with all its file names (checked against
 *   `ssh -G`). ProxyJump and ProxyCommand exclude each other: whichever applies first wins.
 * - `Host` patterns use `*`, `?` and `!negation`, several per line, matched case-sensitively
 *   against the host name as given (before HostName).
 * - `Include` is honoured: relative paths are taken from ~/.ssh, `~` is expanded, globs (`*`, `?`,
 *   `[…]`) are expanded in sorted order, missing files are skipped, nesting is limited to 16 levels.
 *   An Include inside a Host/Match block that does not apply can never activate anything.
 * - `Match` supports `all`, `host`, `originalhost`, `user` and `localuser` (with `!`). Blocks with
 *   any other criterion (`exec`, `canonical`, `final`, `localnetwork`, `tagged`…) are treated as not
 *   matching: lanes never runs `Match exec` commands and does no hostname canonicalisation.
 * - Values are expanded where OpenSSH expands them: HostName takes `%h` and is lowercased;
 *   IdentityFile and UserKnownHostsFile get `~`, `${ENV}` and `%d %h %i %l %L %n %p %r %u %%`
 *   (`%C`, `%j`, `%k` are not supported and are reported as errors). User, ProxyJump and
 *   ProxyCommand are returned as written.
 * - The system-wide /etc/ssh/ssh_config is not read.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir, hostname as osHostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { LanesError, type SourceLocation } from '../errors.js';
import { matchPattern, matchPatternList } from './known-hosts.js';

export interface SshConfigResult {
  /** HostName with %h expanded, lowercased; undefined when the configuration does not set it. */
  hostName?: string;
  user?: string;
  port?: number;
  /** `~`, `${ENV}` and %-tokens expanded; empty when none is configured (the caller's defaults apply). */
  identityFiles: string[];
  identitiesOnly?: boolean;
  /** As written, e.g. 'user@bastion:2222,other'; 'none' means none. See parseJumpSpec(). */
  proxyJump?: string;
  /** As written (tokens not expanded: see expandProxyCommand()); 'none' means none. Run by proxy-command.ts. */
  proxyCommand?: string;
  /** Expanded; empty when not configured (OpenSSH's default is ~/.ssh/known_hosts, ~/.ssh/known_hosts2); ['none'] for none. */
  userKnownHostsFiles: string[];
  /** Normalised to 'yes' | 'no' | 'ask' | 'accept-new' (OpenSSH also accepts true/false/off). */
  strictHostKeyChecking?: string;
  /** Seconds. */
  connectTimeout?: number;
  /** Seconds. */
  serverAliveInterval?: number;
}

export interface SshConfigLookup {
  /**
   * The configuration for `host` (the name as the user would type it after `ssh`). `overrides` are
   * command-line values such as parseSshArgs() returns; like ssh's own -o/-p/-l/-i/-J they are
   * obtained first and so win over the file (IdentityFiles from them come first).
   */
  resolve(host: string, overrides?: Partial<SshConfigResult>): SshConfigResult;
}

/** Environment hooks, mostly for tests. */
export interface SshConfigOptions {
  /** Home directory for `~`, `%d` and relative Include paths (default: os.homedir()). */
  homeDir?: string;
  /** Local user name for `%u` and the default remote user (default: os.userInfo()). */
  localUser?: string;
  /** Local host name for `%l` / `%L` (default: os.hostname()). */
  localHost?: string;
}

const SSH_DEFAULT_PORT = 22;
const MAX_INCLUDE_DEPTH = 16;

// ---------------------------------------------------------------------------------------------
// Line grammar

type Loc = SourceLocation;

function syntaxError(message: string, loc: Loc, hint?: string): LanesError {
  return new LanesError(message, { kind: 'input', location: loc, ...(hint ? { hint } : {}) });
}

/** OpenSSH's argv_split(…, terminate_on_comment = 1). Throws on an unterminated quote. */
function argvSplit(s: string, loc: Loc): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    let arg = '';
    let quote = '';
    for (; i < s.length; i++) {
      const ch = s[i] as string;
      const next = s[i + 1];
      if (ch === '\\') {
        if (next === "'" || next === '"' || next === '\\' || (quote === '' && next === ' ')) {
          i++;
          arg += next;
        } else {
          arg += ch; // unrecognised escape: kept
        }
      } else if (quote === '' && (ch === ' ' || ch === '\t')) {
        break;
      } else if (quote === '' && (ch === '"' || ch === "'")) {
        quote = ch;
      } else if (quote !== '' && ch === quote) {
        quote = '';
      } else {
        arg += ch;
      }
    }
    if (quote !== '') throw syntaxError('invalid quotes', loc);
    out.push(arg);
  }
  return out;
}

interface RawLine {
  /** Lowercased keyword. */
  keyword: string;
  /** The keyword as written, for messages. */
  written: string;
  /** Everything after the keyword and its separator (for ProxyCommand/ProxyJump). */
  rest: string;
  args: string[];
}

/** Split a config line into keyword and arguments like readconf.c; null for blank/comment lines. */
function splitLine(line: string, loc: Loc): RawLine | null {
  const s = line.replace(/[ \t\r\n\f]+$/, '').replace(/^[ \t\r\n]+/, '');
  if (s === '' || s.startsWith('#')) return null;
  const m = /^[^ \t\r\n"=]*/.exec(s);
  const written = m ? m[0] : '';
  if (written === '' || s[written.length] === '"') {
    throw syntaxError(`cannot read a keyword in "${s}"`, loc, 'each line is: Keyword value');
  }
  let rest = s.slice(written.length).replace(/^[ \t\r\n]+/, '');
  if (rest.startsWith('=')) rest = rest.slice(1).replace(/^[ \t\r\n]+/, '');
  if (rest === '') throw syntaxError(`no argument after keyword "${written}"`, loc);
  return { keyword: written.toLowerCase(), written, rest, args: argvSplit(rest, loc) };
}

// ---------------------------------------------------------------------------------------------
// Directives

type OptionKey =
  | 'hostName'
  | 'user'
  | 'port'
  | 'identityFile'
  | 'identitiesOnly'
  | 'proxyJump'
  | 'proxyCommand'
  | 'userKnownHostsFile'
  | 'strictHostKeyChecking'
  | 'connectTimeout'
  | 'serverAliveInterval';

type OptionDirective =
  | { kind: 'option'; key: 'hostName' | 'user' | 'proxyJump' | 'proxyCommand' | 'strictHostKeyChecking' | 'identityFile'; value: string; loc: Loc }
  | { kind: 'option'; key: 'port' | 'connectTimeout' | 'serverAliveInterval'; value: number; loc: Loc }
  | { kind: 'option'; key: 'identitiesOnly'; value: boolean; loc: Loc }
  | { kind: 'option'; key: 'userKnownHostsFile'; value: string[]; loc: Loc };

interface MatchCriterion {
  attr: 'host' | 'originalhost' | 'user' | 'localuser';
  negated: boolean;
  arg: string;
}

type Directive =
  | OptionDirective
  | { kind: 'host'; patterns: string[]; loc: Loc }
  /** `all` → criteria []; `unsupported` → never matches. */
  | { kind: 'match'; criteria: MatchCriterion[]; all: boolean; negatedAll: boolean; unsupported: boolean; loc: Loc }
  | { kind: 'include'; files: Directive[][]; loc: Loc };

const KEYWORDS: Record<string, OptionKey> = {
  hostname: 'hostName',
  user: 'user',
  port: 'port',
  identityfile: 'identityFile',
  identitiesonly: 'identitiesOnly',
  proxyjump: 'proxyJump',
  proxycommand: 'proxyCommand',
  userknownhostsfile: 'userKnownHostsFile',
  stricthostkeychecking: 'strictHostKeyChecking',
  connecttimeout: 'connectTimeout',
  serveraliveinterval: 'serverAliveInterval',
};

/** OpenSSH's a2port(): 1..65535. */
function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** OpenSSH's convtime(): '90', '1m30s', '2h', units s m h d w (case-insensitive). */
function parseTime(text: string): number | undefined {
  if (!/^(\d+[sSmMhHdDwW]?)+$/.test(text)) return undefined;
  const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  let total = 0;
  for (const m of text.matchAll(/(\d+)([sSmMhHdDwW]?)/g)) {
    total += Number(m[1]) * (m[2] ? (unit[m[2].toLowerCase()] ?? 1) : 1);
  }
  return Number.isSafeInteger(total) && total <= 0x7fffffff ? total : undefined;
}

function parseFlag(text: string): boolean | undefined {
  const v = text.toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  return undefined;
}

function parseStrict(text: string): string | undefined {
  const v = text.toLowerCase();
  if (v === 'yes' || v === 'true') return 'yes';
  if (v === 'no' || v === 'false' || v === 'off') return 'no';
  if (v === 'ask' || v === 'accept-new') return v;
  return undefined;
}

function singleArg(raw: RawLine, loc: Loc): string {
  const [arg, ...extra] = raw.args;
  if (arg === undefined || arg === '') throw syntaxError(`missing argument for ${raw.written}`, loc);
  if (extra.length > 0) throw syntaxError(`keyword ${raw.written} has extra arguments at end of line`, loc);
  return arg;
}

/** Build the directive for one of the option keywords lanes reads; undefined for other keywords. */
function optionDirective(raw: RawLine, loc: Loc): OptionDirective | undefined {
  const key = KEYWORDS[raw.keyword];
  switch (key) {
    case undefined:
      return undefined;
    case 'hostName':
    case 'user':
    case 'identityFile':
      return { kind: 'option', key, value: singleArg(raw, loc), loc };
    case 'port': {
      const arg = singleArg(raw, loc);
      const value = parsePort(arg);
      if (value === undefined) throw syntaxError(`bad port '${arg}'`, loc, 'a number from 1 to 65535');
      return { kind: 'option', key, value, loc };
    }
    case 'connectTimeout':
    case 'serverAliveInterval': {
      const arg = singleArg(raw, loc);
      const value = parseTime(arg);
      if (value === undefined) throw syntaxError(`invalid time value '${arg}' for ${raw.written}`, loc, 'seconds, or e.g. 1m30s');
      return { kind: 'option', key, value, loc };
    }
    case 'identitiesOnly': {
      const arg = singleArg(raw, loc);
      const value = parseFlag(arg);
      if (value === undefined) throw syntaxError(`unsupported value '${arg}' for ${raw.written}`, loc, 'yes or no');
      return { kind: 'option', key, value, loc };
    }
    case 'strictHostKeyChecking': {
      const arg = singleArg(raw, loc);
      const value = parseStrict(arg);
      if (value === undefined) {
        throw syntaxError(`unsupported value '${arg}' for ${raw.written}`, loc, 'yes, no, ask or accept-new');
      }
      return { kind: 'option', key, value, loc };
    }
    case 'proxyCommand':
      // The rest of the line, unsplit: it is a shell command.
      return { kind: 'option', key, value: raw.rest, loc };
    case 'proxyJump': {
      // Like parse_jump(): the rest of the line, a '#' starting a comment.
      const spec = (raw.rest.split('#')[0] ?? '').trim();
      if (spec === '') throw syntaxError(`missing argument for ${raw.written}`, loc);
      if (spec.toLowerCase() === 'none') return { kind: 'option', key, value: 'none', loc };
      try {
        parseJumpSpec(spec);
      } catch (err) {
        throw syntaxError(`invalid ProxyJump "${spec}": ${(err as Error).message}`, loc, '[user@]host[:port][,…] or none');
      }
      return { kind: 'option', key, value: spec, loc };
    }
    case 'userKnownHostsFile': {
      if (raw.args.length === 0) throw syntaxError(`missing argument for ${raw.written}`, loc);
      for (const a of raw.args) {
        if (a === '') throw syntaxError(`empty argument for ${raw.written}`, loc);
        if (a.toLowerCase() === 'none' && raw.args.length > 1) {
          throw syntaxError(`${raw.written} "none" must appear alone`, loc);
        }
      }
      const value = raw.args.length === 1 && raw.args[0]?.toLowerCase() === 'none' ? ['none'] : raw.args;
      return { kind: 'option', key, value, loc };
    }
  }
}

const MATCH_LIST_ATTRS = new Set(['host', 'originalhost', 'user', 'localuser']);
/** Criteria lanes recognises but does not evaluate: a block using one never matches. */
const MATCH_UNSUPPORTED_NOARG = new Set(['canonical', 'final']);
const MATCH_UNSUPPORTED_ARG = new Set(['exec', 'localnetwork', 'tagged', 'command', 'sessiontype', 'version', 'localport', 'rdomain']);

function matchDirective(raw: RawLine, loc: Loc): Directive {
  const criteria: MatchCriterion[] = [];
  let unsupported = false;
  let attributes = 0;
  const args = raw.args;
  for (let i = 0; i < args.length; i++) {
    const written = args[i] as string;
    const negated = written.startsWith('!');
    const attr = (negated ? written.slice(1) : written).toLowerCase();
    if (attr === 'all') {
      if (attributes > 0 || i + 1 < args.length) {
        throw syntaxError(`'${written}' cannot be combined with other Match attributes`, loc);
      }
      return { kind: 'match', criteria, all: true, negatedAll: negated, unsupported, loc };
    }
    attributes++;
    if (MATCH_UNSUPPORTED_NOARG.has(attr)) {
      unsupported = true;
      continue;
    }
    if (!MATCH_LIST_ATTRS.has(attr) && !MATCH_UNSUPPORTED_ARG.has(attr)) {
      throw syntaxError(`unsupported Match attribute ${written}`, loc, 'all, host, originalhost, user, localuser, exec, …');
    }
    const arg = args[++i];
    if (arg === undefined || arg === '') throw syntaxError(`missing Match criteria for ${written}`, loc);
    if (MATCH_UNSUPPORTED_ARG.has(attr)) unsupported = true;
    else criteria.push({ attr: attr as MatchCriterion['attr'], negated, arg });
  }
  if (attributes === 0) throw syntaxError('one or more attributes required for Match', loc);
  return { kind: 'match', criteria, all: false, negatedAll: false, unsupported, loc };
}

// ---------------------------------------------------------------------------------------------
// Include and glob

function hasMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** A glob(3) path component as a regular expression: `*`, `?`, `[…]` / `[!…]`, `\x`. */
function componentRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i] as string);
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`, 's');
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Expand an absolute glob pattern to existing paths, sorted (glob(3) without GLOB_PERIOD). */
function globSync(pattern: string): string[] {
  if (!hasMagic(pattern)) return existsSync(pattern) ? [pattern] : [];
  const parts = pattern.split('/').filter((p, i) => p !== '' || i === 0);
  let bases = [parts[0] === '' ? '' : '.'];
  for (const part of parts.slice(1)) {
    if (!hasMagic(part)) {
      bases = bases.map((b) => `${b}/${part}`);
      continue;
    }
    const re = componentRegExp(part);
    const next: string[] = [];
    for (const b of bases) {
      let names: string[];
      try {
        names = readdirSync(b === '' ? '/' : b);
      } catch {
        continue;
      }
      for (const n of names) {
        if (n.startsWith('.') && !part.startsWith('.')) continue;
        if (re.test(n)) next.push(`${b}/${n}`);
      }
    }
    bases = next;
  }
  return bases.filter((p) => existsSync(p)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

interface Env {
  home: string;
  localUser: string;
  localHost: string;
}

function envFrom(options: SshConfigOptions): Env {
  let user = options.localUser;
  if (user === undefined) {
    try {
      user = userInfo().username;
    } catch {
      user = process.env.USER ?? process.env.LOGNAME ?? '';
    }
  }
  return { home: options.homeDir ?? homedir(), localUser: user, localHost: options.localHost ?? osHostname() };
}

/** `~` and `~/…` (and `~me/…` for the current user); other users' homes are not looked up. */
function expandTilde(path: string, env: Env, loc: Loc): string {
  if (!path.startsWith('~')) return path;
  const slash = path.indexOf('/');
  const who = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const rest = slash < 0 ? '' : path.slice(slash);
  if (who === '' || who === env.localUser) return env.home + rest;
  throw syntaxError(`cannot expand ~${who} in "${path}": lanes only expands the current user's ~`, loc);
}

class ConfigParser {
  constructor(private readonly env: Env) {}

  parseText(text: string, file: string, depth: number): Directive[] {
    const out: Directive[] = [];
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const loc: Loc = { file, line: i + 1 };
      const raw = splitLine(lines[i] ?? '', loc);
      if (!raw) continue;
      if (raw.keyword === 'host') {
        if (raw.args.length === 0) throw syntaxError('missing argument for Host', loc);
        if (raw.args.some((a) => a === '')) throw syntaxError('empty argument for Host', loc);
        out.push({ kind: 'host', patterns: raw.args, loc });
      } else if (raw.keyword === 'match') {
        out.push(matchDirective(raw, loc));
      } else if (raw.keyword === 'include') {
        out.push(this.include(raw, loc, depth));
      } else {
        const d = optionDirective(raw, loc);
        if (d) out.push(d);
      }
    }
    return out;
  }

  private include(raw: RawLine, loc: Loc, depth: number): Directive {
    if (raw.args.length === 0) throw syntaxError('missing argument for Include', loc);
    if (depth >= MAX_INCLUDE_DEPTH) throw syntaxError('too many recursive configuration includes', loc);
    const files: Directive[][] = [];
    for (const arg of raw.args) {
      if (arg === '') throw syntaxError('empty argument for Include', loc);
      const path = arg.startsWith('/') || arg.startsWith('~') ? expandTilde(arg, this.env, loc) : join(this.env.home, '.ssh', arg);
      for (const file of globSync(path)) {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (err) {
          throw syntaxError(`cannot read included file ${file}: ${(err as Error).message}`, loc);
        }
        files.push(this.parseText(text, file, depth + 1));
      }
    }
    return { kind: 'include', files, loc };
  }
}

// ---------------------------------------------------------------------------------------------
// Resolution

interface Valued<T> {
  value: T;
  loc: Loc;
}

interface State {
  hostName?: Valued<string>;
  user?: string;
  port?: number;
  identityFiles: Valued<string>[];
  identitiesOnly?: boolean;
  proxyJump?: string;
  proxyCommand?: string;
  userKnownHostsFiles?: Valued<string[]>;
  strictHostKeyChecking?: string;
  connectTimeout?: number;
  serverAliveInterval?: number;
}

/** Apply one option with OpenSSH's "first obtained value wins". */
function apply(st: State, d: OptionDirective): void {
  switch (d.key) {
    case 'hostName':
      st.hostName ??= { value: d.value, loc: d.loc };
      break;
    case 'user':
      st.user ??= d.value;
      break;
    case 'port':
      st.port ??= d.value;
      break;
    case 'identityFile':
      if (!st.identityFiles.some((f) => f.value === d.value)) st.identityFiles.push({ value: d.value, loc: d.loc });
      break;
    case 'identitiesOnly':
      st.identitiesOnly ??= d.value;
      break;
    case 'proxyJump':
      if (st.proxyJump === undefined && st.proxyCommand === undefined) st.proxyJump = d.value;
      break;
    case 'proxyCommand':
      if (st.proxyJump === undefined && st.proxyCommand === undefined) st.proxyCommand = d.value;
      break;
    case 'userKnownHostsFile':
      st.userKnownHostsFiles ??= { value: d.value, loc: d.loc };
      break;
    case 'strictHostKeyChecking':
      st.strictHostKeyChecking ??= d.value;
      break;
    case 'connectTimeout':
      st.connectTimeout ??= d.value;
      break;
    case 'serverAliveInterval':
      st.serverAliveInterval ??= d.value;
      break;
  }
}

/** OpenSSH's percent_expand(): `%%` and the given single-letter tokens; anything else is an error. */
function percentExpand(s: string, tokens: Record<string, string>, what: string, loc: Loc): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c !== '%') {
      out += c;
      continue;
    }
    const t = s[++i];
    if (t === '%') out += '%';
    else if (t !== undefined && Object.hasOwn(tokens, t)) out += tokens[t];
    else if (t === undefined) throw syntaxError(`${what} "${s}" ends with a lone %`, loc);
    else throw syntaxError(`${what} "${s}" uses %${t}, which lanes does not expand`, loc, `supported: %${Object.keys(tokens).join(' %')} %%`);
  }
  return out;
}

/** OpenSSH's dollar_expand(): `${NAME}` from the environment; an unset variable is an error. */
function dollarExpand(s: string, what: string, loc: Loc): string {
  return s.replace(/\$\{([^}]*)\}|\$\{/g, (whole, name: string | undefined) => {
    if (name === undefined) throw syntaxError(`${what} "${s}" has \${ without a closing }`, loc);
    const v = process.env[name];
    if (v === undefined) throw syntaxError(`${what} "${s}" uses \${${name}}, which is not set`, loc);
    return v;
  });
}

function hostBlockMatches(patterns: string[], host: string): boolean {
  let active = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    if (matchPattern(host, negated ? p.slice(1) : p)) {
      if (negated) return false;
      active = true;
    }
  }
  return active;
}

class Lookup implements SshConfigLookup {
  constructor(
    private readonly directives: Directive[],
    private readonly env: Env,
  ) {}

  resolve(host: string, overrides: Partial<SshConfigResult> = {}): SshConfigResult {
    const st = seed(overrides);
    this.walk(this.directives, st, host, { active: true }, false);
    return this.finish(st, host);
  }

  private walk(ds: Directive[], st: State, host: string, ctx: { active: boolean }, neverMatch: boolean): void {
    for (const d of ds) {
      switch (d.kind) {
        case 'host':
          ctx.active = !neverMatch && hostBlockMatches(d.patterns, host);
          break;
        case 'match':
          ctx.active = !neverMatch && this.matchApplies(d, st, host);
          break;
        case 'include': {
          // Includes share the enclosing active state; a Match/Host inside one does not leak out.
          const outer = ctx.active;
          for (const file of d.files) {
            this.walk(file, st, host, ctx, neverMatch || !outer);
            ctx.active = outer;
          }
          break;
        }
        case 'option':
          if (ctx.active) apply(st, d);
          break;
      }
    }
  }

  private matchApplies(d: Extract<Directive, { kind: 'match' }>, st: State, host: string): boolean {
    if (d.unsupported) return false;
    if (d.all) return !d.negatedAll;
    // As in match_cfg_line(): `host` is HostName so far (with %h) or the original name.
    const current = st.hostName ? percentExpand(st.hostName.value, { h: host }, 'HostName', st.hostName.loc) : host;
    const ruser = st.user ?? this.env.localUser;
    for (const c of d.criteria) {
      let r: boolean;
      if (c.attr === 'host') r = matchPatternList(current, c.arg, true);
      else if (c.attr === 'originalhost') r = matchPatternList(host, c.arg, true);
      else if (c.attr === 'user') r = matchPatternList(ruser, c.arg, false);
      else r = matchPatternList(this.env.localUser, c.arg, false);
      if (r === c.negated) return false;
    }
    return true;
  }

  private finish(st: State, host: string): SshConfigResult {
    const hostName = st.hostName
      ? percentExpand(st.hostName.value, { h: host }, 'HostName', st.hostName.loc).toLowerCase()
      : undefined;
    const port = st.port ?? SSH_DEFAULT_PORT;
    const tokens: Record<string, string> = {
      d: this.env.home,
      h: hostName ?? host.toLowerCase(),
      i: String(process.getuid?.() ?? ''),
      l: this.env.localHost,
      L: this.env.localHost.split('.')[0] ?? '',
      n: host,
      p: String(port),
      r: st.user ?? this.env.localUser,
      u: this.env.localUser,
    };
    const expandPath = (v: string, loc: Loc, what: string): string =>
      percentExpand(dollarExpand(expandTilde(v, this.env, loc), what, loc), tokens, what, loc);

    const identityFiles: string[] = [];
    for (const f of st.identityFiles) {
      const p = expandPath(f.value, f.loc, 'IdentityFile');
      if (!identityFiles.includes(p)) identityFiles.push(p);
    }
    const ukh = st.userKnownHostsFiles;
    const userKnownHostsFiles = !ukh
      ? []
      : ukh.value.length === 1 && ukh.value[0] === 'none'
        ? ['none']
        : ukh.value.map((v) => expandPath(v, ukh.loc, 'UserKnownHostsFile'));

    const result: SshConfigResult = { identityFiles, userKnownHostsFiles };
    if (hostName !== undefined) result.hostName = hostName;
    if (st.user !== undefined) result.user = st.user;
    if (st.port !== undefined) result.port = st.port;
    if (st.identitiesOnly !== undefined) result.identitiesOnly = st.identitiesOnly;
    if (st.proxyJump !== undefined) result.proxyJump = st.proxyJump;
    if (st.proxyCommand !== undefined) result.proxyCommand = st.proxyCommand;
    if (st.strictHostKeyChecking !== undefined) result.strictHostKeyChecking = st.strictHostKeyChecking;
    if (st.connectTimeout !== undefined) result.connectTimeout = st.connectTimeout;
    if (st.serverAliveInterval !== undefined) result.serverAliveInterval = st.serverAliveInterval;
    return result;
  }
}

const COMMAND_LINE: Loc = { file: 'command line' };

function seed(o: Partial<SshConfigResult>): State {
  const st: State = { identityFiles: [] };
  if (o.hostName !== undefined) st.hostName = { value: o.hostName, loc: COMMAND_LINE };
  if (o.user !== undefined) st.user = o.user;
  if (o.port !== undefined) st.port = o.port;
  for (const f of o.identityFiles ?? []) {
    if (!st.identityFiles.some((x) => x.value === f)) st.identityFiles.push({ value: f, loc: COMMAND_LINE });
  }
  if (o.identitiesOnly !== undefined) st.identitiesOnly = o.identitiesOnly;
  if (o.proxyJump !== undefined) st.proxyJump = o.proxyJump;
  else if (o.proxyCommand !== undefined) st.proxyCommand = o.proxyCommand;
  if (o.userKnownHostsFiles !== undefined && o.userKnownHostsFiles.length > 0) {
    st.userKnownHostsFiles = { value: o.userKnownHostsFiles, loc: COMMAND_LINE };
  }
  if (o.strictHostKeyChecking !== undefined) st.strictHostKeyChecking = o.strictHostKeyChecking;
  if (o.connectTimeout !== undefined) st.connectTimeout = o.connectTimeout;
  if (o.serverAliveInterval !== undefined) st.serverAliveInterval = o.serverAliveInterval;
  return st;
}

export function parseSshConfigText(text: string, file: string, options: SshConfigOptions = {}): SshConfigLookup {
  const env = envFrom(options);
  return new Lookup(new ConfigParser(env).parseText(text, file, 0), env);
}

/**
 * Load an OpenSSH client configuration: `file` if given, else $LANES_SSH_CONFIG, else
 * ~/.ssh/config. The default file may be missing (an empty configuration); a file named
 * explicitly must exist. 'none' (as for `ssh -F none`) gives an empty configuration.
 */
export async function loadSshConfig(file?: string, options: SshConfigOptions = {}): Promise<SshConfigLookup> {
  const env = envFrom(options);
  const explicit = file ?? (process.env.LANES_SSH_CONFIG || undefined);
  if (explicit === 'none') return new Lookup([], env);
  const path = explicit ? expandTilde(explicit, env, { file: explicit }) : join(env.home, '.ssh', 'config');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return new Lookup([], env);
    throw new LanesError(`cannot read ssh config: ${(err as Error).message}`, { kind: 'input', location: { file: path }, cause: err });
  }
  return new Lookup(new ConfigParser(env).parseText(text, path, 0), env);
}

// ---------------------------------------------------------------------------------------------
// Command-line arguments (Ansible's ansible_ssh_common_args / ansible_ssh_extra_args)

/** ssh(1) options that take an argument (OpenSSH 9 getopt string); the others are flags. */
const SSH_OPTS_WITH_ARG = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));

/** POSIX shell-like splitting as Python's shlex.split() (which Ansible uses for these variables). */
function shellSplit(s: string, where: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  const fail = (what: string): never => {
    throw new LanesError(`${what} in ssh arguments: ${s}`, { kind: 'input', location: { file: where } });
  };
  for (let i = 0; i < s.length; ) {
    const c = s[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) fail('unterminated single quote');
      cur += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) fail('unterminated double quote');
        const ch = s[i] as string;
        if (ch === '"') break;
        if (ch === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) {
          cur += s[i + 1];
          i += 2;
        } else {
          cur += ch;
          i++;
        }
      }
      i++;
    } else if (c === '\\') {
      if (i + 1 >= s.length) fail('trailing backslash');
      cur += s[i + 1];
      i += 2;
    } else {
      cur += c;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/**
 * The settings in extra ssh arguments, in ssh's own precedence (first obtained wins; -i
 * accumulates). Handles `-o Key=Value` / `-o 'Key Value'` (one argument, as for ssh), `-J`, `-p`,
 * `-i`, `-l`, joined forms (`-p2222`, `-oUser=x`) and flag clusters (`-vvA`). Other options and
 * keywords are ignored. Values are raw except for `~` in IdentityFile/UserKnownHostsFile; pass
 * the result to `SshConfigLookup.resolve(host, overrides)` for %-tokens and the file's values.
 */
export function parseSshArgs(args: string, where: string): Partial<SshConfigResult> {
  const env = envFrom({});
  const loc: Loc = { file: where };
  const st: State = { identityFiles: [] };
  const words = shellSplit(args, where);
  const bad = (message: string, hint?: string): LanesError =>
    new LanesError(message, { kind: 'input', location: loc, ...(hint ? { hint } : {}) });

  const option = (opt: string, value: string): void => {
    switch (opt) {
      case 'o': {
        const raw = splitLine(value, loc);
        if (!raw) return;
        const d = optionDirective(raw, loc);
        if (d) apply(st, d);
        return;
      }
      case 'p': {
        const port = parsePort(value);
        if (port === undefined) throw bad(`bad port '${value}' in -p`, 'a number from 1 to 65535');
        st.port ??= port;
        return;
      }
      case 'l':
        if (value === '') throw bad('missing user name after -l');
        st.user ??= value;
        return;
      case 'i':
        if (value === '') throw bad('missing file name after -i');
        apply(st, { kind: 'option', key: 'identityFile', value, loc });
        return;
      case 'J': {
        // As ssh: -J after any jump host (-J or -o ProxyJump) or after -o ProxyCommand is refused.
        if (st.proxyJump !== undefined) throw bad('only a single -J option is permitted', 'use commas to separate jump hosts');
        if (st.proxyCommand !== undefined) throw bad('cannot specify -J with ProxyCommand');
        const spec = value.trim();
        if (spec.toLowerCase() !== 'none') {
          try {
            parseJumpSpec(spec);
          } catch (err) {
            throw bad(`invalid -J argument "${spec}": ${(err as Error).message}`, '[user@]host[:port][,…]');
          }
        }
        apply(st, { kind: 'option', key: 'proxyJump', value: spec.toLowerCase() === 'none' ? 'none' : spec, loc });
        return;
      }
      default:
        return;
    }
  };

  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (w === '--') break;
    if (!w.startsWith('-') || w === '-') continue; // not an option: ignored
    for (let j = 1; j < w.length; j++) {
      const opt = w[j] as string;
      if (!SSH_OPTS_WITH_ARG.has(opt)) continue; // a flag
      let value = w.slice(j + 1);
      if (value === '') {
        const next = words[++i];
        if (next === undefined) throw bad(`option -${opt} needs an argument`);
        value = next;
      }
      option(opt, value);
      break;
    }
  }

  const out: Partial<SshConfigResult> = {};
  if (st.hostName) out.hostName = st.hostName.value;
  if (st.user !== undefined) out.user = st.user;
  if (st.port !== undefined) out.port = st.port;
  if (st.identityFiles.length > 0) out.identityFiles = st.identityFiles.map((f) => expandTilde(f.value, env, f.loc));
  if (st.identitiesOnly !== undefined) out.identitiesOnly = st.identitiesOnly;
  if (st.proxyJump !== undefined) out.proxyJump = st.proxyJump;
  if (st.proxyCommand !== undefined) out.proxyCommand = st.proxyCommand;
  if (st.userKnownHostsFiles) {
    const u = st.userKnownHostsFiles;
    out.userKnownHostsFiles = u.value.map((v) => (v === 'none' ? v : expandTilde(v, env, u.loc)));
  }
  if (st.strictHostKeyChecking !== undefined) out.strictHostKeyChecking = st.strictHostKeyChecking;
  if (st.connectTimeout !== undefined) out.connectTimeout = st.connectTimeout;
  if (st.serverAliveInterval !== undefined) out.serverAliveInterval = st.serverAliveInterval;
  return out;
}

// ---------------------------------------------------------------------------------------------
// ProxyJump

/**
 * A ProxyJump / -J value as the chain of hops, first hop first: `[user@]host[:port]`, `[v6addr]:port`
 * or `ssh://[user@]host[:port]`, comma-separated. 'none' is the empty chain. Throws a LanesError
 * (kind 'input') for a malformed hop.
 */
export function parseJumpSpec(spec: string): { user?: string; host: string; port?: number }[] {
  const s = spec.trim();
  if (s.toLowerCase() === 'none') return [];
  if (s === '') throw new LanesError('empty jump host specification', { kind: 'input' });
  return s.split(',').map((hop) => parseHop(hop, spec));
}

function parseHop(hop: string, spec: string): { user?: string; host: string; port?: number } {
  const fail = (why: string): never => {
    throw new LanesError(`bad jump host "${hop}" in "${spec}": ${why}`, {
      kind: 'input',
      hint: '[user@]host[:port], hops separated by commas',
    });
  };
  let s = hop;
  if (/^ssh:\/\//i.test(s)) {
    s = s.slice('ssh://'.length).replace(/\/$/, '');
    if (s.includes('/')) fail('a path is not allowed');
  }
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    if (user === '') fail('empty user name');
    s = s.slice(at + 1);
  }
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) fail('unclosed [');
    host = s.slice(1, close);
    const after = s.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail(`unexpected "${after}" after ]`);
    portText = after.slice(1);
  } else {
    const colon = s.indexOf(':');
    host = colon < 0 ? s : s.slice(0, colon);
    portText = colon < 0 ? undefined : s.slice(colon + 1);
  }
  if (host === '') fail('empty host name');
  if (/[\s/]/.test(host)) fail('bad character in host name');
  const out: { user?: string; host: string; port?: number } = { host };
  if (user !== undefined) out.user = user;
  if (portText !== undefined && portText !== '') {
    const port = parsePort(portText);
    if (port === undefined) fail(`bad port "${portText}"`);
    out.port = port;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ProxyCommand

/**
 * A ProxyCommand with its %-tokens expanded as ssh does when it runs it: `%h` the host name after
 * HostName, `%n` the name as given, `%p` the port, `%r` the remote user, `%%` a percent sign. The
 * values are substituted as they are, without quoting — exactly as OpenSSH, so a config written
 * for ssh behaves the same here. An unknown token is an error naming the host.
 */
export function expandProxyCommand(command: string, tokens: { h: string; n: string; p: string; r: string }, host: string): string {
  try {
    return percentExpand(command, tokens, 'ProxyCommand', { file: 'ProxyCommand' });
  } catch (err) {
    const why = err instanceof LanesError ? err.message : String(err);
    throw new LanesError(why, { kind: 'input', host, hint: 'ProxyCommand takes %h %n %p %r and %%' });
  }
}
