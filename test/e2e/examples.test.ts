/** Every example runs end to end: real Chromium, real sockets, the Python scraper on python3. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Bridge } from '../../bridge/index.js';
import { launch, type Launched } from '../../launcher/launch.js';
import { decodeRoomFrames } from '../../examples/node-api.js';
import { roomMessage, startLiveRoom, type LiveRoomSite } from '../../examples/live-room/site.js';
import { streamChat } from '../../examples/live-room/chat-stream.js';
import { scrapeRoom } from '../../examples/live-room/scraper.js';
import { itemsPage, startSignedApi, type SignedApiSite } from '../../examples/signed-api/site.js';
import { startTestBridge } from '../helpers/bridge.js';
import { run } from '../helpers/process.js';

const example = (p: string): string => fileURLToPath(new URL(`../../examples/${p}`, import.meta.url));

describe('examples', () => {
  let bridge: Bridge;
  let room: LiveRoomSite;
  let shop: SignedApiSite;
  let roomTabs: Launched;
  let shopTabs: Launched;

  before(async () => {
    bridge = await startTestBridge();
    room = await startLiveRoom({ intervalMs: 20 });
    shop = await startSignedApi();
    roomTabs = await launch({ urls: [room.url], group: 'live-room', scripts: [example('live-room/hooks.js')], bridge });
    shopTabs = await launch({ urls: [shop.url], group: 'signed-api', scripts: [example('signed-api/hooks.js')], bridge, browser: roomTabs.browser });
  });
  after(async () => {
    await shopTabs?.close();
    await roomTabs?.close();
    await room?.close();
    await shop?.close();
    await bridge?.close();
  });

  test('live room: the scraper gets the plaintext of sealed protobuf frames, decoded by the page bundle', async () => {
    const frames = await scrapeRoom({ siteUrl: room.url, bridgeUrl: bridge.url, count: 8 });
    assert.equal(frames.length, 8);
    for (const frame of frames) {
      const expected = roomMessage(Number(frame.seq));
      if (expected.chat) assert.deepEqual(frame.chat, { user: { ...expected.chat.user, id: String(expected.chat.user!.id) }, content: expected.chat.content });
      else assert.equal(frame.gift!.giftName, expected.gift!.giftName);
    }
    assert.deepEqual(frames.map((f) => Number(f.seq)).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('live room, streamed: the chat the page decodes from its own socket reaches a subscriber, with no second connection to the site', async () => {
    const before = room.connections;
    const lines = await streamChat({ bridgeUrl: bridge.url, count: 6 });
    assert.equal(lines.length, 6);
    for (const line of lines) {
      const expected = roomMessage(Number(line.seq));
      assert.ok(expected.chat, `#${line.seq} is a chat message`);
      assert.deepEqual({ user: line.user, text: line.text }, { user: expected.chat.user!.nickname, text: expected.chat.content });
    }
    const seqs = lines.map((l) => Number(l.seq));
    assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), 'in the order the page received them');
    assert.equal(room.connections, before, 'the scraper never connected to the site');
    // The page's own handler kept rendering every frame.
    const rendered = await roomTabs.tabs()[0]!.evaluate<number>("document.querySelectorAll('#messages li').length");
    assert.ok(rendered > 6, `the page rendered ${rendered} messages`);
  });

  test('live room, streamed to Python: chat.py prints the decoded chat', async () => {
    const { code, stdout, stderr } = await run('python3', [example('live-room/chat.py'), '--bridge', bridge.url, '--count', '4']);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 4);
    for (const line of lines) assert.match(line, /^#\d+ (小鱼|stream_fan_42|Ada): .+$/);
  });

  test('signed API: the Python scraper fetches every page with signatures from the page', async () => {
    const before = { ...shop.stats };
    const { code, stdout, stderr } = await run('python3', [example('signed-api/scraper.py'), '--site', shop.url, '--bridge', bridge.url, '--pages', '5']);
    assert.equal(code, 0, stderr);
    for (let page = 1; page <= 5; page++) assert.match(stdout, new RegExp(`page ${page}: 10 items, first ${itemsPage(page)[0]!.name} `));
    assert.match(stdout, /fetched 5 pages, 50 items .* signed requests\/s/);
    assert.equal(shop.stats.accepted - before.accepted, 5);
    assert.equal(shop.stats.refused, before.refused);
  });

  test('signed API: a request without the page signature is refused by the site', async () => {
    const res = await fetch(`${shop.url}/api/items?page=1`, { headers: { 'x-ts': String(Date.now()), 'x-nonce': 'abc', 'x-sign': '0'.repeat(16) } });
    assert.equal(res.status, 403);
  });

  test('Node API: typed calls decode bytes into objects', async () => {
    const frames = await decodeRoomFrames(3);
    assert.equal(frames.length, 3);
    assert.ok(frames.every((f) => typeof f.seq === 'string' && (f.chat || f.gift)));
  });

  test('npm run demo exits 0 and prints decoded messages and signed results', async () => {
    const { code, stdout, stderr } = await run(process.execPath, ['--import', 'tsx', example('demo.ts')]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /小鱼: hello everyone/);
    assert.match(stdout, /== live room, by stream/);
    assert.match(stdout, /\(the site saw 0 new connections while the chat was streamed\)/);
    assert.match(stdout, /fetched 10 pages, 100 items/);
    assert.match(stdout, /refused 0/);
  });
});
