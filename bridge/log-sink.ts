/**
 * Where log lines go without ever stopping the bridge. A write to a pipe whose reader went away
 * fails with EPIPE (an unhandled 'error' event would crash the process), and a synchronous write to
 * a pipe nobody reads blocks the event loop for good (no HTTP, no SIGTERM handler). So output is
 * written asynchronously, a broken stream is dropped for good, and while a reader lags by more than
 * a bound the lines are counted and dropped instead of queued without limit.
 */
import type { Writable } from 'node:stream';

/** How much unwritten output a stream may hold before lines are dropped. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

const broken = new WeakSet<Writable>();
const guarded = new WeakSet<Writable>();

/**
 * Makes a stream safe to write to whatever its reader does: its errors (EPIPE, EIO...) mark it
 * broken instead of crashing the process. Idempotent; one listener per stream.
 */
export function guardOutput(stream: Writable): Writable {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', () => broken.add(stream));
  }
  return stream;
}

/** Whether writes to `stream` can still reach anyone. */
export function isWritable(stream: Writable): boolean {
  return !broken.has(stream) && !stream.destroyed && stream.writable !== false;
}

/**
 * Writes `text` unless the stream is broken or already holds `maxBuffered` unwritten bytes; returns
 * whether it was written. Never throws.
 */
export function writeSafely(stream: Writable, text: string, maxBuffered = MAX_BUFFERED_BYTES): boolean {
  guardOutput(stream);
  if (!isWritable(stream) || stream.writableLength > maxBuffered) return false;
  try {
    stream.write(text);
    return true;
  } catch {
    // A destination that throws synchronously loses this line, never the bridge.
    broken.add(stream);
    return false;
  }
}

/** A pino destination over a stream: lines are formatted (pretty mode), written safely, and counted when dropped. */
export class LogSink {
  private dropped = 0;
  /** Told how many lines were dropped once the reader has caught up (the logger logs a warning). */
  onCaughtUp: ((dropped: number) => void) | undefined;

  constructor(
    private readonly out: Writable,
    private readonly format: ((line: string) => string) | undefined = undefined,
    private readonly maxBuffered = MAX_BUFFERED_BYTES,
  ) {
    guardOutput(out);
  }

  /** Lines dropped since the reader last caught up. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Called by pino with one serialized line. */
  write(line: string): void {
    if (!isWritable(this.out)) return;
    let text = line;
    if (this.format) {
      try {
        text = this.format(line);
      } catch {
        // A line the formatter cannot read goes out as it is.
      }
    }
    if (writeSafely(this.out, text, this.maxBuffered)) return;
    // Only a lagging reader gets a report: a broken stream has nobody to tell.
    if (!isWritable(this.out)) return;
    // An empty write's callback runs once everything queued before it is out: the reader caught up.
    if (this.dropped++ === 0) this.out.write('', this.caughtUp);
  }

  private readonly caughtUp = (error?: Error | null): void => {
    const dropped = this.dropped;
    this.dropped = 0;
    if (!error && isWritable(this.out)) this.onCaughtUp?.(dropped);
  };
}
