/**
 * Bench rows for the caller libraries, run by bench.ts (`--only clients`) against its bridge process
 * and Chromium bench page, in the same run:
 *   - Python: serial calls through pagecall.Bridge vs a raw keep-alive http.client loop sending the
 *     same JSON (goal ≥ 90%) and vs urllib.request (goal ≥ 3×); 16 threads sharing one Bridge
 *     (test/bench/python-client.py does the measuring);
 *   - Node: pagecall/client vs raw fetch with keep-alive, serial and 16 at a time (goal within 10%).
 * Rounds alternate between the contenders so drift on a noisy machine hits each alike; medians.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../../clients/node/index.js';
import { findPython } from '../helpers/python.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Where to call and for how long. */
export interface ClientBenchOptions {
  bridgeUrl: string;
  group: string;
  /** A page function that returns its first argument. */
  action: string;
  seconds: number;
  rounds: number;
}

/** A measured contender. */
export interface ClientMeasure {
  callsPerSecond: number;
  p50Ms: number;
  rounds: number[];
}

/** A target of the issue and whether it was met (bench.ts's Verdict shape). */
export interface ClientVerdict {
  target: string;
  goal: string;
  measured: string;
  met: boolean;
  by: string;
}

/** What the scenario hands back to bench.ts: raw figures, a table and verdicts. */
export interface ClientBenchResult {
  results: { python: Record<string, ClientMeasure> & { python?: string }; node: Record<string, ClientMeasure> };
  rows: string[][];
  verdicts: ClientVerdict[];
}

const ARG = 'hello, page';

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Runs `workers` loops of `once` for `seconds`; calls per second and p50 latency. */
async function measure(once: () => Promise<unknown>, workers: number, seconds: number): Promise<{ callsPerSecond: number; p50Ms: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const result = await once();
        latencies.push(performance.now() - t0);
        if (result !== ARG) throw new Error(`unexpected result ${JSON.stringify(result)}`);
      }
    }),
  );
  return { callsPerSecond: latencies.length / ((performance.now() - started) / 1000), p50Ms: median(latencies) };
}

async function nodeRows(options: ClientBenchOptions): Promise<Record<string, ClientMeasure>> {
  const client = connect({ url: options.bridgeUrl });
  const body = JSON.stringify({ group: options.group, action: options.action, args: [ARG] });
  const url = `${options.bridgeUrl}/v1/call`;
  // Raw fetch: Node's fetch keeps connections alive by default.
  const raw = async (): Promise<unknown> => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return ((await res.json()) as { result: unknown }).result;
  };
  const viaClient = (): Promise<unknown> => client.call(options.group, options.action, [ARG]);
  const contenders: Array<[string, () => Promise<unknown>, number]> = [
    ['fetch, serial', raw, 1],
    ['client, serial', viaClient, 1],
    ['fetch, 16 at a time', raw, 16],
    ['client, 16 at a time', viaClient, 16],
  ];
  const rounds = new Map<string, Array<{ callsPerSecond: number; p50Ms: number }>>(contenders.map(([name]) => [name, []]));
  try {
    for (const [, once, workers] of contenders) await measure(once, workers, 0.5);
    for (let r = 0; r < options.rounds; r++) {
      for (const [name, once, workers] of contenders) rounds.get(name)!.push(await measure(once, workers, options.seconds));
    }
  } finally {
    client.close();
  }
  return Object.fromEntries(
    [...rounds].map(([name, list]) => [name, { callsPerSecond: median(list.map((m) => m.callsPerSecond)), p50Ms: median(list.map((m) => m.p50Ms)), rounds: list.map((m) => Math.round(m.callsPerSecond)) }]),
  );
}

function pythonRows(options: ClientBenchOptions): Promise<Record<string, ClientMeasure> & { python?: string }> {
  const args = [join(here, 'python-client.py'), '--url', options.bridgeUrl, '--group', options.group, '--action', options.action, '--seconds', String(options.seconds), '--rounds', String(options.rounds)];
  return new Promise((resolve, reject) => {
    const child = spawn(findPython(), args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`python-client.py exited with ${code}: ${stderr}`))));
  });
}

