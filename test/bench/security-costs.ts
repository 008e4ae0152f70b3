/**
 * What the pre-authentication defences cost, measured (never asserted in npm test):
 *
 *  1. the byte scan that refuses deep nesting before JSON.parse, on 40 KB result frames of three
 *     shapes, next to JSON.parse of the same frame;
 *  2. /health and a real call while strangers flood the page socket with 32 MiB `[[[[` frames
 *     before hello, next to the same probes on the idle bridge: p50 and p99.
 *
 * The bridge runs in its own process (test/bench/bridge-process.mjs, on the built dist/), so the
 * flood and the probes do not share its event loop.
 *
 *   node --import tsx test/bench/security-costs.ts [--probes 400] [--lanes 6]
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_ENVELOPE_DEPTH, scanDepth } from '../../bridge/json-depth.js';
import { connectFakePage } from '../helpers/fake-page.js';
import { createJsonClient } from '../helpers/keep-alive-client.js';
import { openRawSocket } from '../helpers/raw-ws.js';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const { values } = parseArgs({ options: { probes: { type: 'string' }, lanes: { type: 'string' } } });
const PROBES = Number(values.probes ?? 400);
const LANES = Number(values.lanes ?? 6);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

/** Microseconds per run of `fn`, the median of 7 rounds of `n` runs. */
function time(fn: () => void, n: number): number {
  for (let i = 0; i < n; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    rounds.push(((performance.now() - t0) * 1000) / n);
  }
  return median(rounds);
}

function scanCosts(): void {
  const results = Array.from({ length: 40 }, (_, i) => ({ type: 'result', id: `Yq3v0b.${i}`, ok: true, value: { text: 'hello world '.repeat(5), n: i, items: [{ a: 1, b: 'x' }, { a: 2, b: 'y' }], bytes: { $bytes: Buffer.alloc(600, i).toString('base64') } } }));
  const frames: Array<[string, Buffer]> = [
    ['mixed results (objects, text, base64)', Buffer.from(JSON.stringify(results))],
    ['one base64 result', Buffer.from(JSON.stringify({ type: 'result', id: 'a.1', ok: true, value: { $bytes: Buffer.alloc(30_000, 7).toString('base64') } }))],
    ['1,200 small objects', Buffer.from(JSON.stringify({ type: 'result', id: 'a.1', ok: true, value: Array.from({ length: 1_200 }, (_, i) => ({ id: i, name: `n${i}`, ok: true })) }))],
  ];
  console.log('\nbyte scan before JSON.parse (median of 7 rounds)');
  console.log('frame                                    bytes   scan µs  parse µs  scan/parse');
  for (const [name, bytes] of frames) {
    const scan = time(() => scanDepth(bytes, MAX_ENVELOPE_DEPTH), 2_000);
    const parse = time(() => JSON.parse(bytes.toString('utf8')), 2_000);
    console.log(`${name.padEnd(40)} ${String(bytes.length).padStart(6)} ${scan.toFixed(1).padStart(9)} ${parse.toFixed(1).padStart(9)} ${`${((100 * scan) / parse).toFixed(0)} %`.padStart(11)}`);
  }
  const deep = Buffer.alloc(32 * MiB, '['.charCodeAt(0));
  console.log(`32 MiB of [[[[: refused after ${time(() => scanDepth(deep, MAX_ENVELOPE_DEPTH), 100).toFixed(1)} µs (the scan stops at level ${MAX_ENVELOPE_DEPTH + 1})`);
}

async function startBridgeProcess(pageKey: string): Promise<{ url: string; rss(gc?: boolean): Promise<number>; heap(): Promise<number>; close(): void }> {
  const child = fork(join(here, 'bridge-process.mjs'), [], { execArgv: ['--expose-gc', '--no-warnings'], env: { ...process.env, PAGECALL_BENCH_PAGE_KEY: pageKey }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  return {
    url: `http://127.0.0.1:${port}`,
    rss: (gc = false) =>
      new Promise((resolve) => {
        child.once('message', (m: { rss: number }) => resolve(m.rss));
        child.send({ type: 'memory', gc });
      }),
    heap: () =>
      new Promise((resolve) => {
        child.once('message', (m: { heapUsed: number }) => resolve(m.heapUsed));
        child.send({ type: 'memory', gc: true });
      }),
    close: () => child.kill('SIGKILL'),
  };
}

async function probe(url: string, n: number): Promise<{ health: number[]; call: number[] }> {
  const client = createJsonClient(url, 2);
  const health: number[] = [];
  const call: number[] = [];
  for (let i = 0; i < n; i++) {
    let t0 = performance.now();
    const h = await fetch(`${url}/health`);
    await h.arrayBuffer();
    health.push(performance.now() - t0);
    t0 = performance.now();
    const r = await client.post('/v1/call', { group: 'probe', action: 'echo', args: [i] });
    if (r.status !== 200) throw new Error(`probe call failed: ${r.status} ${JSON.stringify(r.body)}`);
    call.push(performance.now() - t0);
  }
  client.close();
  return { health, call };
}

async function floodCosts(): Promise<void> {
  const pageKey = randomBytes(24).toString('base64url');
  const bridge = await startBridgeProcess(pageKey);
  const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'probe', key: pageKey, handlers: { echo: (args) => args } });
  try {
    await probe(bridge.url, 50);
    const idle = await probe(bridge.url, PROBES);
    const rssIdle = await bridge.rss(true);
    const heapIdle = await bridge.heap();
    const flood = Buffer.alloc(32 * MiB, '['.charCodeAt(0));
    let flooding = true;
    let frames = 0;
    let peakRss = rssIdle;
    const lanes = Array.from({ length: LANES }, async (_, lane) => {
      while (flooding) {
        const raw = await openRawSocket(bridge.url, `https://evil-${lane}.example`);
        raw.header(flood.length);
        void raw.write(flood);
        await raw.closed;
        frames++;
      }
    });
    const sampler = setInterval(() => void bridge.rss().then((rss) => (peakRss = Math.max(peakRss, rss))), 100);
    const busy = await probe(bridge.url, PROBES);
    flooding = false;
    await Promise.all(lanes);
    clearInterval(sampler);
    const rssAfter = await bridge.rss(true);
    const heapAfter = await bridge.heap();
    const row = (name: string, xs: number[]): string => `${name.padEnd(28)} ${quantile(xs, 0.5).toFixed(2).padStart(8)} ${quantile(xs, 0.99).toFixed(2).padStart(8)}`;
    console.log(`\n/health and a real call, ${PROBES} of each, idle and while ${LANES} strangers flood 32 MiB [[[[ frames before hello (${frames} frames, ${((frames * 32) / 1024).toFixed(1)} GiB offered)`);
    console.log('                              p50 ms   p99 ms');
    console.log(row('/health, idle', idle.health));
    console.log(row('/health, during the flood', busy.health));
    console.log(row('call, idle', idle.call));
    console.log(row('call, during the flood', busy.call));
    console.log(`bridge RSS: ${(rssIdle / MiB).toFixed(0)} MiB idle, at most ${(peakRss / MiB).toFixed(0)} MiB during the flood (garbage between collections), ${(rssAfter / MiB).toFixed(0)} MiB after it and a collection; heap in use ${(heapIdle / MiB).toFixed(1)} MiB before, ${(heapAfter / MiB).toFixed(1)} MiB after`);
  } finally {
    await page.close();
    bridge.close();
  }
}

scanCosts();
await floodCosts();
