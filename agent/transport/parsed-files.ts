/**
 * Files every connection of a run reads (known_hosts, private keys), parsed once while unchanged: a
 * fleet run connects to every host with the same files, and reading and parsing them per connection
 * made connecting cost more with every host. A file is read again when its device, inode, size or
 * modification time differ (an accept-new run appends to known_hosts; a key may be replaced).
 *
 * Connections start together (up to --forks at once): gets of a file while one is under way share it,
 * so the first batch of a run reads and parses each file once, not once per connection.
 */
import { readFile, stat } from 'node:fs/promises';

export class ParsedFiles<T> {
  private readonly parsed = new Map<string, { signature: string; value: T }>();
  private readonly underway = new Map<string, Promise<T>>();

  constructor(private readonly parse: (data: Buffer, name: string) => T) {}

  /** The parsed file `name` (the cache key, and what `parse` is told), read at `path`; rejects as stat and readFile do. */
  get(name: string, path: string = name): Promise<T> {
    let p = this.underway.get(name);
    if (!p) {
      const load = this.load(name, path).finally(() => {
        if (this.underway.get(name) === load) this.underway.delete(name);
      });
      this.underway.set(name, (p = load));
    }
    return p;
  }

  /** After writing one of the files: gets from now on start loads of their own instead of joining one that began before the write. */
  written(): void {
    this.underway.clear();
  }

  private async load(name: string, path: string): Promise<T> {
    const st = await stat(path);
    // Taken before reading: a write between the two makes the next call read the file again.
    const signature = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = this.parsed.get(name);
    if (cached?.signature === signature) return cached.value;
    const value = this.parse(await readFile(path), name);
    this.parsed.set(name, { signature, value });
    return value;
  }
}
