/**
 * What the value codec costs on a live-stream push frame decoded to a plain object (~40 KB of JSON,
 * the size real sites produce), in Node (the page runs the same code in the same engine):
 *   node --import tsx test/bench/codec-values.ts [--baseline path/to/older/codec.ts] [--rounds 15] [--passes 5]
 * With --baseline, an older codec.ts runs the same frames in the same process, passes alternating,
 * and the table gives each figure's ratio to it. Figures are the best round of many encodes or
 * decodes (the best, not the median: other processes on a shared machine only ever add time).
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import Long from 'long';
import { createCodec, type Codec } from '../../protocol/codec.js';

const { values } = parseArgs({ options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '15' }, passes: { type: 'string', default: '5' } } });
const ROUNDS = Number(values.rounds);
const PASSES = Number(values.passes);

/** A decoded push frame: 50 chat, gift and member messages with their users and ids. */
function frame(int64: (n: bigint) => unknown): Record<string, unknown> {
  const base = 7312000000000000000n;
  const messages = Array.from({ length: 50 }, (_, i) => ({
    method: ['WebcastChatMessage', 'WebcastGiftMessage', 'WebcastMemberMessage'][i % 3],
    msgId: int64(base + BigInt(i)),
    msgType: i % 3,
    isShowMsg: i % 5 !== 0,
    payload: {
      common: { method: 'WebcastChatMessage', msgId: int64(base + BigInt(i)), roomId: int64(7311999999999999999n), createTime: int64(1700000000123n + BigInt(i)), isShowMsg: true, describe: '' },
      user: {
        id: int64(100000000000n + BigInt(i * 7)),
        shortId: int64(BigInt(i)),
        nickname: `viewer_${i}_名前`,
        gender: i % 2,
        level: 10 + (i % 40),
        avatarThumb: { urlList: [`https://p3.example.com/img/avatar/${i}~100x100.webp`, `https://p9.example.com/img/avatar/${i}~100x100.jpeg`], uri: `avatar/${i}` },
        badgeList: [{ displayType: 1, image: { urlList: [`https://p3.example.com/badge/${i % 9}.png`] }, text: { defaultPattern: 'lv{0}', pieces: [{ type: 1, stringValue: String(i % 50) }] } }],
        followInfo: { followingCount: int64(BigInt(i * 13)), followerCount: int64(BigInt(i * 1001)), followStatus: int64(0n) },
      },
      content: i % 3 === 0 ? `message number ${i}: 666 太好看了 🎉` : '',
      giftId: i % 3 === 1 ? int64(BigInt(4000 + i)) : int64(0n),
      repeatCount: i % 4,
    },
  }));
  return { messages, cursor: 'r-1700000000-7312000000000000060', fetchInterval: int64(1000n), now: int64(1700000000123n), internalExt: 'internal_src:dim|wss_push_room_id:7311999999999999999|fetch_time:1700000000123', heartbeatDuration: int64(0n), needAck: false };
}

function best(fn: () => void, times: number): number {
  let fastest = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < times; i++) fn();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - start) / 1e3 / times);
  }
  return fastest;
}

interface Row {
  case: string;
  [codec: string]: string | number;
}

async function main(): Promise<void> {
  const codecs: Array<[string, Codec]> = [['current', createCodec()]];
  if (values.baseline) {
    const module = (await import(pathToFileURL(resolve(values.baseline)).href)) as { createCodec(): Codec };
    codecs.push(['baseline', module.createCodec()]);
  }
  const strings = frame((n) => String(n));
  const longs = frame((n) => Long.fromString(String(n)));
  const bytes = JSON.stringify(strings).length;
  console.log(`frame: ${bytes} bytes of JSON, ${JSON.stringify(strings).split('{').length - 1} objects`);
  const cases: Array<[string, (c: Codec) => () => void, number]> = [
    ['encode, int64 as strings (plain data)', (c) => () => c.encode(strings, 'result'), 200],
    // Decoding does not change what it reads: the same parsed frame serves every round.
    ['decode, int64 as strings (plain data)', (c) => { const wire: unknown = JSON.parse(JSON.stringify(c.encode(strings))); return () => c.decode(wire, 'args'); }, 200],
    ['decode, int64 as $bigint', (c) => { const wire: unknown = JSON.parse(JSON.stringify(c.encode(frame((n) => n)))); return () => c.decode(wire, 'args'); }, 200],
    ['encode, int64 as Long objects', (c) => () => c.encode(longs, 'result'), 200],
  ];
  const rows: Row[] = [];
  for (const [name, make, times] of cases) {
    const row: Row = { case: name };
    const runs = codecs.map(([label, c]) => [label, make(c)] as const);
    for (const [, fn] of runs) for (let i = 0; i < 50; i++) fn();
    const results = new Map<string, number>();
    // Alternating passes, each in the other order, so drift on a noisy machine and going first hit both codecs alike.
    for (let pass = 0; pass < PASSES; pass++) {
      for (const [label, fn] of pass % 2 === 0 ? runs : [...runs].reverse()) results.set(label, Math.min(results.get(label) ?? Infinity, best(fn, times)));
    }
    for (const [label, us] of results) row[`${label} µs`] = Number(us.toFixed(1));
    if (results.has('baseline')) row['current / baseline'] = Number((results.get('current')! / results.get('baseline')!).toFixed(3));
    rows.push(row);
  }
  console.table(rows);
}

await main();
