/**
 * Publishing values to topics (`pagecall.emit`, taps). A value is encoded when it is emitted, so
 * later changes to the object do not leak in and a value the codec cannot carry is refused at once.
 * Encoded values wait in one bounded queue and leave once per task, as one `events` message per
 * topic, while the bridge keeps up. When it does not (the socket has a lot queued, or there is no
 * connection yet) they wait; past the bounds the oldest are dropped and counted, and the count
 * travels with the topic's next message so subscribers see the gap.
 */
import type { Codec } from '../../protocol/codec.js';
import { TOPIC_PATTERN } from '../../protocol/guards.js';
import type { PageErrorPayload } from '../../protocol/messages.js';
import { clearTimer, logWarn, min, queueMicro, setTimer, stringifyJson } from './builtins.js';
import { messageOf } from './error-payload.js';
import { sizeIfOver } from './frames.js';
import type { Outbox } from './outbox.js';
import type { EventStats } from './types.js';

/** Most events waiting to be sent; an emit beyond it drops the oldest. */
export const MAX_BUFFERED_EVENTS = 100_000;
/** Most characters of encoded events waiting to be sent; an emit beyond it drops the oldest. */
export const MAX_BUFFERED_CHARS = 16 * 1024 * 1024;
/** Largest `events` message, in characters (the bridge's frame limit may make it smaller). */
const MESSAGE_CHARS = 256 * 1024;
/** Characters handed to the socket per flush; the rest waits for the next turn. */
const CHARS_PER_FLUSH = 4 * 1024 * 1024;
/** While the socket holds more than this unsent, events wait (a WebSocket has no drain event: poll). */
const HIGH_WATER_BYTES = 2 * 1024 * 1024;
const RETRY_MS = 20;
/** Room for the envelope around the items (`{"type":"events","topic":…,"items":[…]}`). */
const ENVELOPE_BYTES = 512;

/** The connection events leave through: the one the bridge welcomed. */
export interface EventLink {
  readonly outbox: Outbox;
  /** Bytes the socket has queued and not yet sent. */
  buffered(): number;
}

/** The events of one topic in the message being built. */
interface Batch {
  topic: string;
  items: string[];
  errors: string[];
  chars: number;
}

/** The queue of published events of one realm; it outlives connections. */
export class EventQueue {
  private topics: string[] = [];
  private texts: string[] = [];
  private failures: boolean[] = [];
  private head = 0;
  private chars = 0;
  private readonly droppedByTopic = new Map<string, number>();
  private microtaskQueued = false;
  private timer: number | undefined;
  private warnedTooLarge = false;
  private emitted = 0;
  private sent = 0;
  private dropped = 0;
  private readonly codec: Codec;
  private readonly link: () => EventLink | undefined;

  /** Events encoded with `codec`, sent through whatever `link` returns when they leave. */
  constructor(codec: Codec, link: () => EventLink | undefined) {
    this.codec = codec;
    this.link = link;
  }

  /** `pagecall.emit`: throws a TypeError for a bad topic or a value the codec cannot carry, a RangeError for one larger than a frame. */
  emit(topic: string, value: unknown): void {
    checkTopicName(topic, 'emit');
    let text: string;
    try {
      text = stringifyJson(this.codec.encode(value, 'value'));
    } catch (error) {
      throw new TypeError(`pagecall.emit(${stringifyJson(topic)}): ${messageOf(error)}`);
    }
    const max = this.link()?.outbox.maxFrameBytes ?? Infinity;
    const size = sizeIfOver(text, max - ENVELOPE_BYTES);
    if (size !== undefined) throw new RangeError(`pagecall.emit(${stringifyJson(topic)}): the value is ${size} bytes encoded; the bridge accepts frames of at most ${max}`);
    this.push(topic, text, false);
  }

  /**
   * Publishes `value` for a tap and says what became of it; never throws. What the codec cannot
   * carry becomes an error event naming why; `undefined` publishes nothing (a tap's decode returns
   * it to skip a message).
   */
  publish(topic: string, value: unknown): 'published' | 'error' | 'skipped' {
    if (value === undefined) return 'skipped';
    let text: string;
    try {
      text = stringifyJson(this.codec.encode(value, 'value'));
    } catch (error) {
      this.publishError(topic, { name: 'CodecError', message: messageOf(error) });
      return 'error';
    }
    this.push(topic, text, false);
    return 'published';
  }

  /** Publishes an error event (a tap's decode threw) in the topic's order. */
  publishError(topic: string, error: PageErrorPayload): void {
    this.push(topic, stringifyJson(error), true);
  }

  /** Counts one event of `topic` dropped before it reached the queue (a tap fell behind). */
  drop(topic: string): void {
    this.emitted++;
    this.countDrop(topic);
    this.request();
  }

  /** A connection was welcomed: what waits leaves now. */
  connected(): void {
    if (this.timer !== undefined) {
      clearTimer(this.timer);
      this.timer = undefined;
    }
    this.request();
  }

  /** The counters for `status()`. */
  stats(): EventStats {
    return { emitted: this.emitted, sent: this.sent, dropped: this.dropped, buffered: this.texts.length - this.head };
  }

