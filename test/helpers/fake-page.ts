/** A scripted page speaking the wire protocol from Node, for protocol edge cases. */
import { once } from 'node:events';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type InvokeMessage, type Json, type WelcomeMessage } from '../../protocol/index.js';

/** A handler returns the encoded value, throws to report a page error, or returns HANG to never answer. */
export type FakeHandler = (args: Json[], invoke: InvokeMessage) => Json | Promise<Json> | typeof HANG;
export const HANG = Symbol('hang');

export interface FakePageOptions {
  bridgeUrl: string;
  group: string;
  handlers?: Record<string, FakeHandler>;
  clientId?: string;
  token?: string;
  url?: string;
  title?: string;
  origin?: string;
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
  /** Resolves with the next message of this type. */
  next(type: string): Promise<any>;
  /** Closes the socket and waits until it is closed. */
  close(): Promise<void>;
}

/** Connects, says hello and waits for the welcome. */
export async function connectFakePage(options: FakePageOptions): Promise<FakePage> {
  const wsUrl = options.bridgeUrl.replace(/^http/, 'ws') + '/v1/ws';
  const ws = new WebSocket(wsUrl, options.origin ? { origin: options.origin } : {});
  ws.on('error', () => {});
  const received: any[] = [];
  const waiters: Array<{ type: string; resolve: (m: any) => void }> = [];
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
  const next = (type: string): Promise<any> => new Promise((resolve) => waiters.push({ type, resolve }));
  await once(ws, 'open');
  const welcomed = next('welcome');
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
    if (options.token) hello.token = options.token;
    send(hello);
  }
  const welcome = options.hello === false ? ({} as WelcomeMessage) : ((await Promise.race([welcomed, once(ws, 'close').then(() => { throw new Error('closed before welcome'); })])) as WelcomeMessage);
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
      await closed;
    },
  };
}
