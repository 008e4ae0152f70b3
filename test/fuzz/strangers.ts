/**
 * Strangers for the fuzzer: sockets that have not been admitted, sending what a hostile website
 * would before (or instead of) a proper hello: frames over the 64 KiB a stranger may send (whole or
 * in fragments), nesting the byte scan refuses, garbage, binary, a first message that is not a
 * hello, hellos without the key or with a wrong one or another group's, several frames at once.
 * Each must be closed with the code its kind calls for, and none may ever be sent a call.
 */
import WebSocket from 'ws';
import { MAX_HELLO_BYTES, PROTOCOL_VERSION } from '../../protocol/index.js';
import type { Rng } from './prng.js';

/** What the strangers saw, by kind. */
export interface StrangerStats {
  sent: number;
  byKind: Record<string, number>;
  /** Close codes seen, by kind then code. */
  closeCodes: Record<string, Record<string, number>>;
  welcomed: number;
  invokes: number;
}

interface Kind {
  name: string;
  /** Close codes a correct bridge may end the socket with. */
  codes: readonly number[];
  /** Frames to send, in order, as soon as the socket opens. */
  frames(rng: Rng, ctx: { group: string; key: string; otherGroupKey: string }): Array<{ data: string | Buffer; binary?: boolean; fin?: boolean }>;
  /** Admitted on purpose (the check then wants a welcome). */
  admitted?: boolean;
}

const hello = (group: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, group, url: 'https://stranger.test/', title: 'stranger', actions: ['echo'], ...extra });
const deep = (rng: Rng, levels: number): string => (rng.chance(0.5) ? '['.repeat(levels) + ']'.repeat(levels) : '{"a":'.repeat(levels) + '0' + '}'.repeat(levels));

const KINDS: readonly Kind[] = [
  // Refused at the frame header; 1006 when the bridge cuts off a sender still busy after 2 s.
  { name: 'oversized', codes: [1009, 1006], frames: (rng) => [{ data: rng.chance(0.5) ? '['.repeat(rng.range(MAX_HELLO_BYTES + 1, 4 * 1024 * 1024)) : `"${'x'.repeat(rng.range(MAX_HELLO_BYTES, 2 * 1024 * 1024))}"` }] },
  {
    name: 'oversized-in-fragments',
    codes: [1009, 1006],
    frames: (rng) => {
      const pieces = rng.range(2, 6);
      const size = Math.ceil((MAX_HELLO_BYTES + rng.range(1, 50_000)) / pieces);
      return Array.from({ length: pieces }, (_, i) => ({ data: 'y'.repeat(size), fin: i === pieces - 1 }));
    },
  },
  // Both shapes stay under the 64 KiB a stranger may send (an object level takes 6 bytes).
  { name: 'deep', codes: [4413], frames: (rng) => [{ data: deep(rng, rng.range(1_100, 9_000)) }] },
  { name: 'deep-hello', codes: [4413], frames: (rng) => [{ data: hello('fz-stranger', { title: 'x' }).replace('"x"', deep(rng, rng.range(1_100, 6_000))) }] },
  { name: 'garbage', codes: [4400], frames: (rng) => [{ data: rng.pick(['', 'not json', '{', '[1,', '{"type":"hello"', rng.string(rng.range(1, 500))]) }] },
  { name: 'binary', codes: [4400], frames: (rng) => [{ data: rng.bytes(rng.range(1, 2_000)), binary: true }] },
  { name: 'not-a-hello', codes: [4400], frames: (rng) => [{ data: rng.pick(['{"type":"pong","t":1}', '{"type":"result","id":"x","ok":true,"value":1}', '{"type":"update","actions":["echo"]}', '42', 'null', '[]', '{}']) }] },
  { name: 'several-messages', codes: [4400], frames: (_rng, ctx) => [{ data: `[${hello(ctx.group, { key: ctx.key })},${hello(ctx.group, { key: ctx.key })}]` }] },
  { name: 'no-key', codes: [4401], frames: (_rng, ctx) => [{ data: hello(ctx.group) }] },
  { name: 'wrong-key', codes: [4401], frames: (rng, ctx) => [{ data: hello(ctx.group, { key: rng.pick([rng.string(43), `${ctx.group}~${rng.string(43)}`, ctx.key.slice(1), `${ctx.key} `, '~', '']) }) }] },
  { name: 'other-group-key', codes: [4401], frames: (_rng, ctx) => [{ data: hello(ctx.group, { key: ctx.otherGroupKey }) }] },
  { name: 'wrong-token', codes: [4401], frames: (rng, ctx) => [{ data: hello(ctx.group, { token: rng.string(30) }) }] },
  { name: 'other-version', codes: [4426], frames: (_rng, ctx) => [{ data: JSON.stringify({ type: 'hello', v: 99, group: ctx.group, key: ctx.key }) }] },
  // A refused stranger that keeps sending is cut off: the close handshake may not finish (1006).
  { name: 'keeps-sending', codes: [4401, 1006], frames: (rng, ctx) => [{ data: hello(ctx.group) }, ...Array.from({ length: rng.range(1, 20) }, () => ({ data: `"${'z'.repeat(rng.range(1, 60_000))}"` }))] },
  { name: 'admitted', codes: [1000, 1005], admitted: true, frames: (_rng, ctx) => [{ data: hello(ctx.group, { key: ctx.key }) }] },
];

