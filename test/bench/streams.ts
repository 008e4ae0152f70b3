/**
 * Bench rows for streams (`npm run bench -- --only streams`), run by bench.ts against its bridge
 * process and the bench page in headless Chromium:
 *   - events per second from one tab to 1 subscriber and to 100 subscribers (NDJSON over HTTP, read
 *     in this process): paced — the page emits 2,000 at a time, at most 6,000 ahead of the slowest
 *     subscriber, what subscribers sustain without missing anything (goal: ≥ 50,000/s to one) — and
 *     as one burst of 100,000 as fast as the page can, where subscribers that fall behind the
 *     history get gaps instead (the `missed` column);
 *   - the page-side cost of emit() per event: the call alone (encode + queue), and with the
 *     end-of-task flush that packs and sends what was emitted;
 *   - with `--only cluster`: the same paced and burst rounds to a subscriber on the tab's node and
 *     to one on another node of a cluster (clusterStreamScenario).
 */
import { request, type IncomingMessage } from 'node:http';

/** Where the bench runs, and how to call the bench page. */
export interface StreamBenchOptions {
  bridgeUrl: string;
  group: string;
  rounds: number;
  /** Calls a function of the bench page through the bridge. */
  callPage(action: string, args: unknown[]): Promise<unknown>;
}

/** One measured round of fan-out. */
interface FanOutRound {
  eventsPerSecond: number;
  deliveriesPerSecond: number;
  received: number;
  /** Events each subscriber missed on average (it fell behind the history: a gap told it how many). */
  missed: number;
  dropped: number;
  pageEmitMs: number;
}

/** A target of the issue and whether it was met (bench.ts's Verdict shape). */
export interface StreamVerdict {
  target: string;
  goal: string;
  measured: string;
  met: boolean;
  by: string;
}

/** What the scenario hands back to bench.ts: raw figures, tables and verdicts. */
export interface StreamBenchResult {
  results: Record<string, unknown>;
  tables: string[][][];
  verdicts: StreamVerdict[];
}

const BURST = 100_000;
/** Paced rounds: events the page emits per request, and most events ahead of the slowest subscriber. */
const CHUNK = 2_000;
const WINDOW = 6_000;
const COST_EVENTS = 20_000;

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A subscriber that counts entries as cheaply as reading them allows, and what gaps say it missed. */
interface Counter {
  /** Events received. */
  events: number;
  /** Entries the bridge said this subscriber missed (it fell behind the history). */
  missed: number;
  /** Resolves with the time events + missed reached `target`. */
  until(target: number): Promise<number>;
  close(): void;
}

const GAP = Buffer.from('"type":"gap"');

