/**
 * A topic's recent entries, for subscribers that resume (Last-Event-ID) or fall behind: a ring of
 * at most `capacity` entries and `maxBytes` of JSON, newest kept. Sequence numbers are consecutive,
 * so finding where a subscriber left off is arithmetic.
 */
import type { Entry } from './format.js';

/** A fixed-size ring of the newest entries of one topic. */
export class History {
  private readonly entries: Array<Entry | undefined>;
  private start = 0;
  private count = 0;
  private chars = 0;

  /** A ring of at most `capacity` entries and about `maxChars` characters of JSON. */
  constructor(
    readonly capacity: number,
    private readonly maxChars: number,
  ) {
    this.entries = new Array<Entry | undefined>(capacity);
  }

  /** Entries kept now. */
  get size(): number {
    return this.count;
  }

  /** Characters of JSON kept now. */
  get bytes(): number {
    return this.chars;
  }

  /** Sequence number of the oldest entry kept; newest + 1 when empty. */
  oldestSeq(newest: number): number {
    return this.count === 0 ? newest + 1 : this.entries[this.start]!.seq;
  }

  /** Adds the next entry (its seq is one more than the last one's), evicting the oldest beyond the bounds. */
  push(entry: Entry): void {
    if (this.count === this.capacity) this.evict();
    this.entries[(this.start + this.count) % this.capacity] = entry;
    this.count++;
    this.chars += entry.json.length;
    while (this.chars > this.maxChars && this.count > 1) this.evict();
  }

  /** Up to `limit` entries with a sequence number above `seq`, oldest first (none older than the oldest kept). */
  after(seq: number, limit: number): Entry[] {
    if (this.count === 0) return [];
    const first = this.entries[this.start]!.seq;
    const skip = seq + 1 - first;
    const from = skip > 0 ? skip : 0;
    const out: Entry[] = [];
    for (let i = from; i < this.count && out.length < limit; i++) out.push(this.entries[(this.start + i) % this.capacity]!);
    return out;
  }

  /** Forgets everything. */
  clear(): void {
    this.entries.fill(undefined);
    this.start = 0;
    this.count = 0;
    this.chars = 0;
  }

  private evict(): void {
    const entry = this.entries[this.start]!;
    this.entries[this.start] = undefined;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
    this.chars -= entry.json.length;
  }
}