/**
 * Runs `count` strangers against the bridge at `bridgeUrl`, `concurrency` at a time. `fail` hears
 * every stranger that was closed with a code its kind does not allow, welcomed without the key,
 * or sent a call.
 */
export async function runStrangers(options: { bridgeUrl: string; rng: Rng; count: number; concurrency?: number; key: string; otherGroupKey: string; group: string; fail: (what: string) => void }): Promise<StrangerStats> {
  const { rng } = options;
  const stats: StrangerStats = { sent: 0, byKind: {}, closeCodes: {}, welcomed: 0, invokes: 0 };
  const wsUrl = `${options.bridgeUrl.replace(/^http/, 'ws')}/v1/ws`;
  let next = 0;
  const one = async (n: number, kind: Kind, frames: ReturnType<Kind['frames']>): Promise<void> => {
    const ws = new WebSocket(wsUrl, { maxPayload: 1024 * 1024, headers: { origin: `https://stranger-${n % 3}.test` } });
    ws.on('error', () => {});
    let welcomed = false;
    ws.on('message', (data) => {
      const text = String(data);
      if (text.includes('"type":"invoke"')) {
        stats.invokes++;
        options.fail(`stranger #${n} (${kind.name}) was sent a call: ${text.slice(0, 200)}`);
      }
      if (text.includes('"type":"welcome"')) {
        welcomed = true;
        stats.welcomed++;
        if (kind.admitted) ws.close();
        else options.fail(`stranger #${n} (${kind.name}) was welcomed: ${text.slice(0, 200)}`);
      }
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const opened = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('close', () => resolve(false));
    });
    if (!opened) {
      options.fail(`stranger #${n} (${kind.name}): the upgrade was refused`);
      return;
    }
    for (const frame of frames) {
      if (ws.readyState !== WebSocket.OPEN) break;
      stats.sent++;
      await new Promise<void>((resolve) => ws.send(frame.data, { binary: frame.binary === true, fin: frame.fin !== false }, () => resolve()));
    }
    const code = await closed;
    const counts = (stats.closeCodes[kind.name] ??= {});
    counts[code] = (counts[code] ?? 0) + 1;
    if (!kind.codes.includes(code)) options.fail(`stranger #${n} (${kind.name}) was closed with ${code}, expected ${kind.codes.join(' or ')}`);
    if (kind.admitted && !welcomed) options.fail(`stranger #${n} (${kind.name}) carried the key and was not welcomed`);
  };
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      const n = next++;
      const kind = rng.pick(KINDS);
      stats.byKind[kind.name] = (stats.byKind[kind.name] ?? 0) + 1;
      await one(n, kind, kind.frames(rng, { group: options.group, key: options.key, otherGroupKey: options.otherGroupKey }));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return stats;
}
