/** A scripted JsRpc page speaking JsRpc's socket protocol from Node, for the compat listener's edge cases. */
import { once } from 'node:events';
import WebSocket from 'ws';
import { WAIT_MS, withTimeout } from './wait.js';

/** A frame the bridge sends a JsRpc page to run an action. */
export interface JsrpcInvoke {
  action: string;
  message_id: string;
  param: string;
}

/**
 * Answers an invoke: the returned value is sent as `response_data` exactly as it is (a string, a
 * number, an object...); NO_DATA leaves `response_data` out; HANG sends nothing.
 */
export type JsrpcHandler = (param: string, invoke: JsrpcInvoke) => unknown;
export const HANG = Symbol('hang');
export const NO_DATA = Symbol('no data');

export interface JsrpcPageOptions {
  /** The socket URL (the listener's pageUrl(), plus anything a test adds). */
  url: string;
  /** Handlers by action; their names are registered on open (unless `register` is false). */
  handlers?: Record<string, JsrpcHandler>;
  /** Send `_registerActions` on open (default true). */
  register?: boolean;
  /** Answer socket pings (default true; false is a link that died without closing). */
  autoPong?: boolean;
  origin?: string;
  headers?: Record<string, string>;
}

export interface JsrpcPage {
  ws: WebSocket;
  /** The id from the server's `{"registerId"}` frame. */
  clientId: string;
  /** Every frame received, parsed, in order. */
  received: unknown[];
  /** Sends `_registerActions` with the list JSON-encoded in a string (or `raw` as response_data). */
  register(actions: string[], raw?: unknown): void;
  /** Sends any text frame. */
  sendRaw(text: string | Buffer, binary?: boolean): void;
  /** Resolves with the next invoke (optionally of `action`); rejects after `timeoutMs`. */
  nextInvoke(action?: string, timeoutMs?: number): Promise<JsrpcInvoke>;
  /** Closes the socket and waits until it is closed. */
  close(): Promise<void>;
}

/** Connects and waits for the registerId frame (rejects with the HTTP status when the upgrade is refused). */
export async function connectJsrpcPage(options: JsrpcPageOptions): Promise<JsrpcPage> {
  const ws = new WebSocket(options.url, { autoPong: options.autoPong ?? true, ...(options.origin ? { origin: options.origin } : {}), ...(options.headers ? { headers: options.headers } : {}) });
  ws.on('error', () => {});
  const received: unknown[] = [];
  const waiters: Array<{ action: string | undefined; resolve: (m: JsrpcInvoke) => void }> = [];
  /** Invokes that arrived while no test waited for them, for the next nextInvoke(). */
  const unclaimed: JsrpcInvoke[] = [];
  const handlers = options.handlers ?? {};
  let registered: (id: string) => void = () => {};
  const registerId = new Promise<string>((resolve) => {
    registered = resolve;
  });
  const send = (frame: unknown): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  };
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as Record<string, unknown>;
    received.push(message);
    if (typeof message.registerId === 'string') {
      registered(message.registerId);
      return;
    }
    const invoke = message as unknown as JsrpcInvoke;
    const w = waiters.findIndex((waiter) => waiter.action === undefined || waiter.action === invoke.action);
    if (w >= 0) waiters.splice(w, 1)[0]!.resolve(invoke);
    else unclaimed.push(invoke);
    const handler = handlers[invoke.action];
    if (!handler) return;
    Promise.resolve()
      .then(() => handler(invoke.param, invoke))
      .then((value) => {
        if (value === HANG) return;
        const reply: Record<string, unknown> = { action: invoke.action, message_id: invoke.message_id };
        if (value !== NO_DATA) reply.response_data = value;
        send(reply);
      });
  });
  const refused = new Promise<never>((_, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused with ${res.statusCode}: ${body}`), { status: res.statusCode, body: JSON.parse(body) as unknown })));
    });
    ws.once('close', (code) => reject(new Error(`the page socket closed before registerId (close code ${code})`)));
  });
  refused.catch(() => {});
  await withTimeout(Promise.race([once(ws, 'open'), refused]), `the JsRpc page socket to ${options.url} to open`);
  const register = (actions: string[], raw?: unknown): void => send({ action: '_registerActions', message_id: '', response_data: raw === undefined ? JSON.stringify(actions) : raw });
  if (options.register !== false) register(Object.keys(handlers));
  const clientId = await withTimeout(Promise.race([registerId, refused]), 'the registerId frame');
  return {
    ws,
    clientId,
    received,
    register,
    sendRaw: (text, binary = false) => ws.send(text, { binary }),
    nextInvoke: (action, timeoutMs = WAIT_MS) => {
      const u = unclaimed.findIndex((invoke) => action === undefined || invoke.action === action);
      if (u >= 0) return Promise.resolve(unclaimed.splice(u, 1)[0]!);
      const waiter = { action, resolve: (_: JsrpcInvoke) => {} };
      const invoke = new Promise<JsrpcInvoke>((resolve) => {
        waiter.resolve = resolve;
        waiters.push(waiter);
      });
      return withTimeout(invoke, `an invoke${action ? ` of ${action}` : ''} on the JsRpc page`, timeoutMs).catch((error: unknown) => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1);
        throw error;
      });
    },
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = once(ws, 'close');
      ws.close();
      await withTimeout(closed, 'the JsRpc page socket to close', WAIT_MS).catch(() => ws.terminate());
    },
  };
}

/** The status and parsed body of an upgrade the listener refuses. */
export async function refusedUpgrade(options: JsrpcPageOptions): Promise<{ status: number; body: any }> {
  try {
    const page = await connectJsrpcPage(options);
    await page.close();
  } catch (error) {
    const { status, body } = error as { status?: number; body?: unknown };
    if (status !== undefined) return { status, body };
    throw error;
  }
  throw new Error(`the upgrade to ${options.url} was accepted`);
}
