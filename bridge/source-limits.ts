/**
 * Caps per source, so one browser tab (or one remote machine) cannot crowd out everyone else: a
 * source is the page's origin, and its remote address when that is not this machine. Pages on this
 * machine all share 127.0.0.1, so the address says nothing about them; their origin does (browsers
 * set it on every WebSocket handshake and scripts cannot change it).
 */
import { isLoopback } from './config.js';

/**
 * The sources a page socket counts against: its origin and, beyond loopback, its address. A socket
 * from this machine without an Origin header is a local program, not a website (browsers always
 * send one), and counts against nothing.
 */
export function sourcesOf(origin: string | null, remoteAddress: string | null): string[] {
  const sources: string[] = [];
  const local = remoteAddress === null || isLoopback(remoteAddress) || remoteAddress.startsWith('::ffff:127.');
  if (origin !== null) sources.push(`origin ${origin}`);
  if (!local) sources.push(`address ${remoteAddress}`);
  return sources;
}

/** How many holders each source has. */
export class SourceCounts {
  private readonly counts = new Map<string, number>();

  /** Holders of `source`. */
  count(source: string): number {
    return this.counts.get(source) ?? 0;
  }

  /** Whether one more holder of every source in `sources` stays within `limit`. */
  fits(sources: readonly string[], limit: number): boolean {
    for (const source of sources) if (this.count(source) >= limit) return false;
    return true;
  }

  /** Counts one more holder of each source. */
  add(sources: readonly string[]): void {
    for (const source of sources) this.counts.set(source, this.count(source) + 1);
  }

  /** Counts one holder less of each source; a source with none is forgotten. */
  remove(sources: readonly string[]): void {
    for (const source of sources) {
      const left = this.count(source) - 1;
      if (left > 0) this.counts.set(source, left);
      else this.counts.delete(source);
    }
  }

  /** Sources with at least one holder (zero when nothing leaked). */
  get size(): number {
    return this.counts.size;
  }
}

interface Waiting {
  readonly sources: readonly string[];
  readonly start: () => void;
  readonly cancel: (reason: string) => void;
  readonly timer: NodeJS.Timeout;
}

/** What a ticket holder does with a handshake slot. */
export interface GateTicket {
  /** Gives the slot back (the page was welcomed, or its socket closed); only the first call counts. */
  release(): void;
}

/**
 * Handshake slots: sockets that have not been admitted yet, at most `limit` per source. A socket
 * over the limit waits its turn (a launcher opening twenty tabs of one site at once must not fail);
 * the wait list itself is capped per source, and a socket that waits longer than `waitMs` is refused.
 */
export class HandshakeGate {
  private readonly active = new SourceCounts();
  private readonly waitingBySource = new SourceCounts();
  private waiting: Waiting[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
    private readonly waitMs: number,
  ) {}

  /** Sockets waiting for a slot. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Sources holding or waiting for slots (zero when nothing leaked). */
  get sourceCount(): number {
    return this.active.size + this.waitingBySource.size;
  }

  /**
   * Asks for a slot for a socket counted against `sources`. `start` runs now or when a slot frees,
   * with a ticket to release it; `cancel` runs instead when the socket waited too long. Returns false
   * (and runs neither) when the wait list of one of its sources is full. The returned function
   * withdraws a socket that went away while waiting.
   */
  enter(sources: readonly string[], start: (ticket: GateTicket) => void, cancel: (reason: string) => void): { admitted: boolean; withdraw: () => void } {
    const ticket = (): GateTicket => {
      let held = true;
      return {
        release: () => {
          if (!held) return;
          held = false;
          this.active.remove(sources);
          this.admitWaiting();
        },
      };
    };
    // Nobody of these sources waits ahead of it (first come, first served) and there is room.
    if (this.active.fits(sources, this.limit) && !this.someWaitFor(sources)) {
      this.active.add(sources);
      start(ticket());
      return { admitted: true, withdraw: () => {} };
    }
    if (!this.waitingBySource.fits(sources, this.maxWaiting)) return { admitted: false, withdraw: () => {} };
    const entry: Waiting = {
      sources,
      start: () => {
        this.active.add(sources);
        start(ticket());
      },
      cancel,
      timer: setTimeout(() => {
        if (this.drop(entry)) cancel(`waited ${this.waitMs} ms for a handshake slot`);
      }, this.waitMs),
    };
    entry.timer.unref();
    this.waiting.push(entry);
    this.waitingBySource.add(sources);
    return { admitted: true, withdraw: () => void this.drop(entry) };
  }

  /** Refuses everyone still waiting (the bridge is closing). */
  close(): void {
    for (const entry of [...this.waiting]) if (this.drop(entry)) entry.cancel('the bridge is shutting down');
  }

  private someWaitFor(sources: readonly string[]): boolean {
    for (const source of sources) if (this.waitingBySource.count(source) > 0) return true;
    return false;
  }

  /** Starts the waiting sockets that now fit, oldest first. */
  private admitWaiting(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const entry = this.waiting[i]!;
      if (!this.active.fits(entry.sources, this.limit)) {
        i++;
        continue;
      }
      this.drop(entry);
      entry.start();
    }
  }

  private drop(entry: Waiting): boolean {
    const i = this.waiting.indexOf(entry);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    this.waitingBySource.remove(entry.sources);
    clearTimeout(entry.timer);
    return true;
  }
}
