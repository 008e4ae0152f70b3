/**
 * 64-bit integers between protobuf.js in real Chromium and callers, through the bridge: a webpack 5
 * production build (static classes in a lazily loaded chunk, a reflection root; no Long global,
 * long.js inside the bundle) and a plain-script-tags page (long.js and protobuf.js globals), each
 * with pagecall put in by the launcher and pasted. Decoded values leave as the caller's integers;
 * re-encoding them in the page gives the bytes the same code gives when run directly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { injectorScript } from '../../bridge/injector-script.js';
import { attach } from '../../launcher/launch.js';
import { configBytes, protobufFixtureRoutes, protoRoot } from '../fixtures/protobuf/build.js';
import { buildWebpackFixtures, fixtureRoutes, frameBytes, ROOM_CONFIG } from '../fixtures/webpack/build.js';
import { startTestBridge } from '../helpers/bridge.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';

type Mode = 'launcher' | 'pasted';
const MODES: Mode[] = ['launcher', 'pasted'];

// Plain JavaScript for the page. The same functions on both fixtures, over `Response()` and
// `Config()`, which each fixture defines its own way.
const FUNCTIONS = `
  const decode = async function (bytes) { const R = await Response(this.signal); return R.toObject(R.decode(bytes)); };
  const encode = async function (object) { const R = await Response(this.signal); return R.encode(object).finish(); };
  pagecall.register('decode', decode);
  pagecall.register('decodeStrings', decode, { longs: 'string' });
  pagecall.register('decodeNumbers', decode, { longs: 'number' });
  pagecall.register('decodeMessage', async function (bytes) { const R = await Response(this.signal); return R.decode(bytes); });
  pagecall.register('encode', encode, { bigints: 'long' });
  pagecall.register('encodeStrings', encode, { bigints: 'string' });
  pagecall.register('encodeBigints', encode);
  pagecall.register('config', (bytes) => Config().toObject(Config().decode(bytes)));
  pagecall.register('configMessage', (bytes) => Config().decode(bytes));
  pagecall.register('encodeConfig', (object) => Config().encode(object).finish(), { bigints: 'long' });
  pagecall.register('arrived', (value) => ({ type: typeof value, isLong: typeof value === 'object' && value !== null && value.__isLong__ === true, text: String(value), unsigned: value && value.unsigned }), { bigints: 'long' });
`;

// The webpack build: the classes are found with the webpack helpers; Response's chunk loads on "enter".
const WEBPACK_HOOKS = `
  let found;
  const Response = async (signal) => (found ??= await pagecall.webpack.waitFor({ code: ['/webcast.im.Response'] }, { result: 'owner', signal }));
  const Config = () => pagecall.webpack.findByProps('lookupType', 'files').lookupType('room.config.RoomConfig');
  ${FUNCTIONS}`;

// Plain scripts: the classes are where the page's own code keeps them.
const SCRIPT_HOOKS = `
  const Response = async () => protobuf.roots.live.webcast.im.Response;
  const Config = () => app.RoomConfig;
  ${FUNCTIONS}
  pagecall.expose('appDecode', 'app.decodeFrame', { longs: 'string' });`;

/** Buffers (what protobuf.js gives in Node) as Uint8Array (what arrives from a page). */
function plainBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plainBytes);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainBytes(v)]));
  return value;
}

