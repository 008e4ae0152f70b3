/**
 * However a page's connection ends, it leaves once: its running call is settled at once, it is no
 * longer listed, and metrics count exactly one departure, under the reason of its close code.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import type { Bridge, StartOptions } from '../../bridge/index.js';
import { getJson, postJson, until } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { connectFakePage, HANG, type FakePage } from '../helpers/fake-page.js';
import { withTimeout } from '../helpers/wait.js';

/** Departures counted by pagecall_page_disconnections_total, by reason. */
async function departures(bridge: Bridge): Promise<Record<string, number>> {
  const text = (await getJson(`${bridge.url}/metrics`)).body as string;
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^pagecall_page_disconnections_total\{reason="([a-z_]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const ways: Array<{ name: string; reason: string; code: string; options?: StartOptions; end: (bridge: Bridge, page: FakePage) => Promise<unknown> }> = [
  { name: 'the page closes its socket', reason: 'closed', code: 'CLIENT_DISCONNECTED', end: (_b, page) => page.close() },
  { name: 'the page gives up on a silent bridge (4000)', reason: 'bridge_silent', code: 'CLIENT_DISCONNECTED', end: async (_b, page) => page.ws.close(4000, 'bridge silent') },
  { name: 'an operator kicks it', reason: 'kicked', code: 'CLIENT_DISCONNECTED', end: (bridge, page) => getJson(`${bridge.url}/v1/clients/${page.clientId}`, { method: 'DELETE' }) },
  {
    name: 'a new connection takes its client id',
    reason: 'replaced',
    code: 'CLIENT_DISCONNECTED',
    end: (bridge, page) => connectFakePage({ bridgeUrl: bridge.url, group: 'other', clientId: page.clientId, resume: page.welcome.resume }),
  },
  {
    name: 'it sends too many invalid frames',
    reason: 'bad_frames',
    code: 'CLIENT_DISCONNECTED',
    end: async (_b, page) => {
      for (let i = 0; i < 101; i++) page.sendRaw('not json');
    },
  },
  {
    name: 'it sends a frame over the size limit (ws reports an error, then the close)',
    reason: 'protocol_error',
    code: 'CLIENT_DISCONNECTED',
    options: { maxFrameBytes: 1024 },
    end: async (_b, page) => page.sendRaw(JSON.stringify({ type: 'update', title: 'x'.repeat(2048) })),
  },
  { name: 'it stops answering pings', reason: 'unresponsive', code: 'CLIENT_DISCONNECTED', options: { heartbeatMs: 100 }, end: async (_b, page) => page.freeze() },
];

for (const way of ways) {
  test(`when ${way.name}, the page leaves once: its call settles at once and one departure is counted (${way.reason})`, async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge(way.options);
    const page = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { hang: () => HANG } });
    const call = postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hang', retry: false, timeoutMs: 60_000 });
    await page.next('invoke');
    const closed = once(page.ws, 'close');
    const ended = await way.end(bridge, page);
    if (ended && typeof ended === 'object' && 'close' in ended) use.add(ended as FakePage, 'the successor page');
    const answer = await call;
    assert.equal(answer.body.error?.code, way.code, JSON.stringify(answer.body));
    await withTimeout(closed, 'the page socket to close');
    await until(async () => (await getJson(`${bridge.url}/v1/clients?group=g`)).body.clients.length === 0, 'the page to be unlisted');
    assert.deepEqual(await departures(bridge), { [way.reason]: 1 });
  });
}

test('when the bridge shuts down, every page leaves once and its calls fail with SHUTTING_DOWN', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const pages = [await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { hang: () => HANG } }), await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { hang: () => HANG } })];
  const calls = [postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hang', timeoutMs: 60_000 }), postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'hang', timeoutMs: 60_000 })];
  await until(() => pages.every((p) => p.received.some((m) => m.type === 'invoke')), 'both pages to get a call');
  const closed = pages.map((p) => once(p.ws, 'close'));
  await bridge.close();
  for (const answer of await Promise.all(calls)) assert.equal(answer.body.error?.code, 'SHUTTING_DOWN');
  const codes = (await withTimeout(Promise.all(closed), 'the pages to be closed')).map(([code]) => code as number);
  assert.deepEqual(codes, [1001, 1001]);
});
