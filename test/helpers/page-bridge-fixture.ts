/**
 * A fixture process for caller libraries in other languages (the Python client's pytest suite):
 * real bridges on port 0 and real headless Chromium tabs, loaded through the launcher with test
 * functions registered. Run it with `node --import tsx test/helpers/page-bridge-fixture.ts`.
 *
 * stdout: one JSON line `{"type":"ready","site":URL,"bridges":{NAME:{"url","token"?,"groups"}}}`,
 * then one JSON line answering each command. stdin: JSON commands, one a line:
 *   {"id":1,"cmd":"stop","bridge":"restart"}    close that bridge (grace 0); pages start reconnecting
 *   {"id":2,"cmd":"start","bridge":"restart"}   start it again on the same port
 *   {"id":3,"cmd":"eval","tab":"tight","code":"window.release()"}   run code in a tab, answer its value
 * Answers are `{"id":N,"ok":true,"value"?}` or `{"id":N,"ok":false,"error":"..."}`.
 * The process closes everything and exits when stdin closes.
 */
import { createInterface } from 'node:readline';
import type { Bridge, StartOptions } from '../../bridge/index.js';
import { launch, type Launched, type LaunchedTab } from '../../launcher/launch.js';
import { startSite } from './browser.js';
import { startTestBridge } from './bridge.js';

/** The token of the `main` bridge. */
export const MAIN_TOKEN = 'pagecall-fixture-token-0123456789';

/**
 * Test functions every tab registers. `describe` reports the JavaScript type of what arrived, so a
 * test can check the page got a Uint8Array and not a tagged object.
 */
const HOOKS = `
  const holds = [];
  let counter = 0;
  window.release = () => { const waiting = holds.splice(0); for (const resolve of waiting) resolve('released'); return waiting.length; };
  window.holding = () => holds.length;
  const describe = (v) => {
    if (v === undefined) return 'undefined';
    if (v === null) return 'null';
    if (typeof v === 'bigint') return 'bigint(' + v + ')';
    if (typeof v === 'number') return 'number(' + (Object.is(v, -0) ? '-0' : String(v)) + ')';
    if (typeof v === 'string') return 'string(' + v + ')';
    if (typeof v === 'boolean') return 'boolean(' + v + ')';
    if (v instanceof Uint8Array) return 'Uint8Array(' + Array.from(v).join(',') + ')';
    if (v instanceof Date) return 'Date(' + (Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()) + ')';
    if (v instanceof Map) return 'Map(' + Array.from(v, ([k, x]) => describe(k) + '=>' + describe(x)).join(',') + ')';
    if (v instanceof Set) return 'Set(' + Array.from(v, describe).join(',') + ')';
    if (Array.isArray(v)) return 'Array(' + v.map(describe).join(',') + ')';
    return 'Object(' + Object.keys(v).map((k) => k + ':' + describe(v[k])).join(',') + ')';
  };
  pagecall.register('echo', (...args) => args);
  pagecall.register('identity', (value) => value);
  pagecall.register('describe', (...args) => args.map(describe));
  pagecall.register('make', () => ({
    bytes: new Uint8Array([0, 1, 2, 255]),
    big: 2n ** 64n + 1n,
    negativeBig: -(2n ** 70n),
    safe: Number.MAX_SAFE_INTEGER,
    date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)),
    invalidDate: new Date(NaN),
    map: new Map([[1, 'one'], ['k', { x: 1 }]]),
    objectKeys: new Map([[{ a: 1 }, 'object key']]),
    set: new Set([1, 'a']),
    arraySet: new Set([[1, 2]]),
    holes: [undefined, 1],
    nan: NaN,
    minusInfinity: -Infinity,
    negativeZero: -0,
    escaped: { $bytes: 'not bytes' },
    nested: { list: [new Uint8Array([9])] },
    view: new DataView(new Uint8Array([7, 8]).buffer),
  }));
  pagecall.register('double', (n) => { if (n < 0) throw new RangeError('negative: ' + n); return n * 2; });
  pagecall.register('undefined', () => undefined);
  pagecall.register('fail', (message) => { throw new TypeError(message); });
  pagecall.register('reject', async (message) => { throw new RangeError(message); });
  pagecall.register('hang', function () { return new Promise((resolve) => this.signal.addEventListener('abort', () => resolve('aborted'))); });
  pagecall.register('hold', () => new Promise((resolve) => holds.push(resolve)));
  pagecall.register('cycle', () => { const a = { name: 'a' }; a.self = a; return a; });
  pagecall.register('big', (n) => 'x'.repeat(n));
  pagecall.register('count', () => ++counter);
  pagecall.register('counted', () => counter);
  pagecall.register('whoami', () => pagecall.status().clientId);
  pagecall.register('publish', (topic, values) => { for (const value of values) pagecall.emit(topic, value); return values.length; });
  pagecall.register('drop', () => {
    // Leaves mid-call (the bridge sees the socket close), then comes back.
    setTimeout(() => { pagecall.disconnect(); setTimeout(() => pagecall.connect(), 50); }, 0);
    return new Promise(() => {});
  });
`;

