/**
 * The page's connection to the bridge, from `connect()` to `disconnect()`: settings, the handshake,
 * what happens when a connection ends (reconnect, or stop and say why), and the messages that need
 * the client's state. The parts live next door: connection.ts (one socket), outbox.ts (sending),
 * dispatch.ts (reading), running-calls.ts (calls and deadlines), reconnect.ts (when to try again),
 * diagnose.ts and close-reasons.ts (what went wrong, said as what to do).
 */
import { createCodec, type Codec } from '../../protocol/codec.js';
import {
  CLOSE_CODES,
  EVAL_ACTION,
  FINAL_CLOSE_CODES,
  type HelloMessage,
  type InvokeMessage,
  type UpdateMessage,
  type WelcomeMessage,
} from '../../protocol/messages.js';
import { MAX_HELLO_BYTES } from '../../protocol/limits.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { bare } from './bare-object.js';
import { pageBase64 } from './base64.js';
import { codecNatives, indirectEval, logInfo, logWarn, now, pageTitle, pageUrl, stringifyJson, whenSettled } from './builtins.js';
import { forgetClientId, proposedClientId, storeClientId, storedClientId } from './client-id.js';
import { finalCloseError } from './close-reasons.js';
import { checkOptions, sameSettings } from './connect-options.js';
import { Connection, SILENT_CLOSE_CODE, type ConnectionEvents } from './connection.js';
import { cspFailure, diagnoseFailure, type CspWatch, type Violation } from './diagnose.js';
import { dispatchFrame, type BridgeMessageHandlers } from './dispatch.js';
import { messageOf } from './error-payload.js';
import { FailureLog } from './failure-log.js';
import { DEFAULT_VALUE_OPTIONS, type LongFinder } from './int64.js';
import { sizeIfOver } from './frames.js';
import { realmContext } from './realm.js';
import { Reconnect } from './reconnect.js';
import type { Registered, Registry } from './registry.js';
import { failure } from './running-calls.js';
import type { ConnectOptions, ConnectionState, LastError, PagecallStatus } from './types.js';

/** A failing connect is diagnosed again at most this often (the probe is a network request). */
const DIAGNOSE_EVERY_MS = 15000;

/** Connection and call handling for one realm. */
export class Client {
  private state: ConnectionState = 'idle';
  private options: ConnectOptions | undefined;
  private clientId: string | undefined;
  /** The resume secret the bridge gave `clientId` (sent back so a reconnect keeps the id). */
  private resume: string | undefined;
  private conn: Connection | undefined;
  private connects = 0;
  /** Bumped whenever settings change or the client stops, so late async work can tell it is stale. */
  private epoch = 0;
  private readonly failures = new FailureLog();
  private diagnosing = false;
  private lastDiagnosisAt = -Infinity;
  /** The last `error` message the bridge sent on this connection, for the close that usually follows. */
  private bridgeError: string | undefined;
  private readonly reconnect = new Reconnect(() => {
    if (this.state === 'reconnecting' && !this.conn) this.open();
  });
  /** The codec of calls and published events. */
  readonly codec: Codec;
  /** Where this client runs, told to the bridge in the hello. */
  private readonly context = realmContext();
  /** Called each time a connection is welcomed (published events waiting for one leave then). */
  onWelcomed: (() => void) | undefined;
  private readonly registry: Registry;
  private readonly csp: CspWatch;

  private readonly events: ConnectionEvents = {
    opened: (conn) => this.sendHello(conn),
    frame: (conn, data) => dispatchFrame(conn, data, this.handlers),
    closed: (conn, code, reason) => this.closed(conn, code, reason),
  };

  private readonly handlers: BridgeMessageHandlers = {
    invoke: (conn, message) => this.invoke(conn, message),
    cancel: (conn, message) => conn.calls.cancel(message.id, message.reason),
    ping: (conn, message) => {
      conn.outbox.post({ type: 'pong', t: message.t });
      this.checkLocation(conn);
    },
    welcome: (conn, message) => this.welcome(conn, message),
    error: (_conn, message) => {
      this.bridgeError = `${message.code}: ${message.message}`;
      logWarn(`pagecall: the bridge reported ${this.bridgeError}`);
    },
  };

  /** At the end of each flush: the function list, when it changed since the bridge was told. */
  private readonly lastWord = (conn: Connection): UpdateMessage | undefined => {
    if (!conn.actionsDirty || !conn.welcomed) return undefined;
    conn.actionsDirty = false;
    return { type: 'update', actions: this.registry.names() };
  };

  /** Creates an idle client serving `registry`'s functions; `longs` hears of every Long a result carries. */
  constructor(registry: Registry, csp: CspWatch, longs: LongFinder) {
    this.codec = createCodec(pageBase64, { natives: codecNatives, onLong: longs.saw });
    this.registry = registry;
    this.csp = csp;
    csp.onViolation = (violation) => this.violated(violation);
  }

