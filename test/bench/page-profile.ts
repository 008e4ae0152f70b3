/**
 * Where the page spends its time under load: the V8 profiler of the bench tab, read over a bare
 * DevTools socket (only the Profiler domain: an attached Playwright session turns on network
 * events and copies every WebSocket frame, which distorts exactly what is measured), while
 * autocannon loads a bridge in this process. The injector is bundled unminified for the run, so
 * the profile names its functions.
 *
 *   node --import tsx test/bench/page-profile.ts [frame|echo|batch] [seconds] [connections]
 *
 * frame: the real-size payload (7,000 bytes in, the 41 KB chat frame out, chat-frame.cjs);
 * echo: a short string; batch: POST /v1/batch of 1,000 cheap cpu calls. Prints self time per
 * function, heaviest first, and the page's main-thread share left idle. Run `npm run build` first.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { startBridge } from '../../bridge/index.js';
import { startBrowser } from './chromium.js';
import { selfTimeLines, type CpuProfile } from './self-time.js';

const here = dirname(fileURLToPath(import.meta.url));
const scenario = process.argv[2] ?? 'frame';
const seconds = Number(process.argv[3] ?? 5);
const connections = Number(process.argv[4] ?? (scenario === 'batch' ? 4 : 16));
if (!['frame', 'echo', 'batch'].includes(scenario)) throw new Error(`unknown scenario ${scenario}: frame, echo or batch`);

const bundled = await build({ entryPoints: [join(here, '..', '..', 'injector', 'page', 'iife.ts')], bundle: true, format: 'iife', target: 'es2020', write: false, logLevel: 'warning' });
const injector = bundled.outputFiles[0]!.text;
const KEY = 'page-profile-key-0123456789abcdef';
const bridge = await startBridge({ port: 0, pageKey: KEY, logger: pino({ level: 'error' }) });
const page = readFileSync(join(here, 'bench-page.html'), 'utf8').replace("script.src = `${params.get('bridge')}/injector.js`;", "script.src = '/injector.js';");
const site = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/chat-frame.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(join(here, 'chat-frame.cjs')));
  else if (path === '/injector.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(injector);
  else res.writeHead(200, { 'content-type': 'text/html' }).end(page);
});
site.listen(0, '127.0.0.1');
await once(site, 'listening');
const browser = await startBrowser();
let devtools: WebSocket | undefined;
try {
  const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  const targetId = await browser.open(`${siteUrl}/bench?mode=pagecall&group=bench&bridge=${encodeURIComponent(bridge.url)}&key=${KEY}`);
  for (let i = 0; bridge.clients('bench').length === 0; i++) {
    if (i > 300) throw new Error('the bench tab did not join');
    await new Promise((r) => setTimeout(r, 100));
  }
  const targets = (await (await fetch(`${browser.endpoint}/json/list`)).json()) as Array<{ id: string; webSocketDebuggerUrl: string }>;
  devtools = new WebSocket(targets.find((t) => t.id === targetId)!.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await once(devtools, 'open');
  let nextId = 0;
  const waiting = new Map<number, (result: any) => void>();
  devtools.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const send = (method: string, params: object = {}): Promise<any> =>
    new Promise((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve);
      devtools!.send(JSON.stringify({ id, method, params }));
    });

  const input = Buffer.alloc(7000, 7);
  const [path, body] =
    scenario === 'batch'
      ? ['batch', { group: 'bench', calls: Array.from({ length: 1000 }, () => ({ action: 'cpu', args: [50] })) }]
      : ['call', { group: 'bench', action: scenario, args: scenario === 'frame' ? [{ $bytes: input.toString('base64') }] : ['hello, page'] }];
  const load = (duration: number) => autocannon({ url: `${bridge.url}/v1/${path}`, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), connections, duration });
  await load(2);
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 100 });
  await send('Profiler.start');
  const result = await load(seconds);
  const { profile } = (await send('Profiler.stop')) as { profile: CpuProfile };
  const calls = (result['2xx'] / result.duration) * (scenario === 'batch' ? 1000 : 1);
  console.log(`${scenario}: ${Math.round(calls)} calls/s at ${connections} connections, ${result.non2xx} non-2xx; the page's main thread:`);
  for (const line of selfTimeLines(profile, 30, (url) => url.split('/').pop()!.split('?')[0]!)) console.log(line);
} finally {
  devtools?.close();
  await browser.close();
  await bridge.close();
  site.close();
}