  private push(topic: string, text: string, failure: boolean): void {
    this.emitted++;
    while (this.texts.length - this.head >= MAX_BUFFERED_EVENTS || (this.chars + text.length > MAX_BUFFERED_CHARS && this.texts.length > this.head)) this.dropOldest();
    this.topics.push(topic);
    this.texts.push(text);
    this.failures.push(failure);
    this.chars += text.length;
    this.request();
  }

  private dropOldest(): void {
    const topic = this.topics[this.head]!;
    this.chars -= this.texts[this.head]!.length;
    this.advance();
    this.countDrop(topic);
  }

  private countDrop(topic: string): void {
    this.dropped++;
    this.droppedByTopic.set(topic, (this.droppedByTopic.get(topic) ?? 0) + 1);
  }

  /** Moves past the oldest entry, releasing it; compacts the arrays once half of them is spent. */
  private advance(): void {
    this.topics[this.head] = '';
    this.texts[this.head] = '';
    this.head++;
    if (this.head === this.texts.length) {
      this.topics = [];
      this.texts = [];
      this.failures = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.texts.length) {
      this.topics = this.topics.slice(this.head);
      this.texts = this.texts.slice(this.head);
      this.failures = this.failures.slice(this.head);
      this.head = 0;
    }
  }

  /** A flush at the end of this task, unless one is queued or a retry timer is waiting. */
  private request(): void {
    if (this.microtaskQueued || this.timer !== undefined) return;
    this.microtaskQueued = true;
    queueMicro(this.flush);
  }

  private later(ms: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimer(() => {
      this.timer = undefined;
      this.flush();
    }, ms);
  }

  private readonly flush = (): void => {
    this.microtaskQueued = false;
    if (this.texts.length === this.head && this.droppedByTopic.size === 0) return;
    const link = this.link();
    // No connection: the events wait for connected().
    if (!link) return;
    if (link.buffered() > HIGH_WATER_BYTES) {
      this.later(RETRY_MS);
      return;
    }
    const maxFrame = link.outbox.maxFrameBytes;
    const messageChars = maxFrame === Infinity ? MESSAGE_CHARS : min(MESSAGE_CHARS, ((maxFrame - ENVELOPE_BYTES) / 3) | 0);
    const batches = new Map<string, Batch>();
    let budget = CHARS_PER_FLUSH;
    while (this.head < this.texts.length && budget > 0) {
      const topic = this.topics[this.head]!;
      const text = this.texts[this.head]!;
      const failure = this.failures[this.head]!;
      this.chars -= text.length;
      this.advance();
      budget -= text.length;
      if (text.length > messageChars && sizeIfOver(text, maxFrame - ENVELOPE_BYTES) !== undefined) {
        // Emitted before the bridge said how large a frame may be.
        this.countDrop(topic);
        if (!this.warnedTooLarge) logWarn(`pagecall: dropped an event of topic ${topic} larger than the bridge's frame limit (${maxFrame} bytes)`);
        this.warnedTooLarge = true;
        continue;
      }
      let batch = batches.get(topic);
      if (batch && batch.chars + text.length > messageChars) {
        this.send(link, batch);
        batch = undefined;
      }
      if (!batch) {
        batch = { topic, items: [], errors: [], chars: 0 };
        batches.set(topic, batch);
      }
      if (failure) batch.errors.push(`{"at":${batch.items.length},"error":${text}}`);
      else batch.items.push(text);
      batch.chars += text.length + 16;
    }
    for (const batch of batches.values()) this.send(link, batch);
    for (const topic of [...this.droppedByTopic.keys()]) this.send(link, { topic, items: [], errors: [], chars: 0 });
    if (this.head < this.texts.length) this.later(0);
  };

  private send(link: EventLink, batch: Batch): void {
    const dropped = this.droppedByTopic.get(batch.topic);
    if (dropped !== undefined) this.droppedByTopic.delete(batch.topic);
    let text = `{"type":"events","topic":${stringifyJson(batch.topic)},"items":[${batch.items.join(',')}]`;
    if (batch.errors.length > 0) text += `,"errors":[${batch.errors.join(',')}]`;
    if (dropped !== undefined) text += `,"dropped":${dropped}`;
    link.outbox.postText(`${text}}`);
    this.sent += batch.items.length + batch.errors.length;
    batch.items = [];
    batch.errors = [];
    batch.chars = 0;
  }
}

/** Throws a TypeError naming the method unless `topic` is a valid topic name. */
export function checkTopicName(topic: unknown, method: string): asserts topic is string {
  if (typeof topic !== 'string') throw new TypeError(`pagecall.${method}: the topic must be a string, got ${topic === null ? 'null' : typeof topic}`);
  if (!TOPIC_PATTERN.test(topic)) {
    throw new TypeError(`pagecall.${method}: ${stringifyJson(topic.slice(0, 80))} is not a valid topic name (letters, digits and _ . : / -, at most 128 characters, not starting with $ or another symbol)`);
  }
}