/** Measures every client row; the bench's bridge and page must be up. */
export async function clientScenarios(options: ClientBenchOptions): Promise<ClientBenchResult> {
  const python = await pythonRows(options);
  const node = await nodeRows(options);
  const p = (name: string): ClientMeasure => python[name] as ClientMeasure;
  const rows: string[][] = [
    ['callers (echo through the bridge and the bench page)', 'calls/s', 'p50 ms', 'vs baseline'],
    [`python ${python.python ?? ''}: raw http.client keep-alive, serial`, fmt(p('raw').callsPerSecond), fmt(p('raw').p50Ms, 3), 'baseline'],
    ['python: pagecall.Bridge, serial', fmt(p('client').callsPerSecond), fmt(p('client').p50Ms, 3), `${fmt((100 * p('client').callsPerSecond) / p('raw').callsPerSecond, 1)}% of raw`],
    ['python: urllib.request, serial', fmt(p('urllib').callsPerSecond), fmt(p('urllib').p50Ms, 3), `client ${fmt(p('client').callsPerSecond / p('urllib').callsPerSecond, 2)}× urllib`],
    ['python: 16 threads, one shared Bridge', fmt(p('threads').callsPerSecond), fmt(p('threads').p50Ms, 3), `${fmt(p('threads').callsPerSecond / p('client').callsPerSecond, 2)}× serial`],
    ['python: 16 threads, raw connection each', fmt(p('raw-threads').callsPerSecond), fmt(p('raw-threads').p50Ms, 3), `shared Bridge ${fmt((100 * p('threads').callsPerSecond) / p('raw-threads').callsPerSecond, 1)}% of it`],
    ['node: fetch keep-alive, serial', fmt(node['fetch, serial']!.callsPerSecond), fmt(node['fetch, serial']!.p50Ms, 3), 'baseline'],
    ['node: pagecall/client, serial', fmt(node['client, serial']!.callsPerSecond), fmt(node['client, serial']!.p50Ms, 3), `${fmt((100 * node['client, serial']!.callsPerSecond) / node['fetch, serial']!.callsPerSecond, 1)}% of fetch`],
    ['node: fetch keep-alive, 16 at a time', fmt(node['fetch, 16 at a time']!.callsPerSecond), fmt(node['fetch, 16 at a time']!.p50Ms, 3), 'baseline'],
    ['node: pagecall/client, 16 at a time', fmt(node['client, 16 at a time']!.callsPerSecond), fmt(node['client, 16 at a time']!.p50Ms, 3), `${fmt((100 * node['client, 16 at a time']!.callsPerSecond) / node['fetch, 16 at a time']!.callsPerSecond, 1)}% of fetch`],
  ];
  const share = p('client').callsPerSecond / p('raw').callsPerSecond;
  const overUrllib = p('client').callsPerSecond / p('urllib').callsPerSecond;
  const nodeShare = node['client, serial']!.callsPerSecond / node['fetch, serial']!.callsPerSecond;
  const verdicts: ClientVerdict[] = [
    { target: 'python client, serial calls', goal: '≥ 90% of raw http.client keep-alive', measured: `${fmt(share * 100, 1)}%`, met: share >= 0.9, by: `${fmt((share / 0.9 - 1) * 100, 0)}%` },
    { target: 'python client, serial calls', goal: '≥ 3× urllib.request', measured: `${fmt(overUrllib, 2)}×`, met: overUrllib >= 3, by: `${fmt((overUrllib / 3 - 1) * 100, 0)}%` },
    { target: 'node client, serial calls', goal: 'within 10% of fetch keep-alive', measured: `${fmt(nodeShare * 100, 1)}%`, met: nodeShare >= 0.9, by: `${fmt((nodeShare / 0.9 - 1) * 100, 0)}%` },
  ];
  return { results: { python, node }, rows, verdicts };
}
