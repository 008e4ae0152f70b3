/**
 * Fuzzes a real bridge from both sides: hostile pages sending mutated and random frames while
 * callers keep calling them, then strangers sending what a website would before a hello (oversized,
 * nested, garbage, keyless), then malformed HTTP requests and raw garbage on TCP. The bridge must
 * not crash, must log no internal error, must answer every bad request with a coded 4xx, and must
 * still serve a real call at the end.
 *
 *   npm run fuzz                      100,000 frames, 10,000 HTTP requests, random seed
 *   npm run fuzz -- --seed 1234       replay a run
 *   npm run fuzz -- --quick           small counts, as npm test runs (or PAGECALL_FUZZ_QUICK=1)
 *   npm run fuzz -- --frames N --strangers N --http N --pages N
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Bridge } from '../../bridge/index.js';
import { startTestBridge, until } from '../helpers/bridge.js';
import { connectFakePage } from '../helpers/fake-page.js';
import { leftovers } from '../helpers/internals.js';
import { createJsonClient } from '../helpers/keep-alive-client.js';
import { checkCallAnswer, checkHttpAnswer } from './checks.js';
import { IdPool, runFuzzPage, type FrameStats } from './fuzz-page.js';
import { randomRequest } from './http-requests.js';
import { createRng, randomSeed, type Rng } from './prng.js';
import { sendRaw } from './raw-http.js';
import { runStrangers, type StrangerStats } from './strangers.js';

/** How much to send. */
export interface FuzzOptions {
  seed?: number;
  /** Page frames to send in total (default 100,000). */
  frames?: number;
  /** Sockets that send pre-hello frames and are never admitted (default 2,000). */
  strangers?: number;
  /** Malformed HTTP requests (default 10,000). */
  httpRequests?: number;
  /** Hostile pages sending frames at once (default 6). */
  pages?: number;
  /** Callers calling the hostile pages while they send frames (default 8). */
  callers?: number;
  /** Progress lines go here (default: nowhere). */
  log?: (line: string) => void;
}

/** What happened; `failures` is empty when the bridge behaved. */
export interface FuzzReport {
  seed: number;
  frames: FrameStats;
  strangers: StrangerStats;
  calls: { made: number; outcomes: Record<string, number> };
  http: { sent: number; byKind: Record<string, number>; byStatus: Record<string, number> };
  /** Lines the bridge logged at error level or above. */
  bridgeErrors: string[];
  failures: string[];
  durationMs: number;
}

const MiB = 1024 * 1024;
const MAX_FAILURES_KEPT = 50;

