/**
 * The page's connection to the bridge: handshake, reconnects, liveness, packing outgoing messages,
 * and running the calls the bridge sends.
 */
import { createCodec, type Json } from '../../protocol/codec.js';
import { checkBridgeMessage, CLIENT_ID_PATTERN, GROUP_PATTERN } from '../../protocol/guards.js';
import {
  CLOSE_CODES,
  EVAL_ACTION,
  FINAL_CLOSE_CODES,
  type BridgeMessage,
  type HelloMessage,
  type InvokeMessage,
  type PageErrorPayload,
  type PageMessage,
  type ResultMessage,
  type UpdateMessage,
  type WelcomeMessage,
} from '../../protocol/messages.js';
import { PROTOCOL_VERSION } from '../../protocol/version.js';
import { reconnectDelay } from './backoff.js';
import { pageBase64 } from './base64.js';
import {
  apply,
  clearTimer,
  isArray,
  logDebug,
  logInfo,
  logWarn,
  min,
  NativeAbortController,
  NativeURL,
  NativeWebSocket,
  now,
  pageTitle,
  pageUrl,
  parseJson,
  queueMicro,
  random,
  setTimer,
  socketClose,
  socketSend,
  storageGet,
  storageRemove,
  storageSet,
  stringifyJson,
  whenSettled,
} from './builtins.js';
import { diagnoseFailure, type CspWatch } from './diagnose.js';
import { messageOf, namedError, toErrorPayload } from './error-payload.js';
import { packFrames, sizeIfOver } from './frames.js';
import type { Registry } from './registry.js';
import type { CallContext, ConnectOptions, ConnectionState, LastError, PagecallStatus } from './types.js';

const STORAGE_PREFIX = 'pagecall:clientId:';
/** Silence for this many heartbeats means the link is dead. */
const SILENT_HEARTBEATS = 3;
/** A failing connect is diagnosed again at most this often (the probe is a network request). */
const DIAGNOSE_EVERY_MS = 15000;
/** setTimeout fires at once for delays above 2^31-1 ms. */
const MAX_TIMER_MS = 2147483647;
/** What browsers report for a socket that failed before opening. */
const ABNORMAL_CLOSE_CODE = 1006;
/** Close code the page uses when it gives up on a silent bridge. */
const SILENT_CLOSE_CODE = 4000;

/** One WebSocket and everything that lives and dies with it. */
interface Connection {
  ws: WebSocket;
  opened: boolean;
  welcomed: boolean;
  heartbeatMs: number;
  maxFrameBytes: number;
  allowEval: boolean;
  lastFrameAt: number;
  watchdog: number | undefined;
  queue: string[];
  flushQueued: boolean;
  /** A frame from the bridge is being handled (see receive). */
  reading: boolean;
  actionsDirty: boolean;
  sentUrl: string;
  sentTitle: string;
}

/** A call that is running; the table entry is the one settle path's proof that it may still answer. */
interface Call {
  id: string;
  action: string;
  timeoutMs: number;
  /** Page clock (`now()`) time at which the deadline passes. */
  deadline: number;
  /** Made the first time the function reads `this.signal`: most functions never do, and it is per-call work. */
  controller: AbortController | undefined;
  /** Why the call was aborted, for a signal first read afterwards. */
  abortReason: Error | undefined;
}

// Captured at load; calling it through a variable is an indirect eval, which runs in global scope.
const nativeEval = globalThis.eval;
const evalCode = (code: unknown): unknown => nativeEval(String(code));

function storageKey(group: string): string {
  return STORAGE_PREFIX + group;
}

function checkOptions(options: unknown): ConnectOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('pagecall.connect: pass { url, group, token?, clientId? }');
  const { url, group, token, clientId } = options as Record<string, unknown>;
  let protocol = '';
  try {
    protocol = typeof url === 'string' ? new NativeURL(url).protocol : '';
  } catch {
    // reported below
  }
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    throw new TypeError(`pagecall.connect: url must be a ws:// or wss:// URL such as ws://127.0.0.1:12180/v1/ws, got ${stringifyJson(String(url))}`);
  }
  if (typeof group !== 'string' || !GROUP_PATTERN.test(group)) {
    throw new TypeError(`pagecall.connect: group must be 1-64 letters, digits or _ . : - (got ${stringifyJson(String(group))})`);
  }
  if (token !== undefined && typeof token !== 'string') throw new TypeError('pagecall.connect: token must be a string');
  if (clientId !== undefined && (typeof clientId !== 'string' || !CLIENT_ID_PATTERN.test(clientId))) {
    throw new TypeError('pagecall.connect: clientId must be 1-64 letters, digits, _ or -');
  }
  const checked: ConnectOptions = { url: url as string, group };
  if (token !== undefined) checked.token = token;
  if (clientId !== undefined) checked.clientId = clientId;
  return checked;
}

