/**
 * How a simulated host answers lanes' remote commands from state recorded on a real lab host. Pure
 * (no I/O), so it is unit-tested on its own.
 *
 *   become    lanes' sudo wrapper (agent/transport/sudo.ts) is recognised and unwrapped: the simulator
 *             prints the wrapper's sentinel on stderr as the real `sudo -n` does, then runs the inner
 *             command — the simulated inventory uses the same `ansible_become: true` as the lab.
 *   gather    a fact script (agent/facts/gather.ts: `echo '@@NONCE begin KEY'` / `( COMMAND )` /
 *             `echo "@@NONCE end KEY $?"`) is answered section by section with the output and exit
 *             code recorded for that exact COMMAND, under the script's own nonce and keys.
 *   lease     the lease scripts of agent/rollout/lock.ts (acquire, release, renew, break) answer as on a
 *             host nobody else holds: `acquired`, `released`, `renewed`, `absent`.
 *   anything else exits 127 naming what it could not answer, so a simulated host never fakes success.
 */
import { STDIN_SCRIPT_COMMAND } from '../../agent/remote/sh.js';

export interface RecordedFact {
  output: string;
  rc: number;
}

export interface Recording {
  /** The lab host it was recorded on, and its host vars that change the desired state (nginx_listen). */
  host: string;
  vars: Record<string, string>;
  /** The raw output and exit code of each fact command, keyed by the command text. */
  facts: Record<string, RecordedFact>;
}

export interface ExecAnswer {
  stdout: string;
  stderr: string;
  code: number;
  /** Sections of a gather script the recording had no answer for (their commands' first lines). */
  unanswered: string[];
}

/** Does this exec read its script from stdin (the simulator must wait for stdin's end first)? */
export interface ExecPlan {
  /** stderr to print at once: the sudo sentinel, which lanes waits for before it sends stdin. */
  becomeStderr: string;
  inner: string;
  readsStdin: boolean;
}

/** POSIX sh words of a command line made by shq/shCommand: bare words, '…' and the '\'' escape. */
export function shWords(line: string): string[] {
  const words: string[] = [];
  let cur: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated quote');
      cur = (cur ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '\\' && i + 1 < line.length) {
      cur = (cur ?? '') + line[++i];
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else cur = (cur ?? '') + c;
  }
  if (cur !== undefined) words.push(cur);
  return words;
}

/** Unwrap lanes' sudo wrapper: `sudo -H -n -u USER -- /bin/sh -c INNER COMMAND`. */
export function planExec(command: string): ExecPlan {
  let inner = command;
  let becomeStderr = '';
  if (command.startsWith('sudo ')) {
    const words = shWords(command);
    const sentinel = /LANES-BECOME-OK-[0-9a-f]+/.exec(words[words.length - 2] ?? '');
    if (!sentinel) throw new Error('a sudo command that is not lanes\' wrapper');
    becomeStderr = `${sentinel[0]}\n`;
    inner = words[words.length - 1]!;
  }
  return { becomeStderr, inner, readsStdin: inner === STDIN_SCRIPT_COMMAND };
}

const SECTION = /^echo '@@([0-9a-f]+) begin (\S+)'\n\( ([\s\S]*?)\n\)\necho "@@\1 end \2 \$\?"$/gm;

/** The sections of a gather script: nonce, key and command of each, in order. */
export function gatherSections(script: string): { nonce: string; key: string; command: string }[] {
  return [...script.matchAll(SECTION)].map((m) => ({ nonce: m[1]!, key: m[2]!, command: m[3]! }));
}

/** The raw output of a real run of a gather script, split back into each section's output and exit code. */
export function splitGathered(script: string, output: string): Record<string, RecordedFact> {
  const facts: Record<string, RecordedFact> = {};
  for (const s of gatherSections(script)) {
    const begin = `@@${s.nonce} begin ${s.key}\n`;
    const from = output.indexOf(begin);
    const endRe = new RegExp(`^@@${s.nonce} end ${s.key} (\\d+)$`, 'm');
    const rest = from < 0 ? '' : output.slice(from + begin.length);
    const end = endRe.exec(rest);
    if (from < 0 || !end) throw new Error(`the recording run cut section ${s.key} short`);
    facts[s.command] = { output: rest.slice(0, end.index), rc: Number(end[1]) };
  }
  return facts;
}

function answerGather(script: string, rec: Recording): ExecAnswer {
  const out: string[] = [];
  const unanswered: string[] = [];
  for (const s of gatherSections(script)) {
    const fact = rec.facts[s.command];
    if (!fact) {
      unanswered.push(s.command.split('\n')[0]!);
      continue;
    }
    out.push(`@@${s.nonce} begin ${s.key}\n${fact.output}@@${s.nonce} end ${s.key} ${fact.rc}\n`);
  }
  if (unanswered.length) {
    return { stdout: '', stderr: `lanes-sim: no recorded answer for ${unanswered.length} fact(s), first: ${unanswered[0]}\n`, code: 127, unanswered };
  }
  return { stdout: out.join(''), stderr: '', code: 0, unanswered };
}

/** The frame a lease script of agent/rollout/lock.ts prints on a host no other run holds. */
function answerLease(script: string): ExecAnswer | undefined {
  const nonce = /^LANES_NONCE=([0-9a-f]+)$/m.exec(script)?.[1];
  if (!nonce || !script.includes('guard_d=')) return undefined;
  const kind = script.includes('lanes_say acquired-expired')
    ? 'acquired'
    : script.includes('lanes_say not-ours')
      ? 'released'
      : script.includes('lanes_say renewed')
        ? 'renewed'
        : script.includes('lanes_say broken')
          ? 'absent'
          : undefined;
  return kind ? { stdout: `@@${nonce} ${kind}\n`, stderr: '', code: 0, unanswered: [] } : undefined;
}

/** The answer to one exec: `plan` from planExec, `stdin` all the command read (when it reads stdin). */
export function answerExec(plan: ExecPlan, stdin: string, rec: Recording): ExecAnswer {
  const script = plan.readsStdin ? stdin : plan.inner;
  let answer: ExecAnswer | undefined;
  if (gatherSections(script).length > 0) answer = answerGather(script, rec);
  else answer = answerLease(script);
  answer ??= { stdout: '', stderr: `lanes-sim: cannot answer: ${script.split('\n')[0]!.slice(0, 120)}\n`, code: 127, unanswered: [] };
  return { ...answer, stderr: plan.becomeStderr + answer.stderr };
}
