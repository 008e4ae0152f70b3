import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { getJson, postJson, startTestBridge } from '../helpers/bridge.js';
import { connectFakePage } from '../helpers/fake-page.js';
import { internals } from '../helpers/internals.js';

// JSON.parse takes any depth, JSON.stringify overflows the stack at about 4,000 levels: input that
// crosses the bridge undecoded must be refused with a code before anything stringifies it.
const nested = (levels: number): string => `${'['.repeat(levels)}0${']'.repeat(levels)}`;

describe('hostile input that used to crash the bridge or come back INTERNAL', () => {
  test('arguments nested deeper than 1000 levels are BAD_REQUEST, and the page keeps receiving other calls', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { echo: (args) => args } });
    try {
      const deep = await postJson(`${bridge.url}/v1/call`, `{"group":"g","action":"echo","args":[1,${nested(1_010)}]}`);
      assert.equal(deep.status, 400);
      assert.equal(deep.body.error.code, 'BAD_REQUEST');
      assert.match(deep.body.error.message, /args\[1\]: nested deeper than 1000 levels/);
      const viaGet = await getJson(`${bridge.url}/v1/call?group=g&action=echo&args=${encodeURIComponent(`[${nested(1_100)}]`)}`);
      assert.equal(viaGet.body.error.code, 'BAD_REQUEST');
      const batch = await postJson(`${bridge.url}/v1/batch`, `{"group":"g","calls":[{"action":"echo","args":[${nested(1_010)}]},{"action":"echo","args":["fine"]}]}`);
      assert.equal(batch.body.results[0].error.code, 'BAD_REQUEST');
      assert.deepEqual(batch.body.results[1].result, ['fine']);
      // Far deeper is not even parsed: the byte scan refuses the whole body.
      for (const path of ['/v1/call', '/v1/batch']) {
        const body = path === '/v1/call' ? `{"group":"g","action":"echo","args":[1,${nested(10_000)}]}` : `{"group":"g","calls":[{"action":"echo","args":[${nested(5_000)}]}]}`;
        const refused = await postJson(`${bridge.url}${path}`, body);
        assert.equal(refused.status, 400, path);
        assert.match(refused.body.error.message, /^body: nested deeper than 1024 levels \(arguments may nest at most 1000\); not parsed$/);
      }
      const ok = await postJson(`${bridge.url}/v1/call`, `{"group":"g","action":"echo","args":[${nested(900)}]}`);
      assert.equal(ok.status, 200, 'nesting under the limit still travels');
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('a page result nested deeper than 1000 levels fails that call with RESULT_NOT_SERIALIZABLE; a frame past 1024 levels is not read and cuts the page off', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { deep: () => 'replaced below', deeper: () => 'replaced below', fine: () => 'fine' } });
    try {
      page.ws.removeAllListeners('message');
      page.ws.on('message', (data) => {
        const parsed = JSON.parse(String(data));
        for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
          if (m.type !== 'invoke') continue;
          const value = m.action === 'deep' ? nested(1_010) : m.action === 'deeper' ? nested(20_000) : '"fine"';
          page.sendRaw(`{"type":"result","id":"${m.id}","ok":true,"value":${value}}`);
        }
      });
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'deep' });
      assert.equal(r.status, 502);
      assert.equal(r.body.error.code, 'RESULT_NOT_SERIALIZABLE');
      assert.equal(r.body.error.data.clientId, page.clientId);
      const batch = await postJson(`${bridge.url}/v1/batch`, { group: 'g', calls: [{ action: 'deep' }, { action: 'fine' }] });
      assert.equal(batch.status, 200);
      assert.equal(batch.body.results[0].error.code, 'RESULT_NOT_SERIALIZABLE');
      assert.equal(batch.body.results[1].result, 'fine');
      const closed = once(page.ws, 'close');
      const cut = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'deeper' });
      assert.equal(cut.body.error.code, 'CLIENT_DISCONNECTED');
      assert.equal((await closed)[0], 4413);
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('a page error with a catalogue code but no message reaches the caller with a message', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { big: () => 'replaced below' } });
    try {
      page.ws.removeAllListeners('message');
      page.ws.on('message', (data) => {
        const parsed = JSON.parse(String(data));
        for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
          if (m.type === 'invoke') page.sendRaw(JSON.stringify({ type: 'result', id: m.id, ok: false, error: { code: 'RESULT_TOO_LARGE', name: 'Error', message: '' } }));
        }
      });
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'big' });
      assert.equal(r.status, 502);
      assert.equal(r.body.error.code, 'RESULT_TOO_LARGE');
      assert.match(r.body.error.message, /reported RESULT_TOO_LARGE for "big"/);
    } finally {
      await page.close();
      await bridge.close();
    }
  });

  test('a path parameter that is not valid percent-encoding is BAD_REQUEST, not INTERNAL', async () => {
    const bridge = await startTestBridge();
    try {
      const r = await getJson(`${bridge.url}/v1/clients/%E0%A4%A`, { method: 'DELETE' });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'BAD_REQUEST');
    } finally {
      await bridge.close();
    }
  });

  test('a frame of thousands of junk messages stops being read once the page is cut off for it', async () => {
    const bridge = await startTestBridge();
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: {} });
    try {
      const closed = new Promise((resolve) => page.ws.once('close', resolve));
      const before = internals(bridge).hub.counters.messagesIn;
      page.sendRaw(`[${Array(30_000).fill('0').join(',')}]`);
      assert.equal(await closed, 4402);
      // 101 bad messages close the socket; the other 29,899 are never looked at.
      assert.equal(internals(bridge).hub.counters.messagesIn - before, 101);
    } finally {
      await bridge.close();
    }
  });
});
