/**
 * `npm run demo`: the whole job on embedded defaults. Starts a bridge, the two example sites and
 * headless Chromium through the launcher; the live room is read both ways — a scraper that decodes
 * sealed protobuf frames through the page with calls, and a subscriber to the chat the page itself
 * publishes from its own socket (a stream) — and the Python scraper fetches a signed API with
 * signatures from the page.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBridge } from '../bridge/index.js';
import { BrowserNotFoundError, findBrowser } from '../launcher/find-browser.js';
import { launch } from '../launcher/launch.js';
import { startLiveRoom } from './live-room/site.js';
import { describeChat, streamChat } from './live-room/chat-stream.js';
import { describe, scrapeRoom } from './live-room/scraper.js';
import { startSignedApi } from './signed-api/site.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

function runPython(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  try {
    findBrowser();
  } catch (error) {
    if (error instanceof BrowserNotFoundError) {
      process.stderr.write(`demo: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const bridge = await startBridge({ port: 0, logLevel: 'warn' });
  const room = await startLiveRoom({ intervalMs: 50 });
  const shop = await startSignedApi();
  console.log(`bridge ${bridge.url}\nlive room ${room.url}\nsigned API ${shop.url}\n`);
  const roomTabs = await launch({ urls: [room.url], group: 'live-room', scripts: [here('./live-room/hooks.js')], bridge });
  const shopTabs = await launch({ urls: [shop.url], group: 'signed-api', scripts: [here('./signed-api/hooks.js')], bridge, browser: roomTabs.browser });
  try {
    console.log('== live room, by calls: the scraper reads the room socket itself and has the page decode each sealed frame ==');
    const frames = await scrapeRoom({ siteUrl: room.url, bridgeUrl: bridge.url, count: 12 });
    for (const frame of frames) console.log(describe(frame));

    console.log('\n== live room, by stream: the page taps its own socket and publishes the chat it decodes; no second connection ==');
    const before = room.connections;
    const chat = await streamChat({ bridgeUrl: bridge.url, count: 8 });
    for (const line of chat) console.log(describeChat(line));
    console.log(`(the site saw ${room.connections - before} new connections while the chat was streamed)`);

    console.log('\n== signed API: Python scraper, signatures computed by the page ==');
    const code = await runPython([here('./signed-api/scraper.py'), '--site', shop.url, '--bridge', bridge.url, '--pages', '10']);
    if (code !== 0) throw new Error(`python scraper exited with ${code}`);
    console.log(`\nthe site accepted ${shop.stats.accepted} signed requests and refused ${shop.stats.refused}`);
    return shop.stats.refused === 0 && frames.length === 12 && chat.length === 8 ? 0 : 1;
  } finally {
    await shopTabs.close();
    await roomTabs.close();
    await room.close();
    await shop.close();
    await bridge.close(0);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
