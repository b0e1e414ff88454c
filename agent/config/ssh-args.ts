/**
 * ssh_args / ssh_common_args / ssh_extra_args from ansible.cfg or ANSIBLE_SSH_*: lanes does not run
 * ssh, so it understands only what its own ssh config support does (agent/transport/ssh-config.ts
 * parseSshArgs: `-o Key=Value` for the keywords below, -p, -l, -i, -J) plus `-F FILE` (the ssh
 * config to read). Everything else in them is named in the "not supported" warning.
 */
import { LanesError } from '../errors.js';

/** ssh's options that take an argument. */
const WITH_ARG = new Set('BbcDEeFIiJLlmOoPpQRSWw'.split(''));
const UNDERSTOOD_FLAGS = new Set(['o', 'p', 'l', 'i', 'J', 'F']);
const UNDERSTOOD_KEYWORDS = new Set([
  'hostname',
  'user',
  'port',
  'identityfile',
  'identitiesonly',
  'proxyjump',
  'proxycommand',
  'userknownhostsfile',
  'stricthostkeychecking',
  'connecttimeout',
  'serveraliveinterval',
]);

export interface SshArgsScan {
  /** -F FILE, when given (the first one wins, as ssh). */
  configFile?: string;
  /** Options lanes does not understand, as written: `-C`, `-o ControlMaster`. */
  unsupported: string[];
}

export function scanSshArgs(args: string, where: string): SshArgsScan {
  const words = splitWords(args, where);
  const out: SshArgsScan = { unsupported: [] };
  const note = (s: string): void => {
    if (!out.unsupported.includes(s)) out.unsupported.push(s);
  };
  for (let i = 0; i < words.length; i += 1) {
    const w = words[i] as string;
    if (w === '--') break;
    if (!w.startsWith('-') || w === '-') {
      note(w);
      continue;
    }
    for (let j = 1; j < w.length; j += 1) {
      const opt = w[j] as string;
      if (!WITH_ARG.has(opt)) {
        note(`-${opt}`);
        continue;
      }
      let value = w.slice(j + 1);
      if (value === '') value = words[++i] ?? '';
      if (!UNDERSTOOD_FLAGS.has(opt)) note(`-${opt}`);
      else if (opt === 'F') out.configFile ??= value;
      else if (opt === 'o') {
        const keyword = (/^\s*([A-Za-z]+)/.exec(value)?.[1] ?? value).toLowerCase();
        if (!UNDERSTOOD_KEYWORDS.has(keyword)) note(`-o ${/^\s*([A-Za-z]+)/.exec(value)?.[1] ?? value}`);
      }
      break;
    }
  }
  return out;
}

/** The parts of `args` lanes ignores (see scanSshArgs); empty when it understands all of it. */
export function unsupportedSshArgs(args: string, where: string): string[] {
  return scanSshArgs(args, where).unsupported;
}

/** Words as a POSIX shell (and Python's shlex.split, which Ansible uses) would cut them: quotes and backslashes. */
export function splitWords(s: string, where: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote = '';
  for (let i = 0; i < s.length; i += 1) {
    const c = s[i] as string;
    if (quote === "'") {
      if (c === "'") quote = '';
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = '';
      else if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\')) cur += s[++i];
      else cur += c;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      inWord = true;
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    }
  }
  if (quote) throw new LanesError(`${where}: unterminated ${quote} quote`, { location: { file: where }, hint: 'close the quote' });
  if (inWord) words.push(cur);
  return words;
}
