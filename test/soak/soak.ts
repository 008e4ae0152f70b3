/**
 * Soak: many calls from many concurrent HTTP callers across pages that disconnect and reconnect at
 * random. Every call carries a unique nonce that the page echoes; every call must settle with its
 * own result or a coded error, and none may be lost. The bridge runs in a child process, so its
 * memory (heap after a full GC, and RSS) is measured on its own, after warm-up and at the end.
 *
 *   npm run soak                          1,000,000 calls, 256 callers, 8 pages
 *   npm run soak -- --calls 50000 --callers 64 --pages 4 --seed 7
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ERRORS, isErrorCode } from '../../protocol/index.js';
import { createJsonClient } from '../helpers/keep-alive-client.js';
import { startReconnectingPage, type ReconnectingPage } from '../helpers/reconnecting-page.js';
import { createRng, randomSeed } from '../fuzz/prng.js';
import type { SoakReply, SoakRequest } from './soak-bridge.js';

/** What to run. */
export interface SoakOptions {
  /** Calls in total (default 1,000,000). */
  calls?: number;
  /** Concurrent HTTP callers (default 256). */
  callers?: number;
  /** Pages serving the calls (default 8). */
  pages?: number;
  /** A page drops its connection after this many invokes on average (default 5,000). */
  dropEvery?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** One memory sample of the bridge, taken after a full GC. */
export interface MemorySample {
  /** Calls settled when the sample was taken. */
  at: number;
  heapUsedMiB: number;
  rssMiB: number;
}

/** The outcome; `failures` is empty when every call settled correctly. */
export interface SoakReport {
  seed: number;
  calls: number;
  settled: number;
  ok: number;
  /** Coded errors by code (expected only while pages reconnect: NO_CLIENT, CLIENT_DISCONNECTED). */
  errors: Record<string, number>;
  /** Connections the pages dropped on purpose, and welcomes they got back. */
  drops: number;
  reconnects: number;
  durationMs: number;
  callsPerSecond: number;
  memory: { samples: MemorySample[]; warm: MemorySample | null; end: MemorySample | null; heapGrowthMiB: number | null; flat: boolean | null; gc: boolean };
  leftovers: Record<string, number> | null;
  failures: string[];
}

const MiB = 1024 * 1024;
/** Errors a caller may see while pages come and go; anything else is a failure. */
const EXPECTED_ERRORS: ReadonlySet<string> = new Set(['NO_CLIENT', 'CLIENT_DISCONNECTED']);
/** Heap growth tolerated between the warm-up sample and the end (both after a full GC). */
const FLAT_MARGIN_MIB = 4;

/** Starts the bridge child and waits until it listens. */
async function startBridgeProcess(): Promise<{ child: ChildProcess; port: number; request(message: SoakRequest): Promise<SoakReply> }> {
  const script = fileURLToPath(new URL('./soak-bridge.ts', import.meta.url));
  const child = fork(script, [], { execArgv: ['--expose-gc', '--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Replies come back in request order; if the child dies, everything still waiting fails.
  const waiting: Array<{ resolve: (reply: SoakReply) => void; reject: (error: Error) => void }> = [];
  let exited: Error | null = null;
  child.on('message', (reply: SoakReply) => waiting.shift()?.resolve(reply));
  child.on('exit', (code, signal) => {
    exited = new Error(`the bridge process exited (${signal ?? code})`);
    for (const w of waiting.splice(0)) w.reject(exited);
  });
  const next = (): Promise<SoakReply> =>
    new Promise((resolve, reject) => {
      if (exited) reject(exited);
      else waiting.push({ resolve, reject });
    });
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`unexpected first message from the bridge: ${ready.type}`);
  return {
    child,
    port: ready.port,
    request: (message) => {
      const answer = next();
      child.send(message);
      return answer;
    },
  };
}

/** Runs the soak. */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const total = options.calls ?? 1_000_000;
  const callerCount = options.callers ?? 256;
  const pageCount = options.pages ?? 8;
  const dropEvery = options.dropEvery ?? 5_000;
  const seed = options.seed ?? randomSeed();
  const log = options.log ?? (() => {});
  const rng = createRng(seed);
  const failures: string[] = [];
  const fail = (what: string): void => {
    if (failures.length < 50) failures.push(what);
  };

  const bridge = await startBridgeProcess();
  const url = `http://127.0.0.1:${bridge.port}`;
  log(`soak seed ${seed}: ${total} calls, ${callerCount} callers, ${pageCount} pages dropping every ~${dropEvery} invokes; bridge pid ${bridge.child.pid} on ${url}`);

  let drops = 0;
  const pages: ReconnectingPage[] = [];
  for (let i = 0; i < pageCount; i++) {
    const pageRng = rng.fork();
    let self: ReconnectingPage | undefined;
    const page = await startReconnectingPage({
      bridgeUrl: url,
      group: 'soak',
      clientId: `soak-page-${i}`,
      handlers: {
        echo: ([nonce, check]) => {
          if (self && pageRng.chance(1 / dropEvery)) {
            drops++;
            const page = self;
            const how = pageRng.chance(0.5) ? 'terminate' : 'close';
            // Now: the results of this frame are lost with the connection. Later: they get out first.
            if (pageRng.chance(0.5)) page.drop(how);
            else setImmediate(() => page.drop(how));
          }
          return { nonce: nonce ?? null, check: check ?? null, by: self?.clientId ?? null };
        },
      },
    });
    self = page;
    pages.push(page);
  }

  const client = createJsonClient(url, callerCount);
  let issued = 0;
  let settled = 0;
  let ok = 0;
  const errors: Record<string, number> = {};
  const samples: MemorySample[] = [];
  let warm: MemorySample | null = null;
  let gcAvailable = false;
  const sample = async (): Promise<MemorySample | null> => {
    const stats = await bridge.request({ type: 'stats' });
    if (stats.type !== 'stats') return null;
    gcAvailable = stats.gc;
    if (stats.errorsLogged > 0) fail(`the bridge logged ${stats.errorsLogged} error(s)`);
    const s = { at: settled, heapUsedMiB: round(stats.memory.heapUsed / MiB), rssMiB: round(stats.memory.rss / MiB) };
    samples.push(s);
    return s;
  };
  // Samples at every tenth of the run; the first one after warm-up (10%) is the baseline.
  const tenth = Math.max(1, Math.floor(total / 10));
  let nextSampleAt = tenth;
  let sampling: Promise<unknown> = Promise.resolve();

  const started = Date.now();
  let lastProgress = Date.now();
  const caller = async (): Promise<void> => {
    while (issued < total) {
      const n = issued++;
      const nonce = `n${n}-${seed}`;
      const check = (n * 7919) % 1_000_003;
      let answer;
      try {
        answer = await client.post('/v1/call', { group: 'soak', action: 'echo', args: [nonce, check], timeoutMs: 60_000 });
      } catch (error) {
        fail(`call ${n}: ${(error as Error).message}`);
        settled++;
        continue;
      }
      settled++;
      lastProgress = Date.now();
      if (answer.status === 200) {
        const r = answer.body?.result;
        if (r?.nonce !== nonce || r?.check !== check) fail(`call ${n} (${nonce}) got another call's result: ${JSON.stringify(r)}`);
        else if (r.by !== answer.body.clientId) fail(`call ${n}: result made by ${r.by} but attributed to ${answer.body.clientId}`);
        else ok++;
      } else {
        const code: unknown = answer.body?.error?.code;
        const key = isErrorCode(code) ? code : `HTTP ${answer.status}`;
        errors[key] = (errors[key] ?? 0) + 1;
        if (!isErrorCode(code) || ERRORS[code].status !== answer.status) fail(`call ${n}: uncoded answer ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`);
        else if (!EXPECTED_ERRORS.has(code)) fail(`call ${n}: ${code}: ${answer.body.error.message}`);
      }
      if (settled >= nextSampleAt) {
        nextSampleAt += tenth;
        sampling = sampling.then(async () => {
          const s = await sample();
          if (!warm) warm = s;
          log(`  ${settled}/${total} settled, ${Math.round(settled / ((Date.now() - started) / 1000))} calls/s, bridge heap ${s?.heapUsedMiB} MiB, rss ${s?.rssMiB} MiB`);
        });
      }
    }
  };
  // Not a synchronisation point: only notices a run that stopped making progress and says so.
  const watchdog = setInterval(() => {
    if (Date.now() - lastProgress > 120_000) {
      fail(`no call settled for 120 s (${issued - settled} outstanding); giving up`);
      issued = total;
      client.close(); // fails the outstanding requests, so the callers return
      clearInterval(watchdog);
    }
  }, 5_000);
  watchdog.unref();
  await Promise.all(Array.from({ length: callerCount }, caller));
  clearInterval(watchdog);
  const durationMs = Date.now() - started;
  await sampling;

  const end = await sample();
  const final = await bridge.request({ type: 'stats' });
  const left = final.type === 'stats' ? final.leftovers : null;
  if (left && (left.inFlight !== 0 || left.waiting !== 0 || left.deadlines !== 0 || left.queues !== 0)) fail(`calls left in the bridge after every caller got its answer: ${JSON.stringify(left)}`);
  if (settled !== total) fail(`${total - settled} calls never settled`);
  const reconnects = pages.reduce((n, p) => n + p.welcomes - 1, 0);

  client.close();
  await Promise.all(pages.map((p) => p.close()));
  await bridge.request({ type: 'close' });

  const warmSample = warm as MemorySample | null;
  const heapGrowthMiB = warmSample && end ? round(end.heapUsedMiB - warmSample.heapUsedMiB) : null;
  return {
    seed,
    calls: total,
    settled,
    ok,
    errors,
    drops,
    reconnects,
    durationMs,
    callsPerSecond: Math.round(settled / (durationMs / 1000)),
    memory: { samples, warm: warmSample, end, heapGrowthMiB, flat: heapGrowthMiB === null ? null : heapGrowthMiB <= FLAT_MARGIN_MIB, gc: gcAvailable },
    leftovers: left,
    failures,
  };
}

const round = (n: number): number => Math.round(n * 10) / 10;

function printReport(r: SoakReport): void {
  const m = r.memory;
  const lines = [
    `seed ${r.seed}: ${r.settled}/${r.calls} calls settled in ${(r.durationMs / 1000).toFixed(1)} s (${r.callsPerSecond} calls/s)`,
    `  ok ${r.ok}, coded errors ${JSON.stringify(r.errors)}`,
    `  pages dropped their connection ${r.drops} times and were welcomed back ${r.reconnects} times`,
    `  left in the bridge at the end: ${JSON.stringify(r.leftovers)}`,
    `  bridge memory after full GC (child process${m.gc ? '' : ', GC NOT exposed'}): ${m.samples.map((s) => `${s.at}: heap ${s.heapUsedMiB} MiB / rss ${s.rssMiB} MiB`).join('; ')}`,
    m.warm && m.end
      ? `  heap after warm-up ${m.warm.heapUsedMiB} MiB, at the end ${m.end.heapUsedMiB} MiB (growth ${m.heapGrowthMiB} MiB; margin ${FLAT_MARGIN_MIB} MiB): ${m.flat ? 'flat' : 'GROWING'}; rss ${m.warm.rssMiB} -> ${m.end.rssMiB} MiB`
      : '  not enough samples for a memory verdict',
    r.failures.length === 0 ? 'no failures' : `${r.failures.length} failure(s):\n${r.failures.map((f) => `  - ${f}`).join('\n')}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string' }, callers: { type: 'string' }, pages: { type: 'string' }, 'drop-every': { type: 'string' }, seed: { type: 'string' } } });
  const number = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text));
  const seed = number(values.seed) ?? randomSeed();
  process.stdout.write(`pagecall soak: seed ${seed}\n`);
  const options: SoakOptions = { seed, log: (line) => process.stdout.write(`${line}\n`) };
  if (values.calls !== undefined) options.calls = number(values.calls)!;
  if (values.callers !== undefined) options.callers = number(values.callers)!;
  if (values.pages !== undefined) options.pages = number(values.pages)!;
  if (values['drop-every'] !== undefined) options.dropEvery = number(values['drop-every'])!;
  const report = await runSoak(options);
  printReport(report);
  process.exitCode = report.failures.length === 0 && report.memory.flat !== false ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