function subscribe(bridgeUrl: string, group: string, topic: string): Promise<Counter> {
  return new Promise((resolve, reject) => {
    const req = request(`${bridgeUrl}/v1/stream?group=${group}&topic=${topic}`, { headers: { accept: 'application/x-ndjson' }, agent: false });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream refused: HTTP ${res.statusCode}`));
        return;
      }
      let target = Infinity;
      let done: ((at: number) => void) | undefined;
      let partial: Buffer = Buffer.alloc(0);
      const counter: Counter = {
        events: 0,
        missed: 0,
        until(n) {
          target = n;
          return new Promise((r) => {
            done = r;
            if (counter.events + counter.missed >= target) r(performance.now());
          });
        },
        close: () => req.destroy(),
      };
      res.on('data', (chunk: Buffer) => {
        const data = partial.length > 0 ? Buffer.concat([partial, chunk]) : chunk;
        const last = data.lastIndexOf(10);
        if (last < 0) {
          partial = data;
          return;
        }
        let lines = 0;
        for (let at = data.indexOf(10); at >= 0 && at <= last; at = data.indexOf(10, at + 1)) lines++;
        // Gap lines are rare: find and read them; every other line is an event.
        for (let at = data.indexOf(GAP); at >= 0 && at < last; at = data.indexOf(GAP, at + 1)) {
          const start = data.lastIndexOf(10, at) + 1;
          const end = data.indexOf(10, at);
          const gap = JSON.parse(data.subarray(start, end).toString()) as { missed?: number | null };
          counter.missed += gap.missed ?? 0;
          lines--;
        }
        counter.events += lines;
        partial = data.subarray(last + 1);
        if (counter.events + counter.missed >= target && done) {
          done(performance.now());
          done = undefined;
        }
      });
      res.on('error', () => {});
      resolve(counter);
    });
    req.end();
  });
}

/**
 * One round: the page publishes BURST events to `subscribers` subscribers. Paced: the bench asks the
 * page for CHUNK events at a time and keeps at most WINDOW events ahead of the slowest subscriber
 * (what a subscriber sustains without missing anything). Burst: the page emits all of them as fast
 * as it can (subscribers that fall behind the history get gaps: `missed`).
 */
async function fanOut(options: StreamBenchOptions, subscribers: number, topic: string, paced: boolean, spread: readonly string[] = [options.bridgeUrl]): Promise<FanOutRound> {
  const counters = await Promise.all(Array.from({ length: subscribers }, (_, i) => subscribe(spread[i % spread.length]!, options.group, topic)));
  try {
    const started = performance.now();
    let dropped = 0;
    let pageEmitMs = 0;
    if (paced) {
      for (let emitted = 0; emitted < BURST; emitted += CHUNK) {
        if (emitted >= WINDOW) await Promise.all(counters.map((c) => c.until(emitted - WINDOW + CHUNK)));
        pageEmitMs += (await options.callPage('emitRange', [topic, emitted, CHUNK])) as number;
      }
    } else {
      const burst = (await options.callPage('emitBurst', [topic, BURST, 500])) as { ms: number; dropped: number };
      dropped = burst.dropped;
      pageEmitMs = burst.ms;
    }
    // A page that emitted faster than it could send drops the oldest (subscribers get gap lines instead).
    const finished = await Promise.all(counters.map((c) => c.until(BURST - dropped)));
    const seconds = (Math.max(...finished) - started) / 1000;
    const received = counters.reduce((n, c) => n + c.events, 0) / subscribers;
    const missed = counters.reduce((n, c) => n + c.missed, 0) / subscribers;
    return { eventsPerSecond: received / seconds, deliveriesPerSecond: (received * subscribers) / seconds, received, missed, dropped, pageEmitMs };
  } finally {
    for (const c of counters) c.close();
  }
}

/**
 * The cluster row (`--only cluster`): one tab on node a publishing to one subscriber on node a and
 * to one on node b (entries cross NATS), paced and as a burst, the two nodes alternating round by
 * round so machine load hits both alike.
 */
export async function clusterStreamScenario(options: Omit<StreamBenchOptions, 'bridgeUrl'> & { local: string; remote: string }): Promise<StreamBenchResult> {
  const results: Record<string, unknown> = {};
  const rows = [['one tab on node a, 100,000 small events', 'mode', 'subscriber on a, events/s (rounds)', 'on b (rounds)', 'b / a', 'one on a and one on b', 'missed on b (gaps)']];
  const places = { local: [options.local], remote: [options.remote], both: [options.local, options.remote] };
  type Place = keyof typeof places;
  await fanOut({ ...options, bridgeUrl: options.remote }, 1, 'cluster-warmup', true);
  for (const paced of [true, false]) {
    const byPlace: Record<Place, FanOutRound[]> = { local: [], remote: [], both: [] };
    for (let r = 0; r < options.rounds; r++) {
      // Rotated round by round, so load on the machine hits every placement alike.
      const order = (['local', 'remote', 'both'] as const).map((_, i, all) => all[(i + r) % all.length]!);
      for (const where of order) {
        const spread = places[where];
        byPlace[where].push(await fanOut({ ...options, bridgeUrl: spread[0]! }, spread.length, `cluster-${paced ? 'paced' : 'burst'}-${where}-${r}`, paced, spread));
      }
    }
    const rate = (where: Place): number => median(byPlace[where].map((x) => x.eventsPerSecond));
    const list = (where: Place): string => byPlace[where].map((x) => fmt(x.eventsPerSecond)).join(' / ');
    const missed = median(byPlace.remote.map((x) => x.missed));
    results[paced ? 'paced' : 'burst'] = { local: rate('local'), remote: rate('remote'), both: rate('both'), ratio: rate('remote') / rate('local'), missed, rounds: byPlace };
    rows.push(['', paced ? `paced: ≤ ${fmt(WINDOW)} ahead` : 'burst', `${fmt(rate('local'))} (${list('local')})`, `${fmt(rate('remote'))} (${list('remote')})`, `${fmt(rate('remote') / rate('local'), 2)}×`, `${fmt(rate('both'))} (${list('both')})`, fmt(missed)]);
  }
  return { results, tables: [rows], verdicts: [] };
}

/** Runs the stream rows. */
export async function streamScenarios(options: StreamBenchOptions): Promise<StreamBenchResult> {
  const results: Record<string, unknown> = {};
  const verdicts: StreamVerdict[] = [];
  // Warm the page's emit path and the bridge's.
  await fanOut(options, 1, 'warmup', true);

  const fanRows = [['one tab publishing 100,000 small events', 'subscribers', 'events/s each (rounds)', 'deliveries/s (all)', 'missed each (gaps)', 'dropped by the page', 'page emit ms']];
  for (const paced of [true, false]) {
    for (const subscribers of [1, 100]) {
      const rounds: FanOutRound[] = [];
      for (let r = 0; r < options.rounds; r++) rounds.push(await fanOut(options, subscribers, `fan-${paced ? 'paced' : 'burst'}-${subscribers}-${r}`, paced));
      const row = {
        eventsPerSecond: median(rounds.map((x) => x.eventsPerSecond)),
        deliveriesPerSecond: median(rounds.map((x) => x.deliveriesPerSecond)),
        missed: median(rounds.map((x) => x.missed)),
        dropped: median(rounds.map((x) => x.dropped)),
        pageEmitMs: median(rounds.map((x) => x.pageEmitMs)),
        rounds,
      };
      results[`${paced ? 'paced' : 'burst'}-${subscribers}`] = row;
      const label = paced ? `paced: ≤ ${fmt(WINDOW)} ahead of the slowest` : 'burst: all at once';
      fanRows.push([label, String(subscribers), `${fmt(row.eventsPerSecond)} (${rounds.map((x) => fmt(x.eventsPerSecond)).join(' / ')})`, fmt(row.deliveriesPerSecond), fmt(row.missed), fmt(row.dropped), fmt(row.pageEmitMs)]);
      if (paced && subscribers === 1) {
        verdicts.push({ target: 'stream: one tab to one subscriber', goal: '≥ 50,000 events/s', measured: `${fmt(row.eventsPerSecond)}${row.missed > 0 ? ` (${fmt(row.missed)} missed)` : ''}`, met: row.eventsPerSecond >= 50_000 && row.missed === 0, by: `${fmt((row.eventsPerSecond / 50_000 - 1) * 100, 0)}%` });
      }
    }
  }

  const costs: Array<{ emitUs: number; withFlushUs: number }> = [];
  for (let r = 0; r < Math.max(5, options.rounds); r++) costs.push((await options.callPage('emitCost', [COST_EVENTS])) as { emitUs: number; withFlushUs: number });
  const cost = { emitUs: median(costs.map((c) => c.emitUs)), withFlushUs: median(costs.map((c) => c.withFlushUs)), runs: costs };
  results.emitCost = cost;
  const costRows = [
    ['page-side cost of emit({i, text}) per event', 'µs (median)', 'runs'],
    ['emit() call: encode and queue', fmt(cost.emitUs, 2), costs.map((c) => fmt(c.emitUs, 2)).join(' / ')],
    ['with the end-of-task flush (pack and send)', fmt(cost.withFlushUs, 2), costs.map((c) => fmt(c.withFlushUs, 2)).join(' / ')],
  ];
  return { results, tables: [fanRows, costRows], verdicts };
}