describe('64-bit integers and protobuf.js', () => {
  let site: TestSite;
  let bridge: Bridge;
  let browser: Browser;
  let groups = 0;
  const root = protoRoot();
  const Response = root.lookupType('webcast.im.Response');
  const Config = root.lookupType('room.config.RoomConfig');
  const frame = frameBytes();
  const config = configBytes();
  // What the same code gives when run directly (protobuf.js in Node, same messages).
  const frameAsBigints = plainBytes(Response.toObject(Response.decode(frame), { longs: BigInt as unknown as NumberConstructor })) as Record<string, any>;
  const frameAsStrings = plainBytes(Response.toObject(Response.decode(frame), { longs: String })) as Record<string, any>;
  const frameJson = JSON.parse(JSON.stringify(Response.decode(frame))) as unknown;

  async function open(mode: Mode, path: string, hooks: string): Promise<{ page: Page; group: string; close(): Promise<void> }> {
    const group = `int64-${++groups}`;
    if (mode === 'launcher') {
      // The launcher's page script, put in before the page's own scripts (attach() adds it as an init script).
      const context = await browser.newContext();
      await attach(context, { group, scripts: [{ content: hooks }], bridge });
      const page = await context.newPage();
      await page.goto(`${site.url}${path}`);
      await bridge.waitForAction(group, 'arrived');
      return { page, group, close: () => context.close() };
    }
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}${path}`);
    await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group, key: bridge.pageKey }));
    await page.evaluate(hooks);
    await bridge.waitForAction(group, 'arrived');
    return { page, group, close: () => context.close() };
  }

  before(async () => {
    await buildWebpackFixtures();
    site = await startSite({ ...fixtureRoutes(), ...(await protobufFixtureRoutes()) });
    bridge = await startTestBridge();
    browser = await launchTestBrowser();
  });
  after(async () => {
    await browser?.close();
    await bridge?.close();
    await site?.close();
  });

  for (const mode of MODES) {
    test(`webpack 5 build (${mode}): toObject() Longs arrive as bigints, strings or exact numbers, as each function asks`, async () => {
      const { page, group, close } = await open(mode, '/wp5/', WEBPACK_HOOKS);
      try {
        await page.click('#enter');
        await page.waitForSelector('body[data-state="room"]');
        assert.deepEqual(await bridge.call(group, 'decode', [frame]), frameAsBigints);
        assert.deepEqual(await bridge.call(group, 'decodeStrings', [frame]), frameAsStrings);
        // 'number' where the value is exact; a msgId above 2^53 stays a bigint.
        assert.deepEqual(await bridge.call(group, 'decodeNumbers', [frame]), { ...frameAsBigints, fetchInterval: 1000, now: 1700000000123 });
        // A decoded message itself goes through its own toJSON: int64 as strings, bytes as base64.
        assert.deepEqual(await bridge.call(group, 'decodeMessage', [frame]), frameJson);
        // Reflection: int64 and an unsigned uint64 above 2^53.
        assert.deepEqual(await bridge.call(group, 'config', [config]), { ...ROOM_CONFIG, roomId: 8848n, anchorId: 9007199254740993n });
        assert.deepEqual(await bridge.call(group, 'configMessage', [config]), ROOM_CONFIG);
      } finally {
        await close();
      }
    });

    test(`webpack 5 build (${mode}): decoded and re-encoded through pagecall gives the original bytes; bigint arguments protobuf.js would write as 0 arrive as Longs or strings`, async () => {
      const { page, group, close } = await open(mode, '/wp5/', WEBPACK_HOOKS);
      try {
        // Before any Long was returned: the Long class is found in the bundle (the app ran long.js).
        assert.deepEqual(await bridge.call(group, 'arrived', [-5n]), { type: 'object', isLong: true, text: '-5', unsigned: false });
        assert.deepEqual(await bridge.call(group, 'arrived', [2n ** 64n - 1n]), { type: 'object', isLong: true, text: '18446744073709551615', unsigned: true });
        await assert.rejects(bridge.call(group, 'arrived', [2n ** 64n]), (e: any) => e.code === 'PAGE_ERROR' && /args\[0\]: \$bigint 18446744073709551616 does not fit in 64 bits/.test(e.message));
        assert.deepEqual(plainBytes(await bridge.call(group, 'encodeConfig', [{ ...ROOM_CONFIG, roomId: 8848n, anchorId: 9007199254740993n }])), plainBytes(config));

        await page.click('#enter');
        await page.waitForSelector('body[data-state="room"]');
        const decoded = await bridge.call(group, 'decode', [frame]);
        assert.deepEqual(plainBytes(await bridge.call(group, 'encode', [decoded])), plainBytes(frame));
        assert.deepEqual(plainBytes(await bridge.call(group, 'encodeStrings', [decoded])), plainBytes(frame));
        // Without an option the function gets bigints, which protobuf.js takes for 0 (the proto3 default,
        // so the fields are left out), as it does when run directly.
        const zeroed = Response.toObject(Response.decode((await bridge.call(group, 'encodeBigints', [decoded])) as Uint8Array), { longs: String });
        const { now: _now, fetchInterval: _fetchInterval, ...rest } = frameAsStrings;
        assert.deepEqual(plainBytes(zeroed), { ...rest, messages: rest.messages.map(({ msgId: _msgId, ...m }: Record<string, unknown>) => m) });
      } finally {
        await close();
      }
    });

    test(`plain script tags (${mode}): Longs leave as bigints and come back as the page's own Long class`, async () => {
      const { page, group, close } = await open(mode, '/pb/', SCRIPT_HOOKS);
      try {
        await page.waitForSelector('body[data-state="ready"]');
        assert.equal(await page.textContent('#title'), `room: ${ROOM_CONFIG.title} (anchor ${ROOM_CONFIG.anchorId})`);
        const decoded = await bridge.call(group, 'decode', [frame]);
        assert.deepEqual(decoded, frameAsBigints);
        assert.deepEqual(await bridge.call(group, 'appDecode', [frame]), frameAsStrings);
        assert.deepEqual(await bridge.call(group, 'decodeMessage', [frame]), frameJson);
        assert.deepEqual(plainBytes(await bridge.call(group, 'encode', [decoded])), plainBytes(frame));
        assert.deepEqual(await bridge.call(group, 'config', [config]), { ...ROOM_CONFIG, roomId: 8848n, anchorId: 9007199254740993n });
        assert.deepEqual(plainBytes(await bridge.call(group, 'encodeConfig', [{ ...ROOM_CONFIG, roomId: 8848n, anchorId: 9007199254740993n }])), plainBytes(config));
        const sameClass = await page.evaluate(() => {
          const g = globalThis as any;
          return g.protobuf.util.Long === g.Long;
        });
        assert.equal(sameClass, true);
        assert.deepEqual(await bridge.call(group, 'arrived', [7312000000000000001n]), { type: 'object', isLong: true, text: '7312000000000000001', unsigned: false });
      } finally {
        await close();
      }
    });
  }

  test('bad function options are refused with a TypeError naming the option', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${site.url}/pb/`);
      await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group: `int64-${++groups}`, key: bridge.pageKey }));
      const errors = await page.evaluate(() => {
        const pc = (globalThis as any).pagecall;
        // Unnamed arrows: tsx would wrap named functions in a helper the page does not have.
        return [
          () => pc.register('a', () => 1, { longs: 'Number' }),
          () => pc.register('a', () => 1, { bigint: 'long' }),
          () => pc.register('a', () => 1, { bigints: 'long', Long: 5 }),
          () => pc.register('a', () => 1, { Long: (globalThis as any).Long }),
          () => pc.expose('a', 'app.decodeFrame', 'string'),
        ].map((fn) => {
          try {
            fn();
            return 'no error';
          } catch (e) {
            return `${(e as Error).name}: ${(e as Error).message}`;
          }
        });
      });
      assert.deepEqual(errors, [
        "TypeError: pagecall.register: options.longs must be 'bigint', 'string', 'number'; got \"Number\"",
        'TypeError: pagecall.register: unknown option "bigint" (the options are longs, bigints, Long)',
        'TypeError: pagecall.register: options.Long must be the Long class (protobuf.util.Long, or long.js\'s default export), got number',
        "TypeError: pagecall.register: options.Long is used only with bigints: 'long'",
        'TypeError: pagecall.expose: options must be an object like { longs: \'string\' }, got "string"',
      ]);
    } finally {
      await context.close();
    }
  });
});
