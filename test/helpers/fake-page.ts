/** A scripted page speaking the wire protocol from Node, for protocol edge cases. */
import { once } from 'node:events';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type InvokeMessage, type Json, type WelcomeMessage } from '../../protocol/index.js';
import { TEST_PAGE_KEY } from './bridge.js';
import { WAIT_MS, withTimeout } from './wait.js';

/** A handler returns the encoded value, throws to report a page error, or returns HANG to never answer. */
export type FakeHandler = (args: Json[], invoke: InvokeMessage) => Json | Promise<Json> | typeof HANG;
export const HANG = Symbol('hang');

export interface FakePageOptions {
  bridgeUrl: string;
  group: string;
  handlers?: Record<string, FakeHandler>;
  clientId?: string;
  /** The resume secret of `clientId` (from an earlier welcome), to take the id over from a connected page. */
  resume?: string;
  token?: string;
  /** The page key to show; default TEST_PAGE_KEY (what test bridges use); null sends none. */
  key?: string | null;
  url?: string;
  title?: string;
  origin?: string;
  /** Where the page says it runs (hello.context). */
  context?: 'top' | 'frame' | 'worker';
  /** Send hello at all (default true). */
  hello?: boolean;
}

export interface FakePage {
  ws: WebSocket;
  welcome: WelcomeMessage;
  clientId: string;
  /** Every message received from the bridge, in order. */
  received: any[];
  /** Stop answering pings (a frozen main thread). */
  freeze(): void;
  /** Send a raw text frame. */
  sendRaw(text: string): void;
  /** Resolves with the next message of this type; rejects when none comes within `timeoutMs` (default 10 s). */
  next(type: string, timeoutMs?: number): Promise<any>;
  /** Closes the socket and waits until it is closed. */
  close(): Promise<void>;
}

/** Connects, says hello and waits for the welcome (each step at most 10 s). */
export async function connectFakePage(options: FakePageOptions): Promise<FakePage> {
  const wsUrl = options.bridgeUrl.replace(/^http/, 'ws') + '/v1/ws';
  const ws = new WebSocket(wsUrl, options.origin ? { origin: options.origin } : {});
  ws.on('error', () => {});
  const received: any[] = [];
  const waiters: Array<{ type: string; resolve: (m: any) => void }> = [];
  const opened = once(ws, 'open');
  let frozen = false;
  const handlers = options.handlers ?? {};
  const send = (m: unknown): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
  };
  ws.on('message', (data) => {
    const parsed = JSON.parse(data.toString());
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      received.push(m);
      for (let i = 0; i < waiters.length; i++) {
        if (waiters[i]!.type === m.type) {
          waiters.splice(i, 1)[0]!.resolve(m);
          break;
        }
      }
      if (m.type === 'ping' && !frozen) send({ type: 'pong', t: m.t });
      if (m.type === 'invoke') {
        const handler = handlers[m.action];
        if (!handler) {
          send({ type: 'result', id: m.id, ok: false, error: { code: 'ACTION_NOT_FOUND', name: 'Error', message: `no ${m.action}` } });
          continue;
        }
        Promise.resolve()
          .then(() => handler(m.args, m))
          .then(
            (value) => {
              if (value !== HANG) send({ type: 'result', id: m.id, ok: true, value });
            },
            (error: Error) => send({ type: 'result', id: m.id, ok: false, error: { name: error.name, message: error.message, stack: error.stack } }),
          );
      }
    }
  });
  const next = (type: string, timeoutMs = WAIT_MS): Promise<any> => {
    const waiter = { type, resolve: (_: any) => {} };
    const message = new Promise<any>((resolve) => {
      waiter.resolve = resolve;
      waiters.push(waiter);
    });
    return withTimeout(message, `a "${type}" message from the bridge`, timeoutMs).catch((error: unknown) => {
      const i = waiters.indexOf(waiter);
      if (i >= 0) waiters.splice(i, 1);
      throw error;
    });
  };
  await withTimeout(opened, `the page socket to ${wsUrl} to open`);
  const welcomed = options.hello === false ? null : next('welcome');
  if (options.hello !== false) {
    const hello: Record<string, unknown> = {
      type: 'hello',
      v: PROTOCOL_VERSION,
      group: options.group,
      url: options.url ?? 'http://fake.test/',
      title: options.title ?? 'fake page',
      actions: Object.keys(handlers),
    };
    if (options.clientId) hello.clientId = options.clientId;
    if (options.resume) hello.resume = options.resume;
    if (options.token) hello.token = options.token;
    const key = options.key === undefined ? TEST_PAGE_KEY : options.key;
    if (key !== null) hello.key = key;
    if (options.context) hello.context = options.context;
    send(hello);
  }
  const closedFirst = once(ws, 'close').then(([code]) => {
    throw new Error(`the page socket closed before welcome (close code ${String(code)})`);
  });
  closedFirst.catch(() => {});
  // The race below reports whichever comes first; the other must not end as an unhandled rejection.
  welcomed?.catch(() => {});
  const welcome = welcomed === null ? ({} as WelcomeMessage) : ((await Promise.race([welcomed, closedFirst])) as WelcomeMessage);
  return {
    ws,
    welcome,
    clientId: welcome.clientId,
    received,
    freeze: () => {
      frozen = true;
    },
    sendRaw: (text) => ws.send(text),
    next,
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = once(ws, 'close');
      ws.close();
      await withTimeout(closed, 'the page socket to close', WAIT_MS).catch(() => ws.terminate());
    },
  };
}