/** The call's AbortSignal, made on first use; already aborted when the call was. */
function signalOf(call: Call): AbortSignal {
  if (!call.controller) {
    call.controller = new NativeAbortController();
    if (call.abortReason) call.controller.abort(call.abortReason);
  }
  return call.controller.signal;
}

const CALL = Symbol('pagecall.call');

/**
 * `this` in a page function: a class, so making one per call is a plain allocation (an object
 * literal with a getter is not). The call itself sits under a symbol, out of the function's way
 * (not a `#private` field: the bundle targets ES2020, where those compile to a WeakMap).
 */
class Context implements CallContext {
  readonly id: string;
  readonly action: string;
  readonly deadline: number;
  readonly [CALL]: Call;

  constructor(call: Call) {
    this.id = call.id;
    this.action = call.action;
    this.deadline = call.deadline;
    this[CALL] = call;
  }

  get signal(): AbortSignal {
    return signalOf(this[CALL]);
  }
}

function failure(id: string, error: PageErrorPayload): ResultMessage {
  return { type: 'result', id, ok: false, error };
}

/** Connection and call handling for one realm. */
export class Client {
  private state: ConnectionState = 'idle';
  private options: ConnectOptions | undefined;
  private clientId: string | undefined;
  private conn: Connection | undefined;
  private attempt = 0;
  private connects = 0;
  /** Bumped whenever settings change or the client stops, so late async work can tell it is stale. */
  private epoch = 0;
  private reconnectTimer: number | undefined;
  private lastError: LastError | undefined;
  private readonly logged = new Set<string>();
  private diagnosing = false;
  private lastDiagnosisAt = -Infinity;
  private bridgeError: string | undefined;
  private readonly calls = new Map<string, Call>();
  /** One timer for every call's deadline, armed for the earliest one (a timer per call costs a task each). */
  private deadlineTimer: number | undefined;
  private deadlineAt = Infinity;
  private readonly codec = createCodec(pageBase64);
  private readonly registry: Registry;
  private readonly csp: CspWatch;

  /** Creates an idle client serving `registry`'s functions. */
  constructor(registry: Registry, csp: CspWatch) {
    this.registry = registry;
    this.csp = csp;
  }

  /** Connects with `options` (or the last ones); a no-op when already connected or connecting with the same settings. */
  connect(options: ConnectOptions | undefined): void {
    const given = options ?? this.options;
    if (!given) throw new TypeError('pagecall.connect: pass { url, group } (there are no earlier settings to reuse)');
    const next = checkOptions(given);
    const current = this.options;
    const same =
      current !== undefined &&
      next.url === current.url &&
      next.group === current.group &&
      next.token === current.token &&
      (next.clientId === undefined || next.clientId === this.clientId);
    if (same && (this.state === 'connecting' || this.state === 'open' || this.state === 'reconnecting')) return;

    this.stop('pagecall: reconnecting with new settings');
    this.options = next;
    this.clientId = next.clientId ?? this.storedClientId(next.group);
    this.attempt = 0;
    this.lastError = undefined;
    this.logged.clear();
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
    this.scheduleFlush(conn);
  }

  /** A plain snapshot for `pagecall.status()`. */
  status(): PagecallStatus {
    const status: PagecallStatus = {
      state: this.state,
      url: this.options?.url ?? null,
      group: this.options?.group ?? null,
      clientId: this.clientId ?? null,
      actions: this.registry.names(),
      inFlight: this.calls.size,
      connects: this.connects,
    };
    if (this.lastError) status.lastError = { reason: this.lastError.reason, message: this.lastError.message };
    return status;
  }