  /**
   * Connects with `options` (or the last ones). With the settings in use it is a no-op while
   * connected or connecting, and tries at once while waiting to reconnect.
   */
  connect(options: ConnectOptions | undefined): void {
    const given = options ?? this.options;
    if (!given) throw new TypeError('pagecall.connect: pass { url, group } (there are no earlier settings to reuse)');
    const next = checkOptions(given);
    if (sameSettings(this.options, next, this.clientId)) {
      if (this.state === 'reconnecting') {
        this.reconnect.hurry();
        return;
      }
      if (this.state === 'connecting' || this.state === 'open') return;
    }

    this.stop('pagecall: reconnecting with new settings');
    this.options = next;
    // Made up and stored before the first hello, so a reload before the welcome keeps it.
    if (next.clientId !== undefined) {
      const stored = this.context === 'top' ? storedClientId(next.group) : undefined;
      this.clientId = next.clientId;
      this.resume = stored !== undefined && stored.id === next.clientId ? stored.resume : undefined;
    } else {
      const proposed = proposedClientId(next.group, this.context);
      this.clientId = proposed.id;
      this.resume = proposed.resume;
    }
    this.reconnect.reset();
    this.failures.clear();
    this.lastDiagnosisAt = -Infinity;
    this.state = 'connecting';
    this.open();
  }

  /** Closes the connection and stops reconnecting. */
  disconnect(): void {
    this.stop('pagecall: disconnected');
    if (this.state !== 'idle') this.state = 'closed';
  }

  /** Tells the bridge about a changed function list (once per tick, however many changes). */
  announce(): void {
    const conn = this.conn;
    if (!conn?.opened) return;
    conn.actionsDirty = true;
    conn.outbox.requestFlush();
  }

  /** The connection the bridge welcomed, if there is one now. */
  welcomedConnection(): Connection | undefined {
    const conn = this.conn;
    return conn?.welcomed ? conn : undefined;
  }

  /** A plain snapshot for `pagecall.status()`. */
  status(): Omit<PagecallStatus, 'events'> {
    const status: Omit<PagecallStatus, 'events'> = {
      state: this.state,
      url: this.options?.url ?? null,
      group: this.options?.group ?? null,
      clientId: this.clientId ?? null,
      actions: this.registry.names(),
      inFlight: this.conn?.calls.size ?? 0,
      connects: this.connects,
    };
    const last = this.failures.last;
    if (last) status.lastError = { reason: last.reason, message: last.message };
    const retryAt = this.reconnect.nextAt;
    if (this.state === 'reconnecting' && retryAt !== undefined) status.retryAt = retryAt;
    return status;
  }

  private stop(reason: string): void {
    this.epoch++;
    this.reconnect.cancel();
    this.detach(reason)?.close(1000, 'pagecall: client closed');
  }

  private open(): void {
    const conn = Connection.open(this.options!.url, this.codec, this.events, this.lastWord);
    if (!conn) {
      this.closed(undefined, undefined, '');
      return;
    }
    this.conn = conn;
  }

  /** Lets go of the current connection: its timers stop, its calls are aborted with `reason`, its queue is dropped. */
  private detach(reason: string): Connection | undefined {
    const conn = this.conn;
    if (!conn) return undefined;
    this.conn = undefined;
    conn.drop(reason);
    return conn;
  }

  private closed(conn: Connection | undefined, code: number | undefined, reason: string): void {
    const wasOpen = conn?.opened ?? false;
    this.detach('pagecall: the connection to the bridge closed');
    const { url, group } = this.options!;
    const detail = [reason, this.bridgeError].filter((part) => part).join('; ');
    this.bridgeError = undefined;

    if (code !== undefined && FINAL_CLOSE_CODES.includes(code)) {
      this.state = 'closed';
      this.epoch++;
      this.failures.report(finalCloseError(code, url, group, detail), logWarn);
      return;
    }
    this.state = 'reconnecting';
    if (code === CLOSE_CODES.REPLACED) {
      // Usually a duplicated tab that copied sessionStorage: let the other one keep the id.
      forgetClientId(group, this.clientId);
      const old = this.clientId;
      const proposed = proposedClientId(group, this.context);
      this.clientId = proposed.id;
      this.resume = proposed.resume;
      this.failures.report({ reason: 'replaced', message: `pagecall: another connection took client id ${old}; reconnecting with a new one` }, logInfo);
      this.reconnect.soon();
      return;
    }
    if (wasOpen) {
      const why = `${code !== undefined ? `code ${code}` : 'no code'}${detail ? `: ${detail}` : ''}`;
      this.failures.report({ reason: 'closed', message: `pagecall: the connection to ${url} closed (${why}); reconnecting` }, logInfo);
      this.reconnect.afterFailure(undefined);
      return;
    }
    this.diagnose(code);
    // Until this attempt is diagnosed, the last diagnosis sets the pace (slow while CSP blocks the bridge).
    this.reconnect.afterFailure(this.failures.last?.reason);
  }

