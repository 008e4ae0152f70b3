/**
 * Results that pass through (bridge/result-frame.ts, docs/protocol.md): a large result in a frame
 * of its own reaches the caller as the page sent it, checked on the bytes; anything that does not
 * check takes the ordinary path and its coded errors. Scripted pages send the frames byte by byte.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALONE_CHARS } from '../../protocol/limits.js';
import { connectFakePage, HANG, type FakePage } from '../helpers/fake-page.js';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';
import { internals } from '../helpers/internals.js';

type TestBridge = Awaited<ReturnType<typeof startTestBridge>>;

/** A call the page holds until the test answers it with `frame(id)`. */
async function callAnswered(bridge: TestBridge, page: FakePage, frame: (id: string) => string, extra: Record<string, unknown> = {}): Promise<{ status: number; text: string }> {
  const invoked = page.next('invoke');
  const response = fetch(`${bridge.url}/v1/call`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ group: 'g', action: 'held', ...extra }) });
  const invoke = await invoked;
  page.sendRaw(frame(invoke.id));
  const res = await response;
  return { status: res.status, text: await res.text() };
}

/** A value whose JSON is well over ALONE_CHARS, written with escapes and spacing JSON.stringify would not use. */
const BIG_VALUE_TEXT = `{ "text" : "caf\\u00e9 \\ud83c\\udf89 \\/ ok", "n" : [1, -0.5e3, 12345678901234567890], "pad": "${'x'.repeat(ALONE_CHARS)}" }`;