  private storedClientId(group: string): string | undefined {
    const stored = storageGet(storageKey(group));
    return stored !== undefined && CLIENT_ID_PATTERN.test(stored) ? stored : undefined;
  }

  private stop(reason: string): void {
    this.epoch++;
    if (this.reconnectTimer !== undefined) clearTimer(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const conn = this.detach(reason);
    if (conn) socketClose(conn.ws, 1000, 'pagecall: client closed');
  }

  private open(): void {
    const settings = this.options!;
    let ws: WebSocket;
    try {
      ws = new NativeWebSocket(settings.url);
    } catch (error) {
      // Some browsers throw here for CSP or blocked ports instead of failing the socket later.
      logDebug(`pagecall: cannot open ${settings.url}: ${messageOf(error)}`);
      this.closed(undefined, undefined, '');
      return;
    }
    const conn: Connection = {
      ws,
      opened: false,
      welcomed: false,
      heartbeatMs: 0,
      maxFrameBytes: Infinity,
      allowEval: false,
      lastFrameAt: now(),
      watchdog: undefined,
      queue: [],
      flushQueued: false,
      reading: false,
      actionsDirty: false,
      sentUrl: '',
      sentTitle: '',
    };
    this.conn = conn;
    ws.onopen = () => {
      if (this.conn !== conn) return;
      conn.opened = true;
      this.sendHello(conn);
    };
    ws.onmessage = (event: MessageEvent) => {
      if (this.conn !== conn) return;
      conn.lastFrameAt = now();
      this.receive(conn, event.data as unknown);
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.conn === conn) this.closed(conn, event.code, event.reason);
    };
    // A socket blocked by CSP gets an error event and never a close event.
    ws.onerror = () => {
      if (this.conn !== conn || conn.opened) return;
      socketClose(ws, 1000, '');
      this.closed(conn, ABNORMAL_CLOSE_CODE, '');
    };
  }

  /** Forgets the current connection: stops its timers, aborts its calls, drops its queue. */
  private detach(reason: string): Connection | undefined {
    const conn = this.conn;
    if (!conn) return undefined;
    this.conn = undefined;
    clearTimer(conn.watchdog);
    conn.queue = [];
    const abortReason = namedError('AbortError', reason);
    const calls = [...this.calls.values()];
    this.calls.clear();
    this.disarmDeadline();
    for (const call of calls) {
      call.abortReason = abortReason;
      call.controller?.abort(abortReason);
    }
    return conn;
  }

  private closed(conn: Connection | undefined, code: number | undefined, reason: string): void {
    const wasOpen = conn?.opened ?? false;
    this.detach('pagecall: the connection to the bridge closed');
    const url = this.options!.url;
    const detail = [reason, this.bridgeError].filter((part) => part).join('; ');
    this.bridgeError = undefined;

    if (code !== undefined && FINAL_CLOSE_CODES.includes(code)) {
      this.state = 'closed';
      this.epoch++;
      this.report(this.finalError(code, detail), logWarn);
      return;
    }
    if (code === CLOSE_CODES.REPLACED) {
      // Usually a duplicated tab that copied sessionStorage: let the other one keep the id.
      const key = storageKey(this.options!.group);
      if (storageGet(key) === this.clientId) storageRemove(key);
      const old = this.clientId;
      this.clientId = undefined;
      this.report({ reason: 'replaced', message: `pagecall: another connection took client id ${old}; reconnecting with a new one` }, logInfo);
      this.retry(0);
      return;
    }
    if (!wasOpen) {
      this.diagnose(code);
    } else {
      const why = `${code !== undefined ? `code ${code}` : 'no code'}${detail ? `: ${detail}` : ''}`;
      this.report({ reason: 'closed', message: `pagecall: the connection to ${url} closed (${why}); reconnecting` }, logInfo);
    }
    this.retry(reconnectDelay(this.attempt++, random()));
  }

