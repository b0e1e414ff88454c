/**
 * Output to a closed pipe (`lanes schema | head`, a log shipper that went away) is not an error:
 * lanes stops writing to that stream and carries on quietly. It must not abort the work — a release
 * whose output pipe closes still has to finish or roll back every host — and must not print a stack
 * trace. (Node turns the write failure into an 'error' event; unhandled, that kills the process.)
 */
export function quietOnClosedPipes(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
        // Later writes go nowhere instead of raising again.
        stream.write = (() => true) as typeof stream.write;
        return;
      }
      throw err;
    });
  }
}
