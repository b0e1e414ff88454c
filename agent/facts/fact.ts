/**
 * A fact is what lanes reads from a host: a shell snippet and a pure parser of its output.
 * All facts a run needs are read in ONE exec (see gather.ts); each parser is tested on its own
 * against recorded outputs in test/fixtures/facts/, including layouts the lab cannot boot (RHEL).
 */
export interface Fact<T> {
  name: string;
  /** POSIX sh; runs unprivileged unless the run escalates; must not fail the script (errors are data). */
  command: string;
  parse(output: string): T;
}

/** `key value…` lines into [key, value] pairs, skipping blanks. */
export function keyLines(output: string): [string, string][] {
  return output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf(' ');
      return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)];
    });
}