const bump = (counts: Record<string, number>, key: string | number): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** Runs the fuzzer against a fresh in-process bridge. */
export async function runFuzz(options: FuzzOptions = {}): Promise<FuzzReport> {
  const seed = options.seed ?? randomSeed();
  const log = options.log ?? (() => {});
  const rng = createRng(seed);
  const started = Date.now();
  const failures: string[] = [];
  const fail = (what: string): void => {
    if (failures.length < MAX_FAILURES_KEPT) failures.push(what);
  };
  const bridgeErrors: string[] = [];
  // The bridge logs through this stream; anything at error level (50) or above is an internal error.
  const logger = pino({ level: 'error' }, { write: (line: string) => void bridgeErrors.push(line.slice(0, 500)) });
  const bridge = await startTestBridge({ logger, maxFrameBytes: 1 * MiB, maxBodyBytes: 1 * MiB });
  log(`fuzz seed ${seed} (replay with --seed ${seed}); bridge on ${bridge.url}`);

  const sentinel = await connectFakePage({ bridgeUrl: bridge.url, group: 'sentinel', clientId: 'sentinel', handlers: { echo: (args) => args } });
  let sentinelClosed = false;
  sentinel.ws.once('close', () => (sentinelClosed = true));

  const frames = await fuzzFrames(bridge, rng, options, fail, log);
  const strangers = await runStrangers({ bridgeUrl: bridge.url, rng: rng.fork(), count: options.strangers ?? 2_000, key: bridge.groupKey('fz-stranger'), otherGroupKey: bridge.groupKey('fz-other'), group: 'fz-stranger', fail });
  log(`strangers: ${strangers.sent} frames over ${Object.values(strangers.byKind).reduce((a, b) => a + b, 0)} sockets`);
  const http = await fuzzHttp(bridge, rng.fork(), options.httpRequests ?? 10_000, fail, log);

  // Every hostile page has left and every call has settled: nothing may be left behind.
  try {
    await until(() => bridge.clients().length === 1, 'hostile pages to be gone', 30_000);
  } catch {
    fail(`pages still registered after the run: ${bridge.clients().map((c) => c.id).join(', ')}`);
  }
  const left = leftovers(bridge);
  if (left.inFlight + left.waiting + left.deadlines + left.queues !== 0 || left.groups !== 1) fail(`leftovers after the run: ${JSON.stringify(left)}`);
  if (sentinelClosed) fail('the sentinel page was disconnected');

  const client = createJsonClient(bridge.url, 1);
  const final = await client.post('/v1/call', { group: 'sentinel', action: 'echo', args: ['still alive', seed] });
  client.close();
  if (final.status !== 200 || JSON.stringify(final.body.result) !== JSON.stringify(['still alive', seed])) fail(`the final real call failed: ${final.status} ${JSON.stringify(final.body)}`);

  await sentinel.close();
  await bridge.close();
  for (const line of bridgeErrors) fail(`bridge logged an error: ${line}`);
  return { seed, frames: frames.stats, strangers, calls: frames.calls, http, bridgeErrors, failures, durationMs: Date.now() - started };
}