  private finalError(code: number, detail: string): LastError {
    const { url, group } = this.options!;
    const why = detail ? ` (${detail})` : '';
    switch (code) {
      case CLOSE_CODES.UNAUTHORIZED:
        return {
          reason: 'unauthorized',
          message: `pagecall: the bridge at ${url} refused this page: token missing or wrong${why}. Pass it: pagecall.connect({ url, group, token }). Not reconnecting.`,
        };
      case CLOSE_CODES.KICKED:
        return { reason: 'kicked', message: `pagecall: an operator disconnected this page from ${url}${why}. Call pagecall.connect() to rejoin.` };
      case CLOSE_CODES.PROTOCOL_MISMATCH:
        return {
          reason: 'protocol-mismatch',
          message: `pagecall: the bridge at ${url} speaks another protocol version than this injector (v${PROTOCOL_VERSION})${why}. Load the injector that ships with the running bridge. Not reconnecting.`,
        };
      case CLOSE_CODES.FORBIDDEN:
        return {
          reason: 'closed',
          message: `pagecall: the bridge at ${url} does not accept pages from ${this.pageOrigin()} in group ${group}${why}. Allow this origin in the bridge's settings, then call pagecall.connect() again.`,
        };
      default:
        return { reason: 'closed', message: `pagecall: the bridge at ${url} refused the hello (close code ${code})${why}. Fix the connect options. Not reconnecting.` };
    }
  }

  private pageOrigin(): string {
    try {
      return new NativeURL(pageUrl()).origin;
    } catch {
      return 'this page';
    }
  }

  private retry(delay: number): void {
    this.state = 'reconnecting';
    if (this.reconnectTimer !== undefined) clearTimer(this.reconnectTimer);
    this.reconnectTimer = setTimer(() => {
      this.reconnectTimer = undefined;
      if (this.state === 'reconnecting' && !this.conn) this.open();
    }, delay);
  }

  private diagnose(code: number | undefined): void {
    if (this.diagnosing || now() - this.lastDiagnosisAt < DIAGNOSE_EVERY_MS) return;
    this.diagnosing = true;
    this.lastDiagnosisAt = now();
    const epoch = this.epoch;
    const done = (result: unknown): void => {
      this.diagnosing = false;
      if (epoch !== this.epoch || this.state === 'open' || this.state === 'closed') return;
      this.report(result as LastError, logWarn);
    };
    whenSettled(diagnoseFailure(this.options!.url, this.csp, code), done, (error) =>
      done({ reason: 'closed', message: `pagecall: could not connect to ${this.options!.url} (${messageOf(error)})` }),
    );
  }

  /** Keeps `error` as the last one and logs it, once per distinct message until the next welcome. */
  private report(error: LastError, log: (message: string) => void): void {
    this.lastError = error;
    if (this.logged.has(error.message)) return;
    this.logged.add(error.message);
    log(error.message);
  }

  private sendHello(conn: Connection): void {
    const settings = this.options!;
    conn.sentUrl = pageUrl();
    conn.sentTitle = pageTitle();
    conn.actionsDirty = false;
    const hello: HelloMessage = {
      type: 'hello',
      v: PROTOCOL_VERSION,
      group: settings.group,
      url: conn.sentUrl,
      title: conn.sentTitle,
      actions: this.registry.names(),
    };
    if (this.clientId !== undefined) hello.clientId = this.clientId;
    if (settings.token !== undefined) hello.token = settings.token;
    this.post(conn, hello);
  }

  private post(conn: Connection, message: PageMessage): void {
    this.enqueue(conn, stringifyJson(message));
  }

  private enqueue(conn: Connection, text: string): void {
    conn.queue.push(text);
    this.scheduleFlush(conn);
  }

  private scheduleFlush(conn: Connection): void {
    if (conn.flushQueued || conn.reading) return;
    conn.flushQueued = true;
    queueMicro(() => this.flush(conn));
  }

  private flush(conn: Connection): void {
    conn.flushQueued = false;
    if (this.conn !== conn || !conn.opened) return;
    if (conn.actionsDirty && conn.welcomed) {
      conn.actionsDirty = false;
      const update: UpdateMessage = { type: 'update', actions: this.registry.names() };
      conn.queue.push(stringifyJson(update));
    }
    const frames = packFrames(conn.queue, conn.maxFrameBytes);
    conn.queue = [];
    for (const frame of frames) {
      try {
        socketSend(conn.ws, frame);
      } catch (error) {
        logDebug(`pagecall: could not send a frame: ${messageOf(error)}`);
        return;
      }
    }
  }

