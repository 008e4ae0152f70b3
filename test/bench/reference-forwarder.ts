/**
 * The reference forwarder: the least a bridge can do. Plain node:http plus ws, one WebSocket message
 * per call each way, no validation beyond JSON.parse, no deadlines, no balancing, no packing. Runs
 * as a child process of the bench and talks to it over IPC.
 *
 *   POST /call  {"action": "echo", "args": [...]}  ->  {"ok": true, "result": ...}
 *   ws://127.0.0.1:PORT/   the page's socket (the last page to connect serves every call)
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** Messages the forwarder sends to the bench. */
export type ForwarderReply = { type: 'ready'; port: number } | { type: 'page' } | { type: 'memory'; rss: number };

const reply = (message: ForwarderReply): void => {
  process.send?.(message);
};

let page: WebSocket | undefined;
const waiting = new Map<number, ServerResponse>();
let nextId = 0;

const server = createServer({ keepAlive: true }, (req, res) => {
  if (req.method !== 'POST' || req.url !== '/call') {
    res.statusCode = 404;
    res.end();
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: { action: string; args: unknown[] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { action: string; args: unknown[] };
    } catch {
      res.statusCode = 400;
      res.end();
      return;
    }
    if (!page) {
      res.statusCode = 503;
      res.end();
      return;
    }
    const id = ++nextId;
    waiting.set(id, res);
    page.send(JSON.stringify({ id, action: body.action, args: body.args }));
  });
});

const wss = new WebSocketServer({ server, perMessageDeflate: false });
wss.on('connection', (ws) => {
  page = ws;
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as { id: number; ok: boolean; value?: unknown; error?: unknown };
    const res = waiting.get(message.id);
    if (!res) return;
    waiting.delete(message.id);
    const text = JSON.stringify(message.ok ? { ok: true, result: message.value } : { ok: false, error: message.error });
    res.writeHead(message.ok ? 200 : 502, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
  reply({ type: 'page' });
});

process.on('message', (message: { type: string }) => {
  if (message.type === 'memory') reply({ type: 'memory', rss: process.memoryUsage().rss });
});
// The bench going away (finished, killed, crashed) must not leave the forwarder running.
process.on('disconnect', () => process.exit(0));

server.listen(0, '127.0.0.1', () => reply({ type: 'ready', port: (server.address() as AddressInfo).port }));
