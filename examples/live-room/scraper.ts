/**
 * The live-room scraper: connects to the room's WebSocket like any client, takes the sealed
 * protobuf frames it cannot read, and has the page decode them through the bridge.
 *
 *   node --import tsx examples/live-room/scraper.ts --site http://127.0.0.1:PORT --bridge http://127.0.0.1:12180 [--count 20]
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

/** A decoded room frame, as the page's own `Frame.toObject` returns it. */
export interface RoomFrame {
  seq: string;
  sentAtMs: string;
  chat?: { user: { nickname: string }; content: string };
  gift?: { user: { nickname: string }; giftName: string; count: number };
}

/** One line of readable output for a frame. */
export function describe(frame: RoomFrame): string {
  if (frame.chat) return `#${frame.seq} ${frame.chat.user.nickname}: ${frame.chat.content}`;
  if (frame.gift) return `#${frame.seq} ${frame.gift.user.nickname} sent ${frame.gift.count} × ${frame.gift.giftName}`;
  return `#${frame.seq} (empty frame)`;
}

/** Reads `count` frames from the room and decodes each through the bridge as it arrives. */
export async function scrapeRoom(options: { siteUrl: string; bridgeUrl: string; group?: string; count?: number; token?: string; onFrame?: (f: RoomFrame) => void }): Promise<RoomFrame[]> {
  const count = options.count ?? 20;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const ws = new WebSocket(`${options.siteUrl.replace(/^http/, 'ws')}/stream`);
  const decoded: Array<Promise<RoomFrame>> = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data: Buffer) => {
      if (decoded.length >= count) return;
      decoded.push(
        fetch(`${options.bridgeUrl}/v1/call`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ group: options.group ?? 'live-room', action: 'decode', args: [{ $bytes: data.toString('base64') }] }),
        })
          .then((res) => res.json() as Promise<{ ok: boolean; result: RoomFrame; error?: { code: string; message: string } }>)
          .then((body) => {
            if (!body.ok) throw new Error(`${body.error!.code}: ${body.error!.message}`);
            options.onFrame?.(body.result);
            return body.result;
          }),
      );
      if (decoded.length === count) {
        ws.close();
        resolve();
      }
    });
  });
  return Promise.all(decoded);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { site: { type: 'string' }, bridge: { type: 'string', default: 'http://127.0.0.1:12180' }, group: { type: 'string', default: 'live-room' }, count: { type: 'string', default: '20' } } });
  if (!values.site) {
    process.stderr.write('usage: scraper.ts --site http://127.0.0.1:PORT [--bridge URL] [--group G] [--count N]\n');
    process.exit(2);
  }
  const options: Parameters<typeof scrapeRoom>[0] = { siteUrl: values.site, bridgeUrl: values.bridge!, group: values.group!, count: Number(values.count), onFrame: (f) => console.log(describe(f)) };
  if (process.env.PAGECALL_TOKEN) options.token = process.env.PAGECALL_TOKEN;
  await scrapeRoom(options);
}
