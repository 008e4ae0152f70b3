/**
 * What pagecall.webpack lookups cost in the page, on the webpack 5 fixture (about 100 modules,
 * protobuf.js inside), pasted after load and injected before the page's scripts:
 *   node --import tsx test/bench/webpack-lookups.ts [--baseline path/to/older/pagecall.js] [--runs 25]
 * With --baseline, the same lookups run with an older injector bundle too (same browser, same
 * run), and the table says what each left of the page: whether entering the room still renders.
 * Times come from in-page performance.now(): the best of `runs` rounds of 10 lookups each (the
 * best, not the median: other processes on a shared machine only ever add time).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import { injectorBundle } from '../../bridge/injector-script.js';
import { buildWebpackFixtures, fixtureRoutes } from '../fixtures/webpack/build.js';
import { launchTestBrowser, startSite } from '../helpers/browser.js';

const { values } = parseArgs({ options: { baseline: { type: 'string' }, runs: { type: 'string', default: '25' } } });
const runs = Number(values.runs);

interface Row {
  injector: string;
  mode: string;
  first: number;
  hit: number;
  miss: number;
  code: number;
  afterEnter: string;
}

// Plain JavaScript, run in the page (a TypeScript loader would add helpers the page lacks).
const LOOKUPS = `function (n) {
  const wp = globalThis.pagecall.webpack;
  const time = (fn, times) => { const start = performance.now(); for (let i = 0; i < times; i++) fn(); return (performance.now() - start) / times; };
  const first = time(() => wp.findByProps('lookupType', 'files'), 1);
  let hit = Infinity, miss = Infinity, code = Infinity;
  for (let i = 0; i < n; i++) {
    hit = Math.min(hit, time(() => wp.findByProps('lookupType', 'files'), 10));
    miss = Math.min(miss, time(() => wp.findExport('NoSuchExport'), 10));
    code = Math.min(code, time(() => wp.findByCode('X-Room-Sign'), 10));
  }
  return { first, hit, miss, code };
}`;

async function measure(browser: Browser, url: string, name: string, bundle: string, mode: 'pasted' | 'init'): Promise<Row> {
  const context = await browser.newContext();
  try {
    if (mode === 'init') await context.addInitScript({ content: bundle });
    const page = await context.newPage();
    await page.goto(url);
    if (mode === 'pasted') await page.evaluate(bundle);
    const times = (await page.evaluate(`(${LOOKUPS})(${runs})`)) as Pick<Row, 'first' | 'hit' | 'miss' | 'code'>;
    await page.click('#enter');
    const afterEnter = await page
      .waitForSelector('body[data-state="room"]', { timeout: 5000 })
      .then(() => page.textContent('#title'))
      .catch(async () => `no room (${await page.textContent('#title')})`);
    return { injector: name, mode, ...times, afterEnter: afterEnter ?? '' };
  } finally {
    await context.close();
  }
}

const dir = await buildWebpackFixtures();
const site = await startSite(fixtureRoutes(dir));
const browser = await launchTestBrowser();
try {
  const injectors: Array<[string, string]> = [['current', injectorBundle()]];
  if (values.baseline) injectors.push(['baseline', readFileSync(values.baseline, 'utf8')]);
  const rows: Row[] = [];
  for (const mode of ['pasted', 'init'] as const) {
    for (const [name, bundle] of injectors) rows.push(await measure(browser, `${site.url}/wp5/`, name, bundle, mode));
  }
  const ms = (x: number): string => x.toFixed(2).padStart(6);
  console.log(`ms per lookup, best of ${runs} rounds of 10 (first: the page's first lookup, alone)`);
  console.log('injector  mode    first    hit   miss  byCode  after "enter room"');
  for (const r of rows) console.log(`${r.injector.padEnd(9)} ${r.mode.padEnd(6)} ${ms(r.first)} ${ms(r.hit)} ${ms(r.miss)} ${ms(r.code)}  ${r.afterEnter}`);
} finally {
  await browser.close();
  await site.close();
}
