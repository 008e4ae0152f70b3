/** The two ways to carry CDP: the debugging pipe of a Chromium we started, and a WebSocket to a running one. */
import type { Readable, Writable } from 'node:stream';
import WebSocket from 'ws';
import type { CdpTransport } from './connection.js';

/**
 * Chromium's `--remote-debugging-pipe`: it reads commands from its fd 3 and writes replies and
 * events to its fd 4, each message ended by a NUL byte. No port is opened, so no other local
 * process can drive the browser.
 */
export function pipeTransport(toBrowser: Writable, fromBrowser: Readable): CdpTransport {
  const transport: CdpTransport = {
    onmessage: undefined,
    onclose: undefined,
    send(message) {
      if (toBrowser.writable) toBrowser.write(`${message}\0`);
    },
    close() {
      toBrowser.end();
    },
  };
  let pending: Buffer[] = [];
  fromBrowser.on('data', (chunk: Buffer) => {
    let start = 0;
    for (let end = chunk.indexOf(0); end !== -1; end = chunk.indexOf(0, start)) {
      pending.push(chunk.subarray(start, end));
      const message = Buffer.concat(pending).toString('utf8');
      pending = [];
      start = end + 1;
      transport.onmessage?.(message);
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  });
  const closed = (): void => transport.onclose?.('the browser closed its debugging pipe');
  fromBrowser.once('close', closed);
  fromBrowser.once('end', closed);
  // The browser exiting makes writes fail with EPIPE: the close above reports it.
  toBrowser.on('error', () => {});
  fromBrowser.on('error', () => {});
  return transport;
}

/** A WebSocket to a browser's DevTools endpoint (`ws://127.0.0.1:9222/devtools/browser/…`). */
export async function webSocketTransport(url: string): Promise<CdpTransport> {
  // DevTools messages can be large (a page's evaluation result, a big script): no size limit here.
  const ws = new WebSocket(url, { maxPayload: 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const transport: CdpTransport = {
    onmessage: undefined,
    onclose: undefined,
    send(message) {
      if (ws.readyState === WebSocket.OPEN) ws.send(message);
    },
    close() {
      ws.close();
    },
  };
  ws.on('message', (data: Buffer) => transport.onmessage?.(data.toString('utf8')));
  ws.on('error', () => {});
  ws.once('close', () => transport.onclose?.('the DevTools WebSocket closed'));
  return transport;
}

/**
 * The browser WebSocket URL of a DevTools endpoint: `http://host:port` is asked at `/json/version`;
 * a `ws://` URL is used as it is.
 */
export async function browserWebSocketUrl(endpoint: string): Promise<string> {
  if (/^wss?:\/\//.test(endpoint)) return endpoint;
  const url = new URL('/json/version', endpoint);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    throw new Error(`cannot reach the browser's DevTools endpoint at ${url.origin}: ${e.cause?.code ?? e.message} (start Chrome with --remote-debugging-port=PORT and its own --user-data-dir)`);
  }
  const body = (await res.json().catch(() => ({}))) as { webSocketDebuggerUrl?: unknown };
  if (typeof body.webSocketDebuggerUrl !== 'string') throw new Error(`${url.href} did not give a webSocketDebuggerUrl; is ${endpoint} a Chrome DevTools endpoint?`);
  return body.webSocketDebuggerUrl;
}
