/** The two ways subscriber bytes leave: an HTTP response (server-sent events or NDJSON) and a WebSocket. */
import type { ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { StreamFormat } from './format.js';
import type { Sink } from './subscriber.js';

/** A waiting WebSocket subscriber goes on once less than this is left unsent. */
const LOW_WATER_BYTES = 64 * 1024;

/** Close code for a WebSocket subscriber that fell out of the history under the `disconnect` policy. */
export const SLOW_CLOSE_CODE = 4008;

/** An HTTP response carrying server-sent events or NDJSON lines. */
export class ResponseSink implements Sink {
  constructor(
    readonly format: Extract<StreamFormat, 'sse' | 'ndjson'>,
    private readonly res: ServerResponse,
  ) {}

  write(chunk: string | Buffer): void {
    if (!this.res.destroyed) this.res.write(chunk);
  }

  buffered(): number {
    return this.res.writableLength;
  }

  whenDrained(ready: () => void): void {
    if (this.res.writableLength === 0) setImmediate(ready);
    else this.res.once('drain', ready);
  }

  keepAlive(): void {
    this.write(this.format === 'sse' ? ': keep-alive\n\n' : '\n');
  }

  end(reason: 'slow' | 'closing'): void {
    // A slow reader's buffer is full: ending politely would wait for it. Let it go now.
    if (reason === 'slow') this.res.destroy();
    else this.res.end();
  }
}

/** A WebSocket carrying one JSON array of entries per message. */
export class SocketSink implements Sink {
  readonly format = 'ws' as const;
  private drained: (() => void) | undefined;
  /** Pings sent without a pong since; a socket that misses one keep-alive round is dropped. */
  private unanswered = 0;

  constructor(private readonly ws: WebSocket) {
    ws.on('pong', () => {
      this.unanswered = 0;
    });
  }

  write(chunk: string | Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // Called once the data is written to the socket: the moment a waiting subscriber may go on.
    this.ws.send(chunk, { binary: false }, this.afterSend);
  }

  private readonly afterSend = (): void => {
    const ready = this.drained;
    if (ready && this.ws.bufferedAmount < LOW_WATER_BYTES) {
      this.drained = undefined;
      ready();
    }
  };

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  whenDrained(ready: () => void): void {
    if (this.ws.bufferedAmount < LOW_WATER_BYTES) setImmediate(ready);
    else this.drained = ready;
  }

  keepAlive(): void {
    if (this.unanswered > 0) {
      this.ws.terminate();
      return;
    }
    this.unanswered++;
    this.ws.ping();
  }

  end(reason: 'slow' | 'closing'): void {
    if (reason === 'slow') {
      this.ws.close(SLOW_CLOSE_CODE, 'too slow: fell behind the stream history');
      // Its buffer is full: the close frame could wait behind it for long.
      setTimeout(() => this.ws.terminate(), 1_000).unref();
    } else {
      this.ws.close(1001, 'bridge shutting down');
    }
  }
}
