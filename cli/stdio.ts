/**
 * The command's own output. stdout and stderr are guarded so that a reader that goes away
 * (`pagecall serve | head -1`, a pager that quits) never crashes the command, and exits wait a
 * bounded time for what was written to get out.
 */
import { guardOutput, isWritable } from '../bridge/log-sink.js';

/** How long an exit waits for unwritten output (a reader that stopped reading would hold it forever). */
const EXIT_FLUSH_MS = 2_000;

/** Guards process.stdout and process.stderr; call once at start. */
export function guardStdio(): void {
  guardOutput(process.stdout);
  guardOutput(process.stderr);
}

/** Writes to stdout unless its reader is gone. Nothing is dropped while it is there. */
export function print(text: string): void {
  if (isWritable(process.stdout)) process.stdout.write(text);
}

/** Writes to stderr unless its reader is gone. */
export function printError(text: string): void {
  if (isWritable(process.stderr)) process.stderr.write(text);
}

/** Exits with `code` once stdout and stderr have written out what they hold, or after EXIT_FLUSH_MS. */
export function exitWhenFlushed(code: number): void {
  const pending = [process.stdout, process.stderr].filter((stream) => isWritable(stream) && stream.writableLength > 0);
  let left = pending.length;
  if (left === 0) process.exit(code);
  setTimeout(() => process.exit(code), EXIT_FLUSH_MS);
  // An empty write's callback runs once everything written before it is out (or the stream failed).
  for (const stream of pending) {
    stream.write('', () => {
      if (--left === 0) process.exit(code);
    });
  }
}

/** Prints `pagecall: message` to stderr and exits 2 (a usage or configuration error). */
export function fail(message: string): void {
  printError(`pagecall: ${message}\n`);
  exitWhenFlushed(2);
}
