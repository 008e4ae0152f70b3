/**
 * Messages waiting for the bridge, and when they leave. Everything queued during one task goes in
 * one flush (a microtask), packed into as few frames as the bridge's frame limit allows; while a
 * frame from the bridge is being read, the flush waits for the end of it, so the results of the
 * frame's calls leave together.
 */
import type { PageMessage, ResultMessage } from '../../protocol/messages.js';
import { logDebug, queueMicro, socketSend, stringifyJson } from './builtins.js';
import { messageOf } from './error-payload.js';
import { packFrames, sizeIfOver } from './frames.js';

function tooLarge(id: string, message: string): string {
  const failed: ResultMessage = { type: 'result', id, ok: false, error: { code: 'RESULT_TOO_LARGE', name: 'Error', message } };
  return stringifyJson(failed);
}

/** The outgoing queue of one socket. */
export class Outbox {
  /** Largest frame the bridge accepts, in UTF-8 bytes (from its welcome). */
  maxFrameBytes = Infinity;
  private queue: string[] = [];
  private open = false;
  private flushQueued = false;
  private reading = false;
  /** A flush was asked for while a frame was being read. */
  private flushWanted = false;
  private readonly ws: WebSocket;
  private readonly lastWord: () => PageMessage | undefined;

  /** An outbox for `ws`; `lastWord` may add one message at the end of each flush (the function list, when it changed). */
  constructor(ws: WebSocket, lastWord: () => PageMessage | undefined) {
    this.ws = ws;
    this.lastWord = lastWord;
  }

  /** Starts sending (the socket is open). */
  start(): void {
    this.open = true;
  }

  /** Stops sending and drops what waits (the socket is gone). */
  stop(): void {
    this.open = false;
    this.queue = [];
  }

  /** Queues a message. */
  post(message: PageMessage): void {
    this.push(stringifyJson(message));
  }

  /** Queues a message already serialized (published events, built as text by emit.ts). */
  postText(text: string): void {
    this.push(text);
  }

  /** Queues a call's result, or RESULT_TOO_LARGE for it when it cannot fit in a frame or in a string. */
  postResult(message: ResultMessage): void {
    const max = this.maxFrameBytes;
    let text: string;
    let size: number | undefined;
    try {
      text = stringifyJson(message);
      size = sizeIfOver(text, max);
    } catch (error) {
      // Strings past the engine's length limit make stringify throw.
      text = tooLarge(message.id, `the result cannot be serialized: ${messageOf(error)}`);
    }
    if (size !== undefined) text = tooLarge(message.id, `result is ${size} bytes; the bridge accepts at most ${max}`);
    this.push(text);
  }

  /** Asks for a flush even with nothing queued (`lastWord` may have something to say). */
  requestFlush(): void {
    if (this.flushQueued) return;
    if (this.reading) {
      this.flushWanted = true;
      return;
    }
    this.flushQueued = true;
    queueMicro(this.flush);
  }

  /** A frame from the bridge is being read: hold flushes until endRead. */
  beginRead(): void {
    this.reading = true;
  }

  /**
   * The frame is read. The flush is queued now, after the microtasks the frame's async functions
   * queued, so their results leave in the same frame as the plain ones.
   */
  endRead(): void {
    this.reading = false;
    if (this.flushWanted) {
      this.flushWanted = false;
      this.requestFlush();
    }
  }

  private push(text: string): void {
    this.queue.push(text);
    this.requestFlush();
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (!this.open) return;
    const last = this.lastWord();
    if (last !== undefined) this.queue.push(stringifyJson(last));
    const frames = packFrames(this.queue, this.maxFrameBytes);
    this.queue = [];
    for (const frame of frames) {
      try {
        socketSend(this.ws, frame);
      } catch (error) {
        logDebug(`pagecall: could not send a frame: ${messageOf(error)}`);
        return;
      }
    }
  };
}
