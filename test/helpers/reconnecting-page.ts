/**
 * A scripted page that behaves like the injector across connection loss: it reconnects (keeping its
 * client id and sending back the id's resume secret) whenever its socket closes, unless the close
 * code says not to. Results of one frame of
 * invokes leave in one frame, as the real page client packs them.
 */
import WebSocket from 'ws';
import { FINAL_CLOSE_CODES, PROTOCOL_VERSION, type InvokeMessage, type Json, type WelcomeMessage } from '../../protocol/index.js';
import { TEST_PAGE_KEY } from './bridge.js';
import { WAIT_MS, withTimeout } from './wait.js';

/** Returns the encoded result, or throws to report a page error. Promises are answered when they settle. */
export type PageHandler = (args: Json[], invoke: InvokeMessage) => Json | Promise<Json>;

export interface ReconnectingPageOptions {
  bridgeUrl: string;
  group: string;
  handlers: Record<string, PageHandler>;
  /** Client id to start with; the bridge assigns one when absent, and the page keeps it. */
  clientId?: string;
  token?: string;
  /** The page key to show; default TEST_PAGE_KEY (what test bridges use). */
  key?: string;
  /** Delay before retrying a connection that failed (the bridge is down). Default 20 ms. */
  retryDelayMs?: number;
}

export interface ReconnectingPage {
  /** The id the bridge welcomed this page with last. */
  readonly clientId: string | undefined;
  /** True between a welcome and the next close. */
  readonly connected: boolean;
  /** Welcomes received so far (1 after the first connection, +1 per reconnect). */
  readonly welcomes: number;
  /** Close codes received so far, in order. */
  readonly closeCodes: readonly number[];
  /** Invokes received so far. */
  readonly invokes: number;
  /** Resolves at the next welcome; rejects when none comes within `timeoutMs` (default 10 s). */
  nextWelcome(timeoutMs?: number): Promise<WelcomeMessage>;
  /** While held, the page does not reconnect; release() lets it. */
  hold(): void;
  release(): void;
  /** Cuts the connection as a crashed tab (`terminate`) or a navigating one (`close`) would; it then reconnects. */
  drop(how?: 'terminate' | 'close'): void;
  /** Stops for good and waits until the socket is closed. */
  close(): Promise<void>;
}

/** Starts the page; resolves after its first welcome. */
export async function startReconnectingPage(options: ReconnectingPageOptions): Promise<ReconnectingPage> {
  const wsUrl = options.bridgeUrl.replace(/^http/, 'ws') + '/v1/ws';
  const retryDelayMs = options.retryDelayMs ?? 20;
  let clientId = options.clientId;
  let resume: string | undefined;
  let ws: WebSocket | null = null;
  let connected = false;
  let welcomes = 0;
  let invokes = 0;
  let held = false;
  let stopped = false;
  let pendingConnect = false;
  const closeCodes: number[] = [];
  let welcomeWaiters: Array<(m: WelcomeMessage) => void> = [];
  let closedWaiters: Array<() => void> = [];

  const hello = (): string =>
    JSON.stringify({
      type: 'hello',
      v: PROTOCOL_VERSION,
      group: options.group,
      url: 'http://fake.test/',
      title: 'reconnecting fake page',
      actions: Object.keys(options.handlers),
      ...(clientId ? { clientId } : {}),
      ...(resume ? { resume } : {}),
      ...(options.token ? { token: options.token } : {}),
      key: options.key ?? TEST_PAGE_KEY,
    });

  const connect = (): void => {
    pendingConnect = false;
    if (stopped) return;
    if (held) {
      pendingConnect = true;
      return;
    }
    const socket = new WebSocket(wsUrl);
    ws = socket;
    const send = (m: unknown): void => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(m));
    };
    socket.on('error', () => {});
    socket.on('open', () => socket.send(hello()));
    socket.on('message', (data) => {
      const parsed = JSON.parse(data.toString()) as unknown;
      const batch: unknown[] = [];
      for (const m of (Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, any>>) {
        if (ws !== socket) return; // dropped while handling this frame: the rest is lost, as in a dead tab
        switch (m.type) {
          case 'welcome':
            clientId = m.clientId as string;
            resume = m.resume as string | undefined;
            connected = true;
            welcomes++;
            for (const w of welcomeWaiters.splice(0)) w(m as WelcomeMessage);
            break;
          case 'ping':
            batch.push({ type: 'pong', t: m.t });
            break;
          case 'invoke': {
            invokes++;
            const invoke = m as InvokeMessage;
            const handler = options.handlers[invoke.action];
            if (!handler) {
              batch.push({ type: 'result', id: invoke.id, ok: false, error: { code: 'ACTION_NOT_FOUND', name: 'Error', message: `no ${invoke.action}` } });
              break;
            }
            try {
              const value = handler(invoke.args, invoke);
              if (value instanceof Promise) {
                value.then(
                  (v) => send({ type: 'result', id: invoke.id, ok: true, value: v }),
                  (e: Error) => send({ type: 'result', id: invoke.id, ok: false, error: { name: e.name, message: e.message } }),
                );
              } else {
                batch.push({ type: 'result', id: invoke.id, ok: true, value });
              }
            } catch (e) {
              batch.push({ type: 'result', id: invoke.id, ok: false, error: { name: (e as Error).name, message: (e as Error).message } });
            }
            break;
          }
        }
      }
      if (batch.length > 0) send(batch.length === 1 ? batch[0] : batch);
    });
    socket.on('close', (code) => {
      closeCodes.push(code);
      if (ws === socket) {
        ws = null;
        connected = false;
      }
      for (const w of closedWaiters.splice(0)) w();
      if (stopped || FINAL_CLOSE_CODES.includes(code)) return;
      // 1006 is an abnormal close, often "the bridge is not there (yet)": wait a little before retrying.
      if (ws === null) setTimeout(connect, code === 1006 ? retryDelayMs : 0);
    });
  };

  const page: ReconnectingPage = {
    get clientId() {
      return clientId;
    },
    get connected() {
      return connected;
    },
    get welcomes() {
      return welcomes;
    },
    get closeCodes() {
      return closeCodes;
    },
    get invokes() {
      return invokes;
    },
    nextWelcome: (timeoutMs = WAIT_MS) => {
      let waiter: (m: WelcomeMessage) => void = () => {};
      const welcome = new Promise<WelcomeMessage>((resolve) => {
        waiter = resolve;
        welcomeWaiters.push(resolve);
      });
      return withTimeout(welcome, 'the reconnecting page to be welcomed', timeoutMs).finally(() => {
        welcomeWaiters = welcomeWaiters.filter((w) => w !== waiter);
      });
    },
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      if (pendingConnect) connect();
    },
    drop: (how = 'terminate') => {
      const socket = ws;
      if (!socket) return;
      ws = null;
      connected = false;
      if (how === 'terminate') socket.terminate();
      else socket.close();
    },
    close: async () => {
      stopped = true;
      const socket = ws;
      ws = null;
      connected = false;
      welcomeWaiters = [];
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      const closed = new Promise<void>((resolve) => {
        closedWaiters.push(resolve);
        socket.close();
      });
      await withTimeout(closed, 'the reconnecting page to close').catch(() => socket.terminate());
    },
  };
  const first = page.nextWelcome();
  connect();
  await first;
  return page;
}
