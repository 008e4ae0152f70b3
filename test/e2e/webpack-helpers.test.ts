/**
 * pagecall.webpack against real bundles in real Chromium (test/fixtures/webpack): a webpack 5
 * production build (no require.c, the room's chunk loaded on "enter", a module that breaks the
 * page when it runs early, protobuf.js static and reflection code), the same app under a renamed
 * chunk global, and a real webpack 4 build. Each through the launcher (before the page's scripts)
 * and pasted into the loaded page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Bridge } from '../../bridge/index.js';
import { injectorScript } from '../../bridge/injector-script.js';
import { attach } from '../../launcher/launch.js';
import { buildWebpackFixtures, CHUNK_GLOBALS, fixtureRoutes, FRAME, frameBytes, payloadOf, ROOM_CONFIG } from '../fixtures/webpack/build.js';
import { startTestBridge } from '../helpers/bridge.js';
import { launchTestBrowser, startSite, type TestSite } from '../helpers/browser.js';

type Mode = 'launcher' | 'pasted';
const MODES: Mode[] = ['launcher', 'pasted'];

/** What the page shows and counts once the user entered the room. */
interface RoomState {
  body: string;
  titleRuns: number | null;
  signerRuns: number | null;
}

interface Opened {
  page: Page;
  group: string;
  /** Console lines the page logged. */
  console: string[];
  close(): Promise<void>;
}

async function enterRoom(page: Page): Promise<RoomState> {
  await page.click('#enter');
  await page.waitForSelector('body[data-state="room"]');
  return page.evaluate(() => {
    const g = globalThis as any;
    return { body: g.document.body.innerHTML as string, titleRuns: g.__roomTitleRuns ?? null, signerRuns: g.__signerRuns ?? null };
  });
}

