/**
 * A playbook is checked as a whole: every error of every play and host is collected, identical
 * ones (same place, same message) are reported once with the hosts they concern, and all of them
 * are thrown together as one PlaybookErrors whose format() prints one line per error.
 */
import { LanesError, formatLocation, type SourceLocation } from '../errors.js';

/** How many host names an error line lists before "and N more". */
const MAX_HOSTS_SHOWN = 5;

export class PlaybookErrors extends LanesError {
  readonly errors: LanesError[];

  constructor(errors: LanesError[]) {
    const first = errors[0];
    const single = errors.length === 1 && first !== undefined;
    super(single ? first.message : `${errors.length} errors in the playbook`, {
      kind: 'input',
      location: first?.location,
      host: single ? first.host : undefined,
      hint: single ? first.hint : undefined,
    });
    this.name = 'PlaybookErrors';
    this.errors = errors;
  }

  /** One line per error. */
  override format(): string {
    return this.errors.map((e) => e.format()).join('\n');
  }
}

interface Entry {
  message: string;
  location?: SourceLocation;
  hint?: string;
  hosts: string[];
}

export interface ReportOptions {
  location?: SourceLocation;
  hint?: string;
  host?: string;
}

/** Collects errors, merging identical ones across hosts. */
export class ErrorCollector {
  private readonly entries = new Map<string, Entry>();

  /** @param primaryFile errors in this file (the playbook) are listed first. */
  constructor(private readonly primaryFile?: string) {}

  get size(): number {
    return this.entries.size;
  }

  add(message: string, opts: ReportOptions = {}): void {
    const key = `${opts.location ? formatLocation(opts.location) : ''}\0${message}\0${opts.hint ?? ''}`;
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { message, location: opts.location, hint: opts.hint, hosts: [] };
      this.entries.set(key, entry);
    }
    if (opts.host !== undefined && !entry.hosts.includes(opts.host)) entry.hosts.push(opts.host);
  }

  /** Add a LanesError (or several, for a PlaybookErrors) as it is, noting the host. */
  addError(err: LanesError, host?: string): void {
    if (err instanceof PlaybookErrors) {
      for (const e of err.errors) this.addError(e, host);
      return;
    }
    this.add(err.message, { location: err.location, hint: err.hint, host: host ?? err.host });
  }

  /** The errors, file by file (the playbook first, then in the order files first appear), by line and column within a file. */
  errors(): LanesError[] {
    const files = new Map<string, number>();
    if (this.primaryFile !== undefined) files.set(this.primaryFile, 0);
    for (const e of this.entries.values()) {
      const f = e.location?.file ?? '';
      if (!files.has(f)) files.set(f, files.size);
    }
    const rank = (e: Entry): number[] => [files.get(e.location?.file ?? '') ?? 0, e.location?.line ?? 0, e.location?.column ?? 0];
    const sorted = [...this.entries.values()].sort((a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      for (let i = 0; i < ra.length; i += 1) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
      return 0;
    });
    return sorted.map(
      (e) =>
        new LanesError(e.message + hostsSuffix(e.hosts), {
          kind: 'input',
          location: e.location,
          hint: e.hint,
          host: e.hosts.length === 1 ? e.hosts[0] : undefined,
        }),
    );
  }

  throwIfAny(): void {
    if (this.entries.size > 0) throw new PlaybookErrors(this.errors());
  }
}

function hostsSuffix(hosts: string[]): string {
  if (hosts.length === 0) return '';
  if (hosts.length === 1) return ` (host ${hosts[0]})`;
  const shown = hosts.slice(0, MAX_HOSTS_SHOWN).join(', ');
  const more = hosts.length > MAX_HOSTS_SHOWN ? ` and ${hosts.length - MAX_HOSTS_SHOWN} more` : '';
  return ` (hosts ${shown}${more})`;
}
