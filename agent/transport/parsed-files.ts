/**
 * Files every connection of a run reads (known_hosts, private keys), parsed once while unchanged: a
 * fleet run connects to every host with the same files, and reading and parsing them per connection
 * made connecting cost more with every host. A file is read again when its device, inode, size or
 * modification time differ (an accept-new run appends to known_hosts; a key may be replaced).
 */
import { readFile, stat } from 'node:fs/promises';

export class ParsedFiles<T> {
  private readonly parsed = new Map<string, { signature: string; value: T }>();

  constructor(private readonly parse: (data: Buffer, name: string) => T) {}

  /** The parsed file `name` (the cache key, and what `parse` is told), read at `path`; rejects as stat and readFile do. */
  async get(name: string, path: string = name): Promise<T> {
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
