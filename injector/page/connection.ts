/**
 * One WebSocket to the bridge and everything that lives and dies with it: its outgoing queue, the
 * calls it is running, what the bridge was told about the page, and the watchdog for a silent
 * bridge. The client lets go of a connection with `drop`; after that its socket's events are ignored.
 */
import type { Codec } from '../../protocol/codec.js';
import type { PageMessage } from '../../protocol/messages.js';
import { CLOSE_CODES } from '../../protocol/close-codes.js';
import { clearTimer, logDebug, MAX_TIMER_MS, min, now, openSocket, setTimer, socketBuffered, socketClose, socketOn } from './builtins.js';
import { messageOf, namedError } from './error-payload.js';
import { Outbox } from './outbox.js';
import { RunningCalls } from './running-calls.js';

/** Silence for this many heartbeats means the link is dead. */
const SILENT_HEARTBEATS = 3;
/** What browsers report for a socket that failed before opening. */
const ABNORMAL_CLOSE_CODE = 1006;
/** Close code the page uses when it gives up on a silent bridge. */
export const SILENT_CLOSE_CODE = CLOSE_CODES.BRIDGE_SILENT;

/** What a connection tells its owner; called only while the connection is current. */
export interface ConnectionEvents {
  /** The socket opened. */
  opened(conn: Connection): void;
  /** A frame arrived. */
  frame(conn: Connection, data: unknown): void;
  /** The socket closed, failed, or went silent. */
  closed(conn: Connection, code: number | undefined, reason: string): void;
}

/** A WebSocket to the bridge and its state. */
export class Connection {
  /** False once the owner let go of it (see drop). */
  current = true;
  /** The socket opened. */
  opened = false;
  /** The bridge accepted the hello. */
  welcomed = false;
  /** The bridge's ping interval (from its welcome); 0 before. */
  heartbeatMs = 0;
  /** The bridge runs `$eval` (from its welcome). */
  allowEval = false;
  /** The function list changed since the bridge was last told. */
  actionsDirty = false;
  /** The URL the bridge was last told. */
  sentUrl = '';
  /** The title the bridge was last told. */
  sentTitle = '';
  /** What waits to be sent. */
  readonly outbox: Outbox;
  /** The calls this connection is running. */
  readonly calls: RunningCalls;
  private readonly ws: WebSocket;
  private lastFrameAt = now();
  private watchdog: number | undefined;

  private constructor(ws: WebSocket, codec: Codec, lastWord: (conn: Connection) => PageMessage | undefined) {
    this.ws = ws;
    this.outbox = new Outbox(ws, () => lastWord(this));
    this.calls = new RunningCalls(codec, this.outbox);
  }

  /**
   * Opens a socket to `url`; undefined when the browser refuses at once (some do for CSP or
   * blocked ports, instead of failing the socket later).
   */
  static open(url: string, codec: Codec, events: ConnectionEvents, lastWord: (conn: Connection) => PageMessage | undefined): Connection | undefined {
    let ws: WebSocket;
    try {
      ws = openSocket(url);
    } catch (error) {
      logDebug(`pagecall: cannot open ${url}: ${messageOf(error)}`);
      return undefined;
    }
    const conn = new Connection(ws, codec, lastWord);
    socketOn(ws, {
      open: () => {
        if (!conn.current) return;
        conn.opened = true;
        conn.outbox.start();
        events.opened(conn);
      },
      message: (event) => {
        if (!conn.current) return;
        conn.lastFrameAt = now();
        events.frame(conn, event.data as unknown);
      },
      close: (event) => {
        if (conn.current) events.closed(conn, event.code, event.reason);
      },
      // A socket blocked by CSP gets an error event and never a close event.
      error: () => {
        if (!conn.current || conn.opened) return;
        socketClose(ws, 1000, '');
        events.closed(conn, ABNORMAL_CLOSE_CODE, '');
      },
    });
    return conn;
  }

  /**
   * Calls `silent` when nothing at all arrives for SILENT_HEARTBEATS heartbeats (pings come every
   * heartbeat, so a live bridge never stays quiet that long).
   */
  watch(silent: (quietMs: number) => void): void {
    const limit = min(SILENT_HEARTBEATS * this.heartbeatMs, MAX_TIMER_MS);
    const check = (): void => {
      if (!this.current) return;
      const quiet = now() - this.lastFrameAt;
      if (quiet >= limit) {
        silent(quiet);
        return;
      }
      this.watchdog = setTimer(check, limit - quiet);
    };
    this.watchdog = setTimer(check, limit);
  }

  /** Lets go of the connection: stops its timers, drops its queue, aborts its calls with `reason`. */
  drop(reason: string): void {
    this.current = false;
    clearTimer(this.watchdog);
    this.outbox.stop();
    this.calls.abortAll(namedError('AbortError', reason));
  }

  /** Bytes the socket has queued and not yet sent (published events wait while this is high). */
  buffered(): number {
    return socketBuffered(this.ws);
  }

  /** Closes the socket (after drop, or to give up on it). */
  close(code: number, reason: string): void {
    socketClose(this.ws, code, reason);
  }
}