describe('results that pass through', () => {
  let bridge: TestBridge;
  let page: FakePage;

  before(async () => {
    bridge = await startTestBridge();
    page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { held: () => HANG, small: () => 'small', big: () => ({ pad: 'y'.repeat(ALONE_CHARS * 2) }) } });
  });
  after(async () => {
    await page?.close();
    await bridge?.close();
  });

  const passedThrough = (): number => internals(bridge).hub.counters.passedThrough;

  test('the value reaches the caller byte for byte: escapes, spacing and big numbers as the page wrote them', async () => {
    const before = passedThrough();
    const r = await callAnswered(bridge, page, (id) => `{"type":"result","id":"${id}","ok":true,"value":${BIG_VALUE_TEXT}}`);
    assert.equal(r.status, 200);
    assert.ok(r.text.startsWith(`{"ok":true,"result":${BIG_VALUE_TEXT},"clientId":"${page.clientId}","durationMs":`), r.text.slice(0, 200));
    const body = JSON.parse(r.text);
    assert.equal(body.result.text, 'café 🎉 / ok');
    assert.equal(typeof body.durationMs, 'number');
    assert.equal(passedThrough(), before + 1);
  });

  test('tagged values inside stay tagged, for the caller to decode', async () => {
    const value = { id: { $bigint: '7412345678901234567' }, payload: { $bytes: 'AAEC' }, at: { $date: '2026-12-01T00:00:00.000Z' }, pad: 'z'.repeat(ALONE_CHARS) };
    const r = await callAnswered(bridge, page, (id) => JSON.stringify({ type: 'result', id, ok: true, value }));
    assert.deepEqual(JSON.parse(r.text).result, value);
    // The Node API decodes what passed through like any other result.
    const invoked = page.next('invoke');
    const call = bridge.call('g', 'held', []);
    const invoke = await invoked;
    page.sendRaw(JSON.stringify({ type: 'result', id: invoke.id, ok: true, value }));
    const decoded = (await call) as { id: unknown; payload: unknown; at: unknown };
    assert.equal(decoded.id, 7412345678901234567n);
    assert.deepEqual(decoded.payload, new Uint8Array([0, 1, 2]));
    assert.ok(decoded.at instanceof Date);
  });

  test('a value that is not well-formed JSON never reaches a caller: BAD_FRAME to the page, TIMEOUT to the caller, other calls go on', async () => {
    const broken = [
      (id: string) => `{"type":"result","id":"${id}","ok":true,"value":[1,2${' '.repeat(ALONE_CHARS)}}`,
      (id: string) => `{"type":"result","id":"${id}","ok":true,"value":"raw\ncontrol${'x'.repeat(ALONE_CHARS)}"}`,
    ];
    for (const frame of broken) {
      const errorsBefore = page.received.filter((m) => m.type === 'error').length;
      const r = await callAnswered(bridge, page, frame, { timeoutMs: 300 });
      assert.equal(r.status, 504, r.text);
      assert.equal(JSON.parse(r.text).error.code, 'TIMEOUT');
      await until(() => page.received.filter((m) => m.type === 'error' && m.code === 'BAD_FRAME').length > errorsBefore, 'a BAD_FRAME error');
    }
    const ok = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'small' });
    assert.equal(ok.body.result, 'small');
  });

  test('a value nested past the wire limit fails with RESULT_NOT_SERIALIZABLE, as on the ordinary path', async () => {
    const deep = '['.repeat(1010) + ']'.repeat(1010);
    const r = await callAnswered(bridge, page, (id) => `{"type":"result","id":"${id}","ok":true,"value":${deep}}`);
    assert.equal(JSON.parse(r.text).error.code, 'RESULT_NOT_SERIALIZABLE');
  });

  test('a frame with more after the value is not spliced: it is parsed, and JSON.parse decides, as for any frame', async () => {
    const before = passedThrough();
    const duplicate = await callAnswered(bridge, page, (id) => `{"type":"result","id":"${id}","ok":true,"value":"first${'x'.repeat(ALONE_CHARS)}","value":"second"}`);
    assert.equal(JSON.parse(duplicate.text).result, 'second');
    const extra = await callAnswered(bridge, page, (id) => `{"type":"result","id":"${id}","ok":true,"value":{"a":1}${' '.repeat(ALONE_CHARS)},"b":2}`);
    assert.deepEqual(JSON.parse(extra.text).result, { a: 1 });
    assert.equal(passedThrough(), before);
  });

  test('large failures and results for unknown ids take the ordinary path', async () => {
    const stack = 'at somewhere\n'.repeat(200);
    const failed = await callAnswered(bridge, page, (id) => JSON.stringify({ type: 'result', id, ok: false, error: { name: 'TypeError', message: 'boom', stack } }));
    const error = JSON.parse(failed.text).error;
    assert.equal(error.code, 'PAGE_ERROR');
    assert.equal(error.data.stack, stack);
    const ignored = internals(bridge).hub.counters.ignoredResults;
    page.sendRaw(JSON.stringify({ type: 'result', id: 'nobody-waits', ok: true, value: 'x'.repeat(ALONE_CHARS) }));
    await until(() => internals(bridge).hub.counters.ignoredResults > ignored, 'the result to be ignored');
  });

  test('a batch mixes passed-through and parsed results in order, as one valid JSON body', async () => {
    const res = await fetch(`${bridge.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ group: 'g', calls: [{ action: 'big' }, { action: 'small' }, { action: 'missing' }, { action: 'big' }] }),
    });
    const body = JSON.parse(await res.text());
    assert.equal(body.ok, true);
    assert.deepEqual(body.results.map((r: { ok: boolean }) => r.ok), [true, true, false, true]);
    assert.equal(body.results[0].result.pad.length, ALONE_CHARS * 2);
    assert.equal(body.results[1].result, 'small');
    assert.equal(body.results[2].error.code, 'ACTION_NOT_FOUND');
    assert.equal(body.results[3].clientId, page.clientId);
  });

  test('the metric counts them', async () => {
    const res = await fetch(`${bridge.url}/metrics`);
    const text = await res.text();
    const line = text.split('\n').find((l) => l.startsWith('pagecall_ws_results_passed_through_total'));
    assert.ok(line, 'the metric is exported');
    assert.equal(Number(line.split(' ')[1]), passedThrough());
    assert.ok(passedThrough() >= 4);
    const health = await getJson(`${bridge.url}/health`);
    assert.equal(health.status, 200);
  });
});