interface BridgeSpec {
  options: StartOptions;
  groups: string[];
}

/** The bridges this fixture runs, and the tabs (groups) each serves. */
const SPECS: Record<string, BridgeSpec> = {
  // Batches of at most 50 calls and bodies of at most 4 MiB, so chunking is exercised; a token.
  main: { options: { token: MAIN_TOKEN, maxBatch: 50, maxBodyBytes: 4 * 1024 * 1024 }, groups: ['py', 'py-drop'] },
  // One call in flight per page, a short queue wait and small frames: OVERLOADED and RESULT_TOO_LARGE.
  tight: { options: { maxInFlightPerClient: 1, queueTimeoutMs: 100, maxFrameBytes: 64 * 1024, allowEval: true }, groups: ['tight'] },
  // Stopped and started by the restart tests.
  restart: { options: {}, groups: ['restart'] },
};

async function main(): Promise<void> {
  const site = await startSite(Object.fromEntries(Object.values(SPECS).flatMap((s) => s.groups).map((g) => [`/${g}`, `<!doctype html><title>${g}</title><p>${g}`])));
  const bridges = new Map<string, Bridge>();
  // Ports are kept apart: a closed bridge has no address to ask.
  const ports = new Map<string, number>();
  const launches: Launched[] = [];
  const tabs = new Map<string, LaunchedTab>();
  const reply = (message: unknown): void => {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  };

  let closing: Promise<void> | undefined;
  const closeAll = (): Promise<void> =>
    (closing ??= (async () => {
      for (const launched of launches.reverse()) await launched.close().catch(() => {});
      for (const bridge of bridges.values()) await bridge.close(0).catch(() => {});
      await site.close();
    })());

  try {
    for (const [name, spec] of Object.entries(SPECS)) {
      const bridge = await startTestBridge({ ...spec.options });
      bridges.set(name, bridge);
      ports.set(name, bridge.port);
    }
    for (const [name, spec] of Object.entries(SPECS)) {
      const bridge = bridges.get(name)!;
      for (const group of spec.groups) {
        const launched = await launch({
          urls: [`${site.url}/${group}`],
          group,
          scripts: [{ content: HOOKS }],
          bridge,
          browser: launches[0]?.browser,
        });
        launches.push(launched);
        tabs.set(group, launched.tabs()[0]!);
      }
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  reply({
    type: 'ready',
    site: site.url,
    bridges: Object.fromEntries([...bridges].map(([name, b]) => [name, { url: b.url, port: b.port, token: SPECS[name]!.options.token ?? null, groups: SPECS[name]!.groups }])),
  });

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    let id: unknown;
    (async () => {
      const command = JSON.parse(line) as { id: unknown; cmd: string; bridge?: string; tab?: string; code?: string };
      id = command.id;
      switch (command.cmd) {
        case 'stop': {
          const bridge = bridges.get(command.bridge ?? '');
          if (!bridge) throw new Error(`no bridge ${command.bridge}`);
          await bridge.close(0);
          return undefined;
        }
        case 'start': {
          const port = ports.get(command.bridge ?? '');
          if (port === undefined) throw new Error(`no bridge ${command.bridge}`);
          bridges.set(command.bridge!, await startTestBridge({ ...SPECS[command.bridge!]!.options, port }));
          return undefined;
        }
        case 'eval': {
          const tab = tabs.get(command.tab ?? '');
          if (!tab) throw new Error(`no tab ${command.tab}`);
          return tab.evaluate(command.code ?? 'undefined');
        }
        default:
          throw new Error(`unknown command ${JSON.stringify(command.cmd)}`);
      }
    })().then(
      (value) => reply({ id, ok: true, value }),
      (error: unknown) => reply({ id, ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  const exit = (): void => {
    closeAll().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  lines.on('close', exit);
  process.once('SIGTERM', exit);
}

main().catch((error: unknown) => {
  process.stderr.write(`page-bridge fixture failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