  /** Works out why the socket failed before opening, reports it, and sets the retry pace by it. */
  private diagnose(code: number | undefined): void {
    if (this.diagnosing || now() - this.lastDiagnosisAt < DIAGNOSE_EVERY_MS) return;
    this.diagnosing = true;
    this.lastDiagnosisAt = now();
    const epoch = this.epoch;
    const url = this.options!.url;
    const stale = (): boolean => epoch !== this.epoch || this.state !== 'reconnecting';
    const done = (result: LastError): void => {
      this.diagnosing = false;
      if (stale()) return;
      this.failures.report(result, logWarn);
      this.reconnect.diagnosed(result.reason);
    };
    // The user allowed Local Network Access: no need to wait for the slow retry.
    const granted = (): void => {
      if (!stale()) this.reconnect.hurry();
    };
    whenSettled(
      diagnoseFailure(url, this.csp, code, granted),
      (result) => done(result as LastError),
      (error) => done({ reason: 'closed', message: `pagecall: could not connect to ${url} (${messageOf(error)})` }),
    );
  }

  /** A CSP violation report can arrive after the diagnosis looked: if it blocked the bridge, say so now and slow down. */
  private violated(violation: Violation): void {
    if (this.state !== 'connecting' && this.state !== 'reconnecting') return;
    const error = cspFailure(this.options!.url, violation);
    if (!error) return;
    this.failures.report(error, logWarn);
    this.reconnect.diagnosed(error.reason);
  }

  private sendHello(conn: Connection): void {
    const settings = this.options!;
    conn.sentUrl = pageUrl();
    conn.sentTitle = pageTitle();
    conn.actionsDirty = false;
    // One literal, copied into an object without a prototype: nothing the site put on
    // Object.prototype (a setter for `key`, a toJSON) sees the key, token or resume secret.
    const fields = (actions: string[]): HelloMessage =>
      bare<HelloMessage>({
        type: 'hello',
        v: PROTOCOL_VERSION,
        group: settings.group,
        context: this.context,
        clientId: this.clientId,
        resume: this.resume,
        token: settings.token,
        key: settings.key,
        url: conn.sentUrl,
        title: conn.sentTitle,
        actions,
      });
    let hello = fields(this.registry.names());
    if (sizeIfOver(stringifyJson(hello), MAX_HELLO_BYTES) !== undefined) {
      // The bridge reads at most MAX_HELLO_BYTES from a page it has not admitted: the functions
      // follow in an update right after the welcome.
      hello = fields([]);
      conn.actionsDirty = true;
    }
    conn.outbox.post(hello);
  }

  private welcome(conn: Connection, message: WelcomeMessage): void {
    const settings = this.options!;
    conn.welcomed = true;
    conn.heartbeatMs = message.heartbeatMs > 0 ? message.heartbeatMs : 0;
    conn.outbox.maxFrameBytes = message.maxFrameBytes > 0 ? message.maxFrameBytes : Infinity;
    conn.allowEval = message.allowEval === true;
    this.clientId = message.clientId;
    this.resume = message.resume;
    if (this.context === 'top') storeClientId(settings.group, message.clientId, message.resume);
    this.reconnect.reset();
    this.state = 'open';
    this.connects++;
    this.failures.clear();
    this.lastDiagnosisAt = -Infinity;
    logInfo(`pagecall: connected to ${settings.url} as ${message.clientId} in group ${settings.group}`);
    if (conn.actionsDirty) conn.outbox.requestFlush();
    this.onWelcomed?.();
    if (conn.heartbeatMs > 0) {
      conn.watch((quietMs) => {
        conn.close(SILENT_CLOSE_CODE, 'pagecall: no frame from the bridge');
        this.closed(conn, SILENT_CLOSE_CODE, `no frame from the bridge for ${quietMs} ms`);
      });
    }
  }

  /** Single-page apps change URL and title without reloading: tell the bridge on the next ping. */
  private checkLocation(conn: Connection): void {
    const url = pageUrl();
    const title = pageTitle();
    if (url === conn.sentUrl && title === conn.sentTitle) return;
    const update: UpdateMessage = { type: 'update' };
    if (url !== conn.sentUrl) update.url = url;
    if (title !== conn.sentTitle) update.title = title;
    conn.sentUrl = url;
    conn.sentTitle = title;
    conn.outbox.post(update);
  }

  private invoke(conn: Connection, message: InvokeMessage): void {
    const { id, action } = message;
    if (action === EVAL_ACTION && !conn.allowEval) {
      conn.outbox.postResult(failure(id, { code: 'EVAL_DISABLED', name: 'Error', message: 'this bridge does not allow running code strings (start it with --allow-eval)' }));
      return;
    }
    const fn: Registered | undefined = action === EVAL_ACTION ? { fn: indirectEval, values: DEFAULT_VALUE_OPTIONS } : this.registry.get(action);
    if (!fn) {
      conn.outbox.postResult(failure(id, { code: 'ACTION_NOT_FOUND', name: 'Error', message: `no function named ${stringifyJson(action)} is registered in this page` }));
      return;
    }
    conn.calls.run(message, fn);
  }
}
