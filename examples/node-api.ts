/**
 * Using pagecall as a library from Node: start a bridge, open the live room through the launcher
 * with a hook script, read the room's own socket, and decode frames with typed calls (bytes in,
 * objects out) — no HTTP in between.
 *
 *   node --import tsx examples/node-api.ts
 */
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startBridge } from '../bridge/index.js';
import { launch } from '../launcher/launch.js';
import { startLiveRoom } from './live-room/site.js';
import { describe, type RoomFrame } from './live-room/scraper.js';

/** Decodes `count` frames of a freshly started room and returns them. */
export async function decodeRoomFrames(count = 5): Promise<RoomFrame[]> {
  const bridge = await startBridge({ port: 0, logLevel: 'warn' });
  const room = await startLiveRoom({ intervalMs: 20 });
  const tabs = await launch({
    urls: [room.url],
    group: 'live-room',
    scripts: [fileURLToPath(new URL('./live-room/hooks.js', import.meta.url))],
    bridge,
  });
  try {
    const socket = new WebSocket(`${room.url.replace('http', 'ws')}/stream`);
    const raw: Buffer[] = await new Promise((resolve, reject) => {
      const frames: Buffer[] = [];
      socket.on('error', reject);
      socket.on('message', (data: Buffer) => {
        frames.push(data);
        if (frames.length === count) {
          socket.close();
          resolve(frames);
        }
      });
    });
    // Bytes go in as Uint8Array and the page's object comes back as an object.
    return (await Promise.all(raw.map((bytes) => bridge.call('live-room', 'decode', [new Uint8Array(bytes)], { timeoutMs: 5_000 })))) as RoomFrame[];
  } finally {
    await tabs.close();
    await room.close();
    await bridge.close(0);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const frame of await decodeRoomFrames(10)) console.log(describe(frame));
}