  private receive(conn: Connection, data: unknown): void {
    if (typeof data !== 'string') {
      logDebug('pagecall: ignoring a binary frame from the bridge');
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseJson(data);
    } catch {
      logDebug('pagecall: ignoring a frame from the bridge that is not JSON');
      return;
    }
    const messages: unknown[] = isArray(parsed) ? parsed : [parsed];
    // Results made while the frame is read wait for the end of it: the flush is queued after the
    // microtasks the frame's async functions queued, so their results leave in the same frame.
    conn.reading = true;
    try {
      for (let i = 0; i < messages.length; i++) {
        if (this.conn !== conn) return;
        const checked = checkBridgeMessage(messages[i]);
        if (!checked.ok) {
          logDebug(`pagecall: ignoring an invalid message from the bridge: ${checked.error}`);
          continue;
        }
        this.handle(conn, checked.value);
      }
    } finally {
      conn.reading = false;
      if (conn.queue.length > 0 || conn.actionsDirty) this.scheduleFlush(conn);
    }
  }

  private handle(conn: Connection, message: BridgeMessage): void {
    switch (message.type) {
      case 'invoke':
        this.invoke(conn, message);
        return;
      case 'cancel': {
        const call = this.calls.get(message.id);
        if (call) this.abortCall(call, namedError('AbortError', message.reason || 'pagecall: the caller cancelled the call'));
        return;
      }
      case 'ping':
        this.post(conn, { type: 'pong', t: message.t });
        this.checkLocation(conn);
        return;
      case 'welcome':
        this.welcome(conn, message);
        return;
      case 'error':
        this.bridgeError = `${message.code}: ${message.message}`;
        logWarn(`pagecall: the bridge reported ${this.bridgeError}`);
        return;
      default: {
        const unexpected: never = message;
        logDebug(`pagecall: ignoring message ${stringifyJson(unexpected)}`);
      }
    }
  }

  private welcome(conn: Connection, message: WelcomeMessage): void {
    const settings = this.options!;
    conn.welcomed = true;
    conn.heartbeatMs = message.heartbeatMs > 0 ? message.heartbeatMs : 0;
    conn.maxFrameBytes = message.maxFrameBytes > 0 ? message.maxFrameBytes : Infinity;
    conn.allowEval = message.allowEval === true;
    this.clientId = message.clientId;
    storageSet(storageKey(settings.group), message.clientId);
    this.attempt = 0;
    this.state = 'open';
    this.connects++;
    this.lastError = undefined;
    this.logged.clear();
    this.lastDiagnosisAt = -Infinity;
    logInfo(`pagecall: connected to ${settings.url} as ${message.clientId} in group ${settings.group}`);
    if (conn.actionsDirty) this.scheduleFlush(conn);
    if (conn.heartbeatMs > 0) this.watch(conn);
  }

  /** Closes and reconnects when nothing at all arrives for SILENT_HEARTBEATS heartbeats. */
  private watch(conn: Connection): void {
    const limit = min(SILENT_HEARTBEATS * conn.heartbeatMs, MAX_TIMER_MS);
    const check = (): void => {
      if (this.conn !== conn) return;
      const silent = now() - conn.lastFrameAt;
      if (silent >= limit) {
        socketClose(conn.ws, SILENT_CLOSE_CODE, 'pagecall: no frame from the bridge');
        this.closed(conn, SILENT_CLOSE_CODE, `no frame from the bridge for ${silent} ms`);
        return;
      }
      conn.watchdog = setTimer(check, limit - silent);
    };
    conn.watchdog = setTimer(check, limit);
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
    this.post(conn, update);
  }