/** Hostile pages send frames while callers call them. */
async function fuzzFrames(bridge: Bridge, rng: Rng, options: FuzzOptions, fail: (what: string) => void, log: (line: string) => void): Promise<{ stats: FrameStats; calls: FuzzReport['calls'] }> {
  const total = options.frames ?? 100_000;
  const pageCount = options.pages ?? 6;
  const stats: FrameStats = { sent: 0, byKind: {}, connections: 0, welcomes: 0, closeCodes: {}, errorsReceived: {}, invokes: 0 };
  const pool = new IdPool();
  // Counted on frames actually handed to a socket, so the run sends at least `total`.
  const take = (): boolean => stats.sent < total;
  let pagesDone = false;
  const pages = Array.from({ length: pageCount }, (_, i) =>
    runFuzzPage({ bridgeUrl: bridge.url, group: `fz-${i % Math.max(1, pageCount - 2)}`, rng: rng.fork(), maxFrameBytes: bridge.config.maxFrameBytes, stats, pool, take }),
  );

  const calls = { made: 0, outcomes: {} as Record<string, number> };
  const client = createJsonClient(bridge.url, options.callers ?? 8);
  const callerRng = rng.fork();
  const caller = async (k: number): Promise<void> => {
    for (let n = 0; !pagesDone; n++) {
      const nonce = `c${k}-${n}`;
      const group = `fz-${callerRng.int(Math.max(1, pageCount - 2))}`;
      const action = callerRng.pick(['echo', 'echo', 'echo', 'fail', 'missing']);
      let answer;
      try {
        answer = await client.post('/v1/call', { group, action, args: [nonce], timeoutMs: callerRng.range(200, 1_500), ...(callerRng.chance(0.2) ? { retry: false } : {}) });
      } catch (error) {
        fail(`call ${nonce}: ${(error as Error).message}`);
        continue;
      }
      calls.made++;
      bump(calls.outcomes, answer.status === 200 ? 'ok' : String(answer.body?.error?.code ?? answer.status));
      const problem = checkCallAnswer(answer.status, answer.body, nonce);
      if (problem) fail(`call ${nonce} to ${group}/${action}: ${problem}`);
      // A group with no page answers NO_CLIENT at once; yield so callers do not starve the pages.
      if (answer.status === 503) await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const callers = Array.from({ length: options.callers ?? 8 }, (_, k) => caller(k));
  const progress = setInterval(() => log(`  frames ${stats.sent}/${total}, connections ${stats.connections}, calls ${calls.made}`), 2_000);
  try {
    await Promise.all(pages);
  } finally {
    pagesDone = true;
    clearInterval(progress);
  }
  await Promise.all(callers);
  client.close();
  log(`frames: ${stats.sent} sent over ${stats.connections} connections; ${calls.made} calls made meanwhile`);
  return { stats, calls };
}

/** Malformed requests on fresh connections, `concurrency` at a time. */
async function fuzzHttp(bridge: Bridge, rng: Rng, total: number, fail: (what: string) => void, log: (line: string) => void): Promise<FuzzReport['http']> {
  const report = { sent: 0, byKind: {} as Record<string, number>, byStatus: {} as Record<string, number> };
  const limits = { maxBodyBytes: bridge.config.maxBodyBytes, maxBatch: bridge.config.maxBatch };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const n = next++;
      const request = randomRequest(bridge.port, limits, rng);
      bump(report.byKind, request.kind);
      const answer = await sendRaw(bridge.port, request.bytes);
      report.sent++;
      bump(report.byStatus, answer.status ?? 'closed');
      const problem = checkHttpAnswer(request.expect, answer, request.items);
      if (problem) fail(`http #${n} (${request.kind}): ${problem}\n    request: ${JSON.stringify(request.bytes.subarray(0, 300).toString('latin1'))}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  log(`http: ${report.sent} malformed requests`);
  return report;
}

function printReport(report: FuzzReport): void {
  const lines = [
    `seed ${report.seed}, ${(report.durationMs / 1000).toFixed(1)} s`,
    `page frames sent: ${report.frames.sent} over ${report.frames.connections} connections (${report.frames.welcomes} welcomed, ${report.frames.invokes} invokes received)`,
    `  by kind: ${JSON.stringify(report.frames.byKind)}`,
    `  close codes seen by pages: ${JSON.stringify(report.frames.closeCodes)}`,
    `  error frames from the bridge: ${JSON.stringify(report.frames.errorsReceived)}`,
    `calls during the frame fuzz: ${report.calls.made} ${JSON.stringify(report.calls.outcomes)}`,
    `strangers (pre-hello frames): ${report.strangers.sent} frames; close codes by kind: ${JSON.stringify(report.strangers.closeCodes)}`,
    `malformed HTTP requests: ${report.http.sent}`,
    `  by kind: ${JSON.stringify(report.http.byKind)}`,
    `  by status: ${JSON.stringify(report.http.byStatus)}`,
    `bridge errors logged: ${report.bridgeErrors.length}`,
    report.failures.length === 0 ? 'no failures' : `${report.failures.length} failure(s):\n${report.failures.map((f) => `  - ${f}`).join('\n')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seed: { type: 'string' }, quick: { type: 'boolean' }, frames: { type: 'string' }, strangers: { type: 'string' }, http: { type: 'string' }, pages: { type: 'string' } },
  });
  const quick = values.quick === true || process.env.PAGECALL_FUZZ_QUICK === '1';
  const number = (text: string | undefined, fallback: number): number => (text === undefined ? fallback : Number(text));
  const seed = number(values.seed, randomSeed());
  // Printed first, so a crash can still be replayed.
  process.stdout.write(`pagecall fuzz: seed ${seed}${quick ? ' (quick)' : ''}\n`);
  const report = await runFuzz({
    seed,
    frames: number(values.frames, quick ? 3_000 : 100_000),
    strangers: number(values.strangers, quick ? 200 : 2_000),
    httpRequests: number(values.http, quick ? 600 : 10_000),
    pages: number(values.pages, 6),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  printReport(report);
  process.exitCode = report.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
