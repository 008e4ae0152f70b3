/** One connected page: its identity, its functions, its socket and the frames waiting to go out. */
import type { WebSocket } from 'ws';
import type { BridgeMessage, ClientContext } from '../protocol/index.js';
import type { AdmittedBy } from './admission.js';

/** Counters kept per page for listings, metrics and the dashboard. */
export interface PageStats {
  served: number;
  failed: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/** A page as listed by GET /v1/clients. */
export interface ClientInfo {
  id: string;
  group: string;
  actions: string[];
  url: string;
  title: string;
  origin: string | null;
  /** Where the client runs: a tab's top document, a child frame or a dedicated worker. */
  context: ClientContext;
  remoteAddress: string | null;
  /** What let the page in: the page key, a group key, the token, or nothing (`open`, under --open-pages). */
  admission: AdmittedBy;
  connectedAt: string;
  inFlight: number;
  served: number;
  failed: number;
  /** The cluster node holding the page (only when the bridge is in a cluster). */
  node?: string;
}

/** A connected page. Frames to a busy page are packed: messages queued in one event-loop turn go out together. */
export class PageClient {
  readonly connectedAt = Date.now();
  actions: Set<string>;
  url: string;
  title: string;
  inFlight = 0;
  lastSeen = Date.now();
  closed = false;
  readonly stats: PageStats = { served: 0, failed: 0, messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0 };
  private outbox: BridgeMessage[] = [];
  private flushScheduled = false;

  constructor(
    readonly id: string,
    readonly group: string,
    readonly socket: WebSocket,
    init: { actions: string[]; url: string; title: string; origin: string | null; remoteAddress: string | null; context?: ClientContext; admission?: AdmittedBy },
    private readonly onSent: (messages: number, bytes: number) => void = () => {},
  ) {
    this.actions = new Set(init.actions);
    this.url = init.url;
    this.title = init.title;
    this.origin = init.origin;
    this.remoteAddress = init.remoteAddress;
    this.context = init.context ?? 'top';
    this.admission = init.admission ?? 'page-key';
  }

  readonly origin: string | null;
  readonly admission: AdmittedBy;
  readonly context: ClientContext;
  readonly remoteAddress: string | null;

  /**
   * Sends a message. On an idle page (no other call running, nothing queued) it leaves now, alone:
   * a caller making one call at a time waits for nothing. Otherwise it is queued, and everything
   * queued before the event loop's check phase leaves in one frame.
   */
  send(message: BridgeMessage): void {
    if (this.closed) return;
    if (!this.flushScheduled && this.inFlight <= 1) {
      this.write(message, 1);
      return;
    }
    this.outbox.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const batch = this.outbox;
    if (batch.length === 0 || this.closed) return;
    this.outbox = [];
    this.write(batch.length === 1 ? batch[0] : batch, batch.length);
  };

  private write(frame: unknown, messages: number): void {
    const text = JSON.stringify(frame);
    this.stats.messagesOut += messages;
    this.stats.bytesOut += text.length;
    this.onSent(messages, text.length);
    this.socket.send(text);
  }

  /** Closes the socket with a protocol close code; queued frames are sent first (unless the socket is already closed). */
  close(code: number, reason: string): void {
    if (this.closed) return;
    if (this.socket.readyState === this.socket.CLOSED) {
      this.closed = true;
      this.outbox = [];
      return;
    }
    this.flush();
    this.closed = true;
    this.outbox = [];
    try {
      this.socket.close(code, reason);
    } catch {
      this.socket.terminate();
    }
    // A frozen page never completes the close handshake; do not keep its socket around for it.
    setTimeout(() => this.socket.terminate(), 2_000).unref();
  }

  /** The listing form. */
  info(): ClientInfo {
    return {
      id: this.id,
      group: this.group,
      actions: [...this.actions].sort(),
      url: this.url,
      title: this.title,
      origin: this.origin,
      context: this.context,
      remoteAddress: this.remoteAddress,
      admission: this.admission,
      connectedAt: new Date(this.connectedAt).toISOString(),
      inFlight: this.inFlight,
      served: this.stats.served,
      failed: this.stats.failed,
    };
  }
}