  private invoke(conn: Connection, message: InvokeMessage): void {
    const { id, action, timeoutMs } = message;
    if (action === EVAL_ACTION && !conn.allowEval) {
      this.sendResult(conn, failure(id, { code: 'EVAL_DISABLED', name: 'Error', message: 'this bridge does not allow running code strings (start it with --allow-eval)' }));
      return;
    }
    const fn = action === EVAL_ACTION ? evalCode : this.registry.get(action);
    if (!fn) {
      this.sendResult(
        conn,
        failure(id, { code: 'ACTION_NOT_FOUND', name: 'Error', message: `no function named ${stringifyJson(action)} is registered in this page` }),
      );
      return;
    }
    if (this.calls.has(id)) {
      logDebug(`pagecall: ignoring a second invoke with id ${id}`);
      return;
    }
    let args: unknown;
    try {
      args = this.codec.decode(message.args);
    } catch (error) {
      this.sendResult(conn, failure(id, { name: 'CodecError', message: `args: ${messageOf(error)}` }));
      return;
    }
    const deadline = now() + (timeoutMs > 0 ? timeoutMs : 0);
    const call: Call = { id, action, timeoutMs, deadline, controller: undefined, abortReason: undefined };
    this.calls.set(id, call);
    this.armDeadline(deadline);
    const context: CallContext = new Context(call);
    let returned: unknown;
    let then: unknown;
    try {
      returned = apply(fn, context, args as unknown[]);
      if (returned !== null && (typeof returned === 'object' || typeof returned === 'function')) then = (returned as { then?: unknown }).then;
    } catch (error) {
      this.finish(conn, call, false, error);
      return;
    }
    // A plain value is answered now (it still leaves with the rest of this task's results); only
    // thenables wait for a microtask.
    if (typeof then !== 'function') {
      this.finish(conn, call, true, returned);
      return;
    }
    whenSettled(
      returned,
      (value) => this.finish(conn, call, true, value),
      (error) => this.finish(conn, call, false, error),
    );
  }

  /** Arms the shared deadline timer for `at` unless it already fires sooner. */
  private armDeadline(at: number): void {
    if (at >= this.deadlineAt) return;
    if (this.deadlineTimer !== undefined) clearTimer(this.deadlineTimer);
    this.deadlineAt = at;
    this.deadlineTimer = setTimer(this.sweepDeadlines, min(at - now(), MAX_TIMER_MS));
  }

  private disarmDeadline(): void {
    if (this.deadlineTimer !== undefined) clearTimer(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
  }

  /** Aborts every call whose deadline passed, then re-arms for the earliest one left. */
  private readonly sweepDeadlines = (): void => {
    this.deadlineTimer = undefined;
    this.deadlineAt = Infinity;
    const t = now();
    let next = Infinity;
    for (const call of this.calls.values()) {
      if (call.deadline <= t) {
        this.abortCall(call, namedError('TimeoutError', `pagecall: call ${call.id} (${call.action}) passed its ${call.timeoutMs} ms deadline`));
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    if (next !== Infinity) this.armDeadline(next);
  };

  /** Ends a call without a result (deadline passed, cancelled): the bridge has already given up on it. */
  private abortCall(call: Call, reason: Error): void {
    if (this.calls.get(call.id) !== call) return;
    this.calls.delete(call.id);
    call.abortReason = reason;
    call.controller?.abort(reason);
  }

  private finish(conn: Connection, call: Call, ok: boolean, outcome: unknown): void {
    if (this.calls.get(call.id) !== call) return;
    this.calls.delete(call.id);
    if (this.conn !== conn) return;
    if (!ok) {
      this.sendResult(conn, failure(call.id, toErrorPayload(outcome)));
      return;
    }
    let value: Json;
    try {
      value = this.codec.encode(outcome);
    } catch (error) {
      this.sendResult(
        conn,
        failure(call.id, { code: 'RESULT_NOT_SERIALIZABLE', name: 'CodecError', message: `the result cannot be sent: ${messageOf(error)}` }),
      );
      return;
    }
    this.sendResult(conn, { type: 'result', id: call.id, ok: true, value });
  }

  private sendResult(conn: Connection, message: ResultMessage): void {
    const max = conn.maxFrameBytes;
    let text: string;
    let size: number | undefined;
    try {
      text = stringifyJson(message);
      size = sizeIfOver(text, max);
    } catch (error) {
      // Strings past the engine's length limit make stringify throw.
      text = stringifyJson(failure(message.id, { code: 'RESULT_TOO_LARGE', name: 'Error', message: `the result cannot be serialized: ${messageOf(error)}` }));
    }
    if (size !== undefined) {
      text = stringifyJson(failure(message.id, { code: 'RESULT_TOO_LARGE', name: 'Error', message: `result is ${size} bytes; the bridge accepts at most ${max}` }));
    }
    this.enqueue(conn, text);
  }
}
