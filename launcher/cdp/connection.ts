/**
 * A minimal Chrome DevTools Protocol client: commands with ids, replies matched by id, events by
 * session (flat sessions: every attached target speaks through the one transport with a
 * `sessionId`). It enables nothing by itself: the launcher asks only for what injection needs, so
 * the browser reports no network or per-frame events it would otherwise pay for on every call.
 */

/** Something that carries CDP messages: Chromium's debugging pipe, or a WebSocket to its endpoint. */
export interface CdpTransport {
  send(message: string): void;
  /** Set by the connection: one whole message. */
  onmessage: ((message: string) => void) | undefined;
  /** Set by the connection: the transport is gone (browser exited, socket closed). */
  onclose: ((reason: string) => void) | undefined;
  close(): void;
}

/** A protocol error answered by the browser; `message` is the browser's text, `method` the command. */
export class CdpError extends Error {
  override readonly name = 'CdpError';
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`${method}: ${message}`);
  }
}

/** A command may take any parameters; results are loosely typed records read by the caller. */
type Params = Record<string, unknown>;
type Handler = (params: any) => void;

interface Waiting {
  method: string;
  resolve: (result: any) => void;
  reject: (error: Error) => void;
}

/** One transport: the browser session (no sessionId) and every flat session attached through it. */
export class CdpConnection {
  private lastId = 0;
  private readonly waiting = new Map<number, Waiting>();
  /** Event handlers by `sessionId ?? ''` then method. */
  private readonly handlers = new Map<string, Map<string, Set<Handler>>>();
  private closedWith: string | undefined;
  /** Called once when the transport closes. */
  onclose: ((reason: string) => void) | undefined;

  constructor(private readonly transport: CdpTransport) {
    transport.onmessage = (text) => this.receive(text);
    transport.onclose = (reason) => this.closed(reason);
  }

  /** The browser-level session. */
  readonly browser: CdpSession = new CdpSession(this, undefined);

  /** A handle on an attached target's flat session. */
  session(sessionId: string): CdpSession {
    return new CdpSession(this, sessionId);
  }

  /** Whether the transport is gone. */
  get isClosed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Sends a command; rejects with CdpError when the browser answers with an error, or when the transport closes first. */
  send<T = any>(method: string, params: Params = {}, sessionId?: string): Promise<T> {
    if (this.closedWith !== undefined) return Promise.reject(new CdpError(method, `the browser connection is closed (${this.closedWith})`));
    const id = ++this.lastId;
    const message: Record<string, unknown> = { id, method, params };
    if (sessionId !== undefined) message.sessionId = sessionId;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { method, resolve, reject });
      this.transport.send(JSON.stringify(message));
    });
  }

  /** Listens to `method` events of one session (undefined: the browser session); returns the unsubscribe. */
  on(sessionId: string | undefined, method: string, handler: Handler): () => void {
    const key = sessionId ?? '';
    let methods = this.handlers.get(key);
    if (!methods) this.handlers.set(key, (methods = new Map()));
    let set = methods.get(method);
    if (!set) methods.set(method, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  /** Forgets every handler of a session (it was detached). */
  forget(sessionId: string): void {
    this.handlers.delete(sessionId);
  }

  /** Closes the transport; pending commands reject. */
  close(): void {
    this.transport.close();
    this.closed('closed by pagecall');
  }

  private receive(text: string): void {
    let message: { id?: number; method?: string; params?: unknown; sessionId?: string; result?: unknown; error?: { message?: string } };
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message.id === 'number') {
      const waiting = this.waiting.get(message.id);
      if (!waiting) return;
      this.waiting.delete(message.id);
      if (message.error) waiting.reject(new CdpError(waiting.method, message.error.message ?? 'failed'));
      else waiting.resolve(message.result ?? {});
      return;
    }
    if (typeof message.method !== 'string') return;
    const set = this.handlers.get(message.sessionId ?? '')?.get(message.method);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        handler(message.params ?? {});
      } catch {
        // a handler's bug must not stop the others
      }
    }
  }

  private closed(reason: string): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    for (const [id, waiting] of this.waiting) {
      this.waiting.delete(id);
      waiting.reject(new CdpError(waiting.method, `the browser connection closed (${reason})`));
    }
    this.onclose?.(reason);
  }
}

/** One session: the browser's, or an attached target's. */
export class CdpSession {
  constructor(
    readonly connection: CdpConnection,
    /** The flat session id (undefined for the browser session). */
    readonly id: string | undefined,
  ) {}

  /** Sends a command in this session. */
  send<T = any>(method: string, params: Params = {}): Promise<T> {
    return this.connection.send<T>(method, params, this.id);
  }

  /** Sends a command whose failure does not matter (the target may be gone already). */
  sendQuietly(method: string, params: Params = {}): Promise<void> {
    return this.send(method, params).then(
      () => undefined,
      () => undefined,
    );
  }

  /** Listens to an event of this session; returns the unsubscribe. */
  on(method: string, handler: Handler): () => void {
    return this.connection.on(this.id, method, handler);
  }
}
