/**
 * One subscriber of a topic: a cursor into the topic's history and a sink it writes to. While it
 * keeps up, every batch of entries is written as it arrives, framed once for all subscribers of the
 * same format. When its sink holds more than `maxBytes` unsent, it stops taking batches and, once
 * the sink drains, catches up from the history; what the history no longer holds is reported as a
 * gap (policy `drop`) or ends the stream (policy `disconnect`). A slow subscriber never holds more
 * than its sink's bytes and never slows the page or the other subscribers.
 */
import { frameEntries, frameLocalGap, localGapJson, type Entry, type GapReason, type StreamFormat } from './format.js';
import type { History } from './history.js';

/** Where a subscriber's bytes go: an HTTP response (SSE or NDJSON) or a WebSocket. */
export interface Sink {
  readonly format: StreamFormat;
  /** Writes framed text (or the same text as bytes, shared by every subscriber of the format). */
  write(chunk: string | Buffer): void;
  /** Bytes written and not yet sent. */
  buffered(): number;
  /** Calls `ready` once what is buffered has gone out. */
  whenDrained(ready: () => void): void;
  /** Sends a keep-alive (SSE comment, empty NDJSON line, WebSocket ping). */
  keepAlive(): void;
  /** Ends the stream: `slow` (the subscriber fell out of the history, policy disconnect) or `closing` (the bridge stops). */
  end(reason: 'slow' | 'closing'): void;
}

/** What a slow subscriber costs: the policy when it falls behind the history. */
export type SlowPolicy = 'drop' | 'disconnect';

/** The topic as a subscriber sees it. */
export interface TopicView {
  readonly group: string;
  readonly topic: string;
  readonly epoch: string;
  readonly history: History;
  /** Sequence number of the newest entry (0 before the first). */
  readonly seq: number;
  /** Counts entries a subscriber missed (it fell behind the history). */
  countMissed(n: number): void;
}

/** Entries published together by one page (or one gap about the cluster): framed at most once per format. */
export class Batch {
  private readonly framed: Partial<Record<StreamFormat, Buffer>> = {};

  constructor(
    readonly entries: readonly Entry[],
    readonly clientId: string,
    private readonly epoch: string,
  ) {}

  /** Sequence number of the first entry. */
  get firstSeq(): number {
    return this.entries[0]!.seq;
  }

  /** Sequence number of the last entry. */
  get lastSeq(): number {
    return this.entries[this.entries.length - 1]!.seq;
  }

  /** The entries framed for `format`, encoded once and shared by every subscriber that reads it. */
  frame(format: StreamFormat): Buffer {
    let framed = this.framed[format];
    if (!framed) {
      framed = Buffer.from(frameEntries(this.entries, format, this.epoch));
      this.framed[format] = framed;
    }
    return framed;
  }
}

/** Entries written per step while catching up, so one subscriber never holds the event loop long. */
const CATCH_UP_ENTRIES = 500;

/** One subscriber. */
export class Subscriber {
  /** Sequence number of the last entry written or passed over (not this subscriber's page). */
  private cursor: number;
  private waiting = false;
  private closed = false;
  /** Entries written. */
  sent = 0;
  /** Entries it missed because it fell behind the history. */
  missed = 0;
  /** When something was last written (for keep-alives). */
  lastWrite = Date.now();

  constructor(
    private readonly topic: TopicView,
    readonly sink: Sink,
    /** Only this page's entries, when set. */
    readonly clientId: string | null,
    private readonly maxBytes: number,
    private readonly policy: SlowPolicy,
    /** Sequence number to continue after (the topic's newest for a live start). */
    after: number,
    private readonly gone: (subscriber: Subscriber) => void,
  ) {
    this.cursor = after;
  }

  /** True while its sink is full and it waits to catch up. */
  get behind(): boolean {
    return this.waiting;
  }

  /** Writes a gap told only to this subscriber (a resume that cannot be complete; other nodes out of reach). */
  tell(reason: GapReason, missed: number | null, message: string, node?: string): void {
    this.write(frameLocalGap(localGapJson(this.topic.group, this.topic.topic, reason, missed, message, node), this.sink.format));
  }

  /** A page published `batch`: written now, unless this subscriber is behind. */
  offer(batch: Batch): void {
    if (this.closed) return;
    if (this.waiting) {
      if (this.policy === 'disconnect' && this.topic.history.oldestSeq(this.topic.seq) > this.cursor + 1) this.close('slow');
      return;
    }
    if (batch.firstSeq !== this.cursor + 1) {
      this.catchUp();
      return;
    }
    this.cursor = batch.lastSeq;
    if (!this.wants(batch.clientId)) return;
    this.write(batch.frame(this.sink.format));
    this.sent += batch.entries.length;
    if (this.sink.buffered() > this.maxBytes) this.wait();
  }

  /**
   * Writes what the history holds after the cursor, until the sink is full or the subscriber is
   * current. Entries the history no longer holds are reported as a gap: `expired` when a resume
   * asked for them, `behind` when this subscriber was too slow to take them.
   */
  catchUp(reason: 'behind' | 'expired' = 'behind'): void {
    this.waiting = false;
    const { history } = this.topic;
    while (!this.closed && this.cursor < this.topic.seq) {
      const oldest = history.oldestSeq(this.topic.seq);
      if (oldest > this.cursor + 1) {
        const lost = oldest - this.cursor - 1;
        if (this.policy === 'disconnect') {
          this.close('slow');
          return;
        }
        this.missed += lost;
        this.topic.countMissed(lost);
        this.tell(
          reason,
          lost,
          reason === 'expired'
            ? `${lost} entries after the one to resume from are no longer kept (--stream-history)`
            : `this subscriber fell behind: ${lost} entries were no longer kept when it could take more (--stream-history)`,
        );
        this.cursor = oldest - 1;
      }
      const entries = history.after(this.cursor, CATCH_UP_ENTRIES);
      if (entries.length === 0) break;
      this.cursor = entries[entries.length - 1]!.seq;
      const mine = this.clientId === null ? entries : entries.filter((e) => this.wants(e.clientId));
      if (mine.length > 0) {
        this.write(frameEntries(mine, this.sink.format, this.topic.epoch));
        this.sent += mine.length;
      }
      if (this.sink.buffered() > this.maxBytes) {
        this.wait();
        return;
      }
    }
  }

  /** Sends a keep-alive when nothing was written for `idleMs`. */
  keepAlive(now: number, idleMs: number): void {
    if (this.closed || now - this.lastWrite < idleMs) return;
    this.lastWrite = now;
    this.sink.keepAlive();
  }

  /** Ends the stream and lets go of everything it holds. */
  close(reason: 'slow' | 'closing'): void {
    if (this.closed) return;
    this.closed = true;
    this.gone(this);
    this.sink.end(reason);
  }

  /** The sink went away (the caller disconnected). */
  detached(): void {
    if (this.closed) return;
    this.closed = true;
    this.gone(this);
  }

  /** Whether entries of page `clientId` are for this subscriber; gaps about the cluster ('') are for everyone. */
  private wants(clientId: string): boolean {
    return this.clientId === null || clientId === this.clientId || clientId === '';
  }

  private wait(): void {
    this.waiting = true;
    this.sink.whenDrained(() => {
      if (!this.closed) this.catchUp();
    });
  }

  private write(chunk: string | Buffer): void {
    this.lastWrite = Date.now();
    this.sink.write(chunk);
  }
}
