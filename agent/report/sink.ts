/** Writes lines to a stream and remembers the last write, so `done()` can wait until it is out. */

import type { Writable } from 'node:stream';

export class LineSink {
  private last: Promise<void> = Promise.resolve();

  constructor(readonly stream: Writable) {}

  line(text: string): void {
    this.write(`${text}\n`);
  }

  write(text: string): void {
    // Writes complete in order, so the last callback firing means all earlier ones have too. An
    // error still resolves: a closed pipe must not make `done()` hang.
    this.last = new Promise((resolve) => {
      this.stream.write(text, () => resolve());
    });
  }

  flush(): Promise<void> {
    return this.last;
  }
}
