/**
 * Many pages at once, for the bridge's memory figures: Node-side pages speaking the wire protocol
 * (a thousand Chromium tabs would not fit this machine). Each answers pings, and registers `hold`,
 * whose calls it keeps unanswered until the bench says `release` — so the bridge can be measured
 * holding every call in flight. Runs as a child process of the bench.
 */
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type InvokeMessage } from '../../protocol/index.js';

/** Sent by the bench. */
export type PagesRequest = { type: 'expect'; calls: number } | { type: 'release' } | { type: 'close' };

/** Sent back. */
export type PagesReply = { type: 'connected'; pages: number } | { type: 'holding'; calls: number } | { type: 'released'; calls: number };

const [bridgeUrl, countText] = process.argv.slice(2);
const count = Number(countText);
const reply = (message: PagesReply): void => {
  process.send?.(message);
};

interface Held {
  ws: WebSocket;
  invoke: InvokeMessage;
}

const sockets: WebSocket[] = [];
let held: Held[] = [];
let expected = Infinity;

function connect(): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${bridgeUrl!.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
    sockets.push(ws);
    ws.on('error', reject);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, group: 'idle', url: 'http://fake.test/', title: 'idle page', actions: ['hold'], key: process.env.PAGECALL_BENCH_PAGE_KEY }));
    });
    ws.on('message', (data) => {
      const parsed = JSON.parse(data.toString()) as unknown;
      const pongs: unknown[] = [];
      for (const m of (Array.isArray(parsed) ? parsed : [parsed]) as Array<{ type: string; t?: number }>) {
        if (m.type === 'welcome') resolve();
        else if (m.type === 'ping') pongs.push({ type: 'pong', t: m.t });
        else if (m.type === 'invoke') held.push({ ws, invoke: m as unknown as InvokeMessage });
      }
      if (pongs.length > 0) ws.send(JSON.stringify(pongs.length === 1 ? pongs[0] : pongs));
      if (held.length >= expected) {
        expected = Infinity;
        reply({ type: 'holding', calls: held.length });
      }
    });
  });
}

function release(): void {
  const byPage = new Map<WebSocket, unknown[]>();
  for (const { ws, invoke } of held) {
    let results = byPage.get(ws);
    if (!results) byPage.set(ws, (results = []));
    results.push({ type: 'result', id: invoke.id, ok: true, value: invoke.args[0] ?? null });
  }
  for (const [ws, results] of byPage) ws.send(JSON.stringify(results));
  reply({ type: 'released', calls: held.length });
  held = [];
}

process.on('message', (message: PagesRequest) => {
  if (message.type === 'expect') {
    expected = message.calls;
    if (held.length >= expected) {
      expected = Infinity;
      reply({ type: 'holding', calls: held.length });
    }
  } else if (message.type === 'release') {
    release();
  } else if (message.type === 'close') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

// Fifty handshakes at a time: a thousand at once would mostly measure the accept backlog.
for (let i = 0; i < count; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => connect()));
}
reply({ type: 'connected', pages: sockets.length });