describe('webpack helpers', () => {
  let site: TestSite;
  let bridge: Bridge;
  let browser: Browser;
  let groups = 0;
  const baseline: Record<string, RoomState> = {};

  /** A fixture page with pagecall: put in by the launcher before the page's scripts, or pasted once it loaded. */
  async function open(mode: Mode, path: string, hooks = ''): Promise<Opened> {
    const group = `webpack-${++groups}`;
    const lines: string[] = [];
    if (mode === 'launcher') {
      // The launcher's script, put in before the page's own scripts (attach() adds it as an init script).
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('console', (m) => lines.push(m.text()));
      await attach(context, { group, scripts: hooks ? [{ content: hooks }] : [], bridge });
      await page.goto(`${site.url}${path}`);
      return { page, group, console: lines, close: () => context.close() };
    }
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => lines.push(m.text()));
    await page.goto(`${site.url}${path}`);
    await page.evaluate(injectorScript({ bridgeUrl: bridge.url, group, key: bridge.groupKey(group) }));
    if (hooks) await page.evaluate(hooks);
    return { page, group, console: lines, close: () => context.close() };
  }

  before(async () => {
    await buildWebpackFixtures();
    site = await startSite(fixtureRoutes());
    bridge = await startTestBridge();
    browser = await launchTestBrowser();
    // What each site looks like after "enter room" without pagecall.
    for (const path of ['/wp5/', '/loadable/', '/wp4/']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${site.url}${path}`);
      baseline[path] = await enterRoom(page);
      await context.close();
    }
    assert.match(baseline['/wp5/']!.body, /room: Live room #8848/);
    assert.match(baseline['/wp4/']!.body, /room: Room 4/);
  });
  after(async () => {
    await browser?.close();
    await bridge?.close();
    await site?.close();
  });

  for (const mode of MODES) {
    test(`webpack 5 production build (${mode}): finds what the app ran without running anything; the page renders as without pagecall`, async () => {
      const { page, close } = await open(mode, '/wp5/');
      try {
        const found = await page.evaluate(() => {
          const g = globalThis as any;
          const wp = g.pagecall.webpack;
          const root = wp.findByProps('lookupType', 'files', { result: 'match' });
          return {
            cache: 'c' in wp.require(),
            missing: wp.findExport('NoSuchExport') === undefined,
            // Installed with the lobby, run only on "enter": a search must neither run it nor
            // return its factory.
            roomTitle: wp.findExport('roomTitle') === undefined,
            signer: wp.findByCode('X-Room-Sign') === undefined,
            reflection: { path: root.path, titleType: root.value.lookupType('room.config.RoomConfig').fields.title.type },
            widgets: wp.find({ export: 'render' }, { all: true }).length,
            // lazy-exports.js (run at start) re-exports heavy.js through a getter the searches read.
            heavy: wp.findExport('Heavy') ?? null,
            runs: [g.__roomTitleRuns ?? null, g.__signerRuns ?? null, g.__heavyRuns ?? null],
            status: wp.status().bundles.map((b: any) => ({ chunkGlobal: b.chunkGlobal, cache: b.cache, capture: b.capture, unknown: b.unknown })),
          };
        });
        assert.deepEqual(found, {
          cache: false,
          missing: true,
          roomTitle: true,
          signer: true,
          reflection: { path: 'roots.reflect', titleType: 'string' },
          widgets: 30,
          heavy: null,
          runs: [null, null, null],
          status: [{ chunkGlobal: CHUNK_GLOBALS.wp5, cache: false, capture: mode === 'launcher' ? 'early' : 'late', unknown: 0 }],
        });
        assert.deepEqual(await enterRoom(page), baseline['/wp5/']);
        const ran = await page.evaluate(() => {
          const wp = (globalThis as any).pagecall.webpack;
          return { roomTitle: wp.findExport('roomTitle'), signs: typeof wp.findByCode('X-Room-Sign') };
        });
        assert.deepEqual(ran, { roomTitle: ROOM_CONFIG.title, signs: 'function' });
      } finally {
        await close();
      }
    });

    test(`webpack 5 production build (${mode}): a {load: true} run that throws is undone, so the app runs the module afresh`, async () => {
      const { page, console: lines, close } = await open(mode, '/wp5/');
      try {
        const loaded = await page.evaluate(() => {
          const g = globalThis as any;
          const wp = g.pagecall.webpack;
          const roomTitle = wp.findExport('roomTitle', { load: true });
          const Signer = wp.findByCode('X-Room-Sign', { load: true });
          return { roomTitle: roomTitle ?? null, titleRuns: g.__roomTitleRuns, signature: new Signer('k').sign('/p'), signerRuns: g.__signerRuns };
        });
        assert.deepEqual(loaded, { roomTitle: null, titleRuns: 1, signature: loaded.signature, signerRuns: 1 });
        assert.match(loaded.signature, /^X-Room-Sign=[0-9a-f]+$/);
        assert.ok(lines.some((l) => /threw when run by \{load: true\}.*TypeError.*it was reset/.test(l)), lines.join('\n'));
        // The page renders its room; the module that threw ran again for the app, the one that
        // loaded fine is the app's own copy.
        const state = await enterRoom(page);
        assert.deepEqual(state, { ...baseline['/wp5/']!, titleRuns: 2, signerRuns: 1 });
      } finally {
        await close();
      }
    });

    test(`webpack 5 production build (${mode}): waitFor resolves when the room's chunk loads; the class sits five levels deep`, async () => {
      const { page, close } = await open(mode, '/wp5/');
      try {
        const waiting = await page.evaluate(() => {
          const g = globalThis as any;
          const wp = g.pagecall.webpack;
          g.__owner = wp.waitFor({ code: ['/webcast.im.Response'] }, { result: 'owner' });
          g.__match = wp.waitFor({ export: 'Response' }, { result: 'match' });
          return wp.status().waiting;
        });
        assert.equal(waiting, 2);
        await enterRoom(page);
        const found = await page.evaluate(async () => {
          const g = globalThis as any;
          const wp = g.pagecall.webpack;
          const Response = await g.__owner;
          const match = await g.__match;
          const code = wp.findByCode('/webcast.im.Response', { result: 'match' });
          return {
            typeUrl: Response.getTypeUrl(),
            same: match.value === Response,
            // Five levels below the protobuf module, four below protobuf.js's own roots module.
            path: /^(roots\.)?live\.webcast\.im\.Response$/.test(match.path),
            code: { key: code.key, owner: code.owner === Response, export: code.export === code.exports[code.exportName] },
            tooShallow: wp.find({ export: 'Response' }, { depth: 3 }).length,
            classes: wp
              .findByProps('decode', 'toObject', { all: true })
              .filter((m: any) => /live\.webcast\.im\.\w+$/.test(m.path) && typeof m.id === 'string')
              .map((m: any) => m.key)
              .sort(),
            waiting: wp.status().waiting,
          };
        });
        assert.deepEqual(found, {
          typeUrl: 'type.googleapis.com/webcast.im.Response',
          same: true,
          path: true,
          code: { key: 'getTypeUrl', owner: true, export: true },
          tooShallow: 0,
          classes: ['ChatMessage', 'Common', 'Message', 'Response', 'User'],
          waiting: 0,
        });
      } finally {
        await close();
      }
    });

    test(`a registered decoder waits for the lazily loaded chunk, through the bridge (${mode})`, async () => {
      const hooks = `
        pagecall.register('decodeResponse', async function (bytes) {
          const Response = await pagecall.webpack.waitFor({ code: ['/webcast.im.Response'] }, { result: 'owner', signal: this.signal });
          return Response.toObject(Response.decode(bytes), { longs: String, bytes: String });
        });`;
      const { page, group, close } = await open(mode, '/wp5/', hooks);
      try {
        await bridge.waitForAction(group, 'decodeResponse');
        const call = bridge.call(group, 'decodeResponse', [frameBytes()]);
        await page.waitForFunction(() => (globalThis as any).pagecall.webpack.status().waiting === 1);
        await enterRoom(page);
        const decoded = (await call) as Record<string, unknown>;
        assert.deepEqual(decoded, {
          messages: FRAME.messages.map((m) => ({ ...m, payload: Buffer.from(payloadOf(m.method)).toString('base64') })),
          cursor: FRAME.cursor,
          fetchInterval: FRAME.fetchInterval,
          now: FRAME.now,
          internalExt: FRAME.internalExt,
        });
      } finally {
        await close();
      }
    });

    test(`a renamed chunk global (${mode}): named with use() before it holds chunks, found by itself once it does`, async () => {
      const { page, close } = await open(mode, '/loadable/');
      try {
        const before = await page.evaluate(() => {
          const wp = (globalThis as any).pagecall.webpack;
          let error = '';
          try {
            wp.findExport('roomTitle');
          } catch (e) {
            error = (e as Error).message;
          }
          (globalThis as any).__waiting = wp.waitFor({ code: ['/webcast.im.Response'] }, { result: 'owner' });
          return { error, bundles: wp.status().bundles.length };
        });
        assert.match(before.error, /no webpack bundle found on this page .*pagecall\.webpack\.use\(name\)/);
        assert.equal(before.bundles, 0);
        assert.deepEqual(await enterRoom(page), baseline['/loadable/']);
        const auto = await page.evaluate(async () => {
          const g = globalThis as any;
          const Response = await g.__waiting;
          const [bundle] = g.pagecall.webpack.status().bundles;
          return { typeUrl: Response.getTypeUrl(), chunkGlobal: bundle.chunkGlobal, found: bundle.found, title: g.pagecall.webpack.findExport('roomTitle') };
        });
        assert.deepEqual(auto, { typeUrl: 'type.googleapis.com/webcast.im.Response', chunkGlobal: CHUNK_GLOBALS.loadable, found: 'auto', title: ROOM_CONFIG.title });
      } finally {
        await close();
      }

      const hooks = mode === 'launcher' ? `pagecall.webpack.use(${JSON.stringify(CHUNK_GLOBALS.loadable)});` : '';
      const named = await open(mode, '/loadable/', hooks);
      try {
        const found = await named.page.evaluate((name) => {
          const wp = (globalThis as any).pagecall.webpack;
          wp.use(name);
          const root = wp.findByProps('lookupType', 'files', { result: 'match' });
          const [bundle] = wp.status().bundles;
          return {
            path: root.path,
            roomTitle: wp.findExport('roomTitle') ?? null,
            // Throws (no room yet); this build would rethrow the kept error on every later require.
            loaded: wp.findExport('roomTitle', { load: true }) ?? null,
            chunkGlobal: bundle.chunkGlobal,
            found: bundle.found,
            awaiting: wp.status().awaiting,
          };
        }, CHUNK_GLOBALS.loadable);
        assert.deepEqual(found, { path: 'roots.reflect', roomTitle: null, loaded: null, chunkGlobal: CHUNK_GLOBALS.loadable, found: 'use', awaiting: [] });
        assert.deepEqual(await enterRoom(named.page), { ...baseline['/loadable/']!, titleRuns: 2 });
      } finally {
        await named.close();
      }
    });

    test(`webpack 4 build (${mode}): finds functions, never module wrappers; runs factories only with {load: true}, and undoes one that throws`, async () => {
      const { page, close } = await open(mode, '/wp4/');
      try {
        const found = await page.evaluate(() => {
          const g = globalThis as any;
          const wp = g.pagecall.webpack;
          const cached = Object.keys(wp.require().c).length;
          const frame = wp.findExport('Frame');
          const out = {
            decoded: frame.decode('x'),
            byProps: wp.findByProps('decode', 'toObject') === frame,
            sauceNotRun: wp.findByCode('sauce:') === undefined,
            roomTitle: wp.findExport('roomTitle', { load: true }) ?? null,
            cacheAfterFailedLoad: Object.keys(wp.require().c).length - cached,
            sauce: wp.findByCode('sauce:', { load: true })('y'),
            cacheAfterLoad: Object.keys(wp.require().c).length - cached,
            runs: [g.__roomTitleRuns, g.__sauceRuns],
          };
          g.__room = wp.waitFor({ export: 'Room' }, { result: 'match' });
          return out;
        });
        assert.deepEqual(found, { decoded: 'frame:x', byProps: true, sauceNotRun: true, roomTitle: null, cacheAfterFailedLoad: 0, sauce: 'sauce:y', cacheAfterLoad: 1, runs: [1, 1] });
        const state = await enterRoom(page);
        assert.equal(state.body, baseline['/wp4/']!.body);
        const room = await page.evaluate(async () => {
          const g = globalThis as any;
          const match = await g.__room;
          return { path: match.path, describe: match.value.describe('z'), runs: [g.__roomTitleRuns, g.__sauceRuns] };
        });
        assert.deepEqual(room, { path: 'Room', describe: 'room-chunk(z)', runs: [2, 1] });
      } finally {
        await close();
      }
    });
  }

  test('the walk never enters the window, the document or chunk arrays, even when exports refer to them', async () => {
    const { page, close } = await open('pasted', '/wp5/');
    try {
      const walked = await page.evaluate((chunkGlobal) => {
        const g = globalThis as any;
        const wp = g.pagecall.webpack;
        const host = wp.findExport('host');
        const every = wp.find(() => true, { all: true });
        return {
          host: host.window === g && host.document === g.document && host.chunks === g[chunkGlobal],
          window: every.some((m: any) => m.value === g),
          entered: every.filter((m: any) => m.owner === g || m.owner === g.document || m.owner === g[chunkGlobal] || m.value === g.document.body || m.value === g.location).length,
          factories: every.filter((m: any) => Object.values(wp.require().m).includes(m.value)).length,
        };
      }, CHUNK_GLOBALS.wp5);
      assert.deepEqual(walked, { host: true, window: true, entered: 0, factories: 0 });
    } finally {
      await close();
    }
  });

  test('waitFor says what it waited for when it times out or is aborted; bad arguments name the field', async () => {
    const { page, close } = await open('pasted', '/wp5/');
    try {
      const errors = await page.evaluate(async () => {
        const wp = (globalThis as any).pagecall.webpack;
        const timeout = await wp.waitFor({ export: 'NoSuchExport' }, { timeoutMs: 1 }).catch((e: Error) => `${e.name}: ${e.message}`);
        const notRun = await wp.waitFor({ export: 'roomTitle' }, { timeoutMs: 1 }).catch((e: Error) => e.message);
        const controller = new AbortController();
        const aborted = wp.waitFor({ export: 'NoSuchExport' }, { signal: controller.signal }).catch((e: Error) => e.name);
        controller.abort();
        return {
          timeout,
          notRun,
          aborted: await aborted,
          waiting: wp.status().waiting,
          // Unnamed arrows: tsx would wrap named functions in a helper the page does not have.
          thrown: [
            () => wp.findExport(''),
            () => wp.find(42),
            () => wp.find({ exprt: 'Frame' }),
            () => wp.findExport('Frame', { depth: 0 }),
            () => wp.find(() => true, { load: true }),
            () => wp.findByProps({ all: true }),
            () => wp.use('document'),
          ].map((fn) => {
            try {
              fn();
              return 'no error';
            } catch (e) {
              return `${(e as Error).name}: ${(e as Error).message}`;
            }
          }),
        };
      });
      assert.match(errors.timeout, /^TimeoutError: pagecall\.webpack\.waitFor: nothing matched \{export: "NoSuchExport"\} within 1 ms \(webpackChunkpagecall_fixture: \d+ modules ran, \d+ not yet\)$/);
      assert.match(errors.notRun, /modules \d+ have the query's strings in their code and have not run \(\{load: true\} would run them\)/);
      assert.equal(errors.aborted, 'AbortError');
      assert.equal(errors.waiting, 0);
      const [emptyName, badQuery, unknownField, badDepth, loadBare, noNames, badUse] = errors.thrown;
      assert.equal(emptyName, 'TypeError: pagecall.webpack.findExport: the name must be a non-empty string, got string');
      assert.match(badQuery!, /^TypeError: pagecall\.webpack\.find: expected a predicate .* got number$/);
      assert.match(unknownField!, /^TypeError: .*unknown query field "exprt"/);
      assert.match(badDepth!, /^TypeError: .*options\.depth must be a whole number from 1 to 32, got 0/);
      assert.match(loadBare!, /^TypeError: .*load: true runs only factories whose source has given strings; .* options\.source/);
      assert.match(noNames!, /^TypeError: .*findByProps: give at least one property name/);
      assert.match(badUse!, /^TypeError: .*use: document is an? object, not an array of webpack chunks/);
    } finally {
      await close();
    }
  });
});
