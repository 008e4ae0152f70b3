/** GET /metrics: Prometheus text, access-checked, values that follow what the bridge does. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { MAX_ACTION_SERIES } from '../../bridge/metrics.js';
import { getJson, postJson, startTestBridge, until, statusOf } from '../helpers/bridge.js';
import { fileCleanup } from '../helpers/cleanup.js';
import { HANG, type FakePage, type FakePageOptions } from '../helpers/fake-page.js';

const TOKEN = 'metrics-test-token-0123456789';
const use = fileCleanup();
const bridgeWith = (options: Parameters<typeof startTestBridge>[0] = {}): Promise<Bridge> => use.bridge(options);
function page(bridge: Bridge, group = 'g', handlers: FakePageOptions['handlers'] = {}): Promise<FakePage> {
  return use.page({ bridgeUrl: bridge.url, group, handlers: { add: (a) => (a[0] as number) + (a[1] as number), boom: () => { throw new Error('no'); }, ...handlers } });
}

async function scrape(bridge: Bridge, headers: Record<string, string> = {}): Promise<string> {
  const r = await getJson(`${bridge.url}/metrics`, { headers });
  assert.equal(r.status, 200, String(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return r.body as string;
}

/** The value of one sample, e.g. value(text, 'pagecall_calls_total', {group: 'g', action: 'add', outcome: 'ok'}). */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const brace = line.indexOf('{');
    const labelText = brace >= 0 && line.startsWith(`${name}{`) ? line.slice(brace + 1, line.indexOf('}')) : '';
    const parts = labelText ? labelText.split(',') : [];
    if (wanted.length === parts.length && wanted.every((w) => parts.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}


describe('GET /metrics', () => {
  test('passes the same access checks as the API', async () => {
    const bridge = await bridgeWith({ token: TOKEN });
    assert.equal(await statusOf(`${bridge.url}/metrics`, {}), 401);
    assert.equal(await statusOf(`${bridge.url}/metrics`, { authorization: `Bearer ${TOKEN}`, host: 'evil.example' }), 403);
    assert.equal(await statusOf(`${bridge.url}/metrics`, { authorization: `Bearer ${TOKEN}`, origin: 'https://evil.example' }), 403);
    await scrape(bridge, { authorization: `Bearer ${TOKEN}` });
    assert.equal(await statusOf(`${bridge.url}/metrics?token=${TOKEN}`, {}), 200);
    const post = await postJson(`${bridge.url}/metrics`, {});
    assert.equal(post.status, 405);
  });

  test('counts calls by group, action and outcome, and their durations', async () => {
    const bridge = await bridgeWith();
    await page(bridge);
    const before = await scrape(bridge);
    assert.equal(value(before, 'pagecall_calls_total', { group: 'g', action: 'add', outcome: 'ok' }), undefined);
    for (let i = 0; i < 3; i++) await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'add', args: [i, 1] });
    await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'boom' });
    await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'missing' });
    await postJson(`${bridge.url}/v1/call`, { group: 'nobody', action: 'add' });
    const text = await scrape(bridge);
    assert.equal(value(text, 'pagecall_calls_total', { group: 'g', action: 'add', outcome: 'ok' }), 3);
    assert.equal(value(text, 'pagecall_calls_total', { group: 'g', action: 'boom', outcome: 'PAGE_ERROR' }), 1);
    assert.equal(value(text, 'pagecall_calls_total', { group: 'g', action: 'missing', outcome: 'ACTION_NOT_FOUND' }), 1);
    assert.equal(value(text, 'pagecall_calls_total', { group: 'nobody', action: 'add', outcome: 'NO_CLIENT' }), 1);
    assert.equal(value(text, 'pagecall_call_duration_seconds_count', { group: 'g', action: 'add' }), 3);
    assert.ok(value(text, 'pagecall_call_duration_seconds_sum', { group: 'g', action: 'add' })! > 0);
    assert.equal(value(text, 'pagecall_call_duration_seconds_bucket', { group: 'g', action: 'add', le: '+Inf' }), 3);
    assert.match(text, /# TYPE pagecall_call_duration_seconds histogram/);
  });

  test('reports pages per group, joins and leaves by reason, and calls in flight', async () => {
    const bridge = await bridgeWith();
    const a = await page(bridge, 'alpha', { wait: () => HANG });
    await page(bridge, 'alpha');
    await page(bridge, 'beta');
    let text = await scrape(bridge);
    assert.equal(value(text, 'pagecall_pages', { group: 'alpha' }), 2);
    assert.equal(value(text, 'pagecall_pages', { group: 'beta' }), 1);
    assert.equal(value(text, 'pagecall_page_connections_total'), 3);
    assert.equal(value(text, 'pagecall_calls_in_flight'), 0);

    const hanging = postJson(`${bridge.url}/v1/call`, { group: 'alpha', action: 'wait', timeoutMs: 20_000 });
    await until(() => bridge.clients('alpha').some((c) => c.inFlight === 1), 'call in flight');
    text = await scrape(bridge);
    assert.equal(value(text, 'pagecall_calls_in_flight'), 1);

    const kicked = await fetch(`${bridge.url}/v1/clients/${a.clientId}`, { method: 'DELETE' });
    assert.equal(kicked.status, 200);
    assert.equal((await hanging).body.error.code, 'CLIENT_DISCONNECTED');
    text = await scrape(bridge);
    assert.equal(value(text, 'pagecall_pages', { group: 'alpha' }), 1);
    assert.equal(value(text, 'pagecall_page_disconnections_total', { reason: 'kicked' }), 1);
    assert.equal(value(text, 'pagecall_calls_in_flight'), 0);
  });

  test('counts WebSocket messages and bytes both ways', async () => {
    const bridge = await bridgeWith();
    await page(bridge);
    const before = await scrape(bridge);
    const inBefore = value(before, 'pagecall_ws_messages_total', { direction: 'in' })!;
    const bytesOutBefore = value(before, 'pagecall_ws_bytes_total', { direction: 'out' })!;
    assert.ok(inBefore >= 1, 'the hello counts');
    await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'add', args: [1, 2] });
    const after = await scrape(bridge);
    assert.ok(value(after, 'pagecall_ws_messages_total', { direction: 'in' })! > inBefore);
    assert.ok(value(after, 'pagecall_ws_bytes_total', { direction: 'out' })! > bytesOutBefore);
    assert.equal(value(after, 'pagecall_ws_bad_frames_total'), 0);
  });

  test('includes process metrics and the bridge version', async () => {
    const bridge = await bridgeWith();
    const text = await scrape(bridge);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      assert.match(text, new RegExp(`^${name} `, 'm'), name);
    }
    assert.equal(value(text, 'pagecall_info', { version: bridge.version, protocol: '1' }), 1);
  });

  test('two bridges in one process keep separate numbers', async () => {
    const one = await bridgeWith();
    const two = await bridgeWith();
    await page(one);
    await postJson(`${one.url}/v1/call`, { group: 'g', action: 'add', args: [1, 1] });
    assert.equal(value(await scrape(one), 'pagecall_calls_total', { group: 'g', action: 'add', outcome: 'ok' }), 1);
    assert.equal(value(await scrape(two), 'pagecall_calls_total', { group: 'g', action: 'add', outcome: 'ok' }), undefined);
    assert.equal(value(await scrape(two), 'pagecall_pages', { group: 'g' }), undefined);
  });

  test(`folds calls beyond ${MAX_ACTION_SERIES} group/action pairs into _other, so callers cannot grow it without bound`, async () => {
    const bridge = await bridgeWith();
    const calls = Array.from({ length: MAX_ACTION_SERIES + 50 }, (_, i) => ({ group: 'g', action: `made_up_${i}` }));
    const r = await postJson(`${bridge.url}/v1/batch`, { calls });
    assert.equal(r.body.results.length, calls.length);
    const text = await scrape(bridge);
    const series = text.split('\n').filter((l) => l.startsWith('pagecall_calls_total{')).length;
    assert.equal(series, MAX_ACTION_SERIES + 1);
    assert.equal(value(text, 'pagecall_calls_total', { group: '_other', action: '_other', outcome: 'NO_CLIENT' }), 50);
  });

  test('docs/metrics.md lists every metric the bridge exports', async () => {
    const bridge = await bridgeWith();
    const docs = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const names = (await scrape(bridge)).split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!);
    assert.ok(names.length > 30);
    for (const name of names) assert.ok(docs.includes(`\`${name}\``), `${name} is documented`);
  });
});
