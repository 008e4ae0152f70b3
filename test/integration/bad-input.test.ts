/**
 * Caller mistakes the bridge answers itself: malformed tagged values in args (never sent to a
 * page, never counted against it), routes and methods that do not exist, and groups nobody joined.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { before, describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { getJson, postJson } from '../helpers/bridge.js';
import { cleanupFor, fileCleanup } from '../helpers/cleanup.js';
import type { FakePage } from '../helpers/fake-page.js';

const use = fileCleanup();
let bridge: Bridge;
let page: FakePage;

before(async () => {
  bridge = await use.bridge();
  page = await use.page({ bridgeUrl: bridge.url, group: 'tags', handlers: { echo: (args) => args } });
});

const invokes = (): number => page.received.filter((m) => m.type === 'invoke').length;

describe('malformed tagged values in args', () => {
  const cases: Array<[string, unknown[], string]> = [
    ['$bytes that is not base64', [{ x: { $bytes: 'not base64!!' } }], 'args[0].x: $bytes: invalid base64 (unexpected " " at 3)'],
    ['$bigint that is not digits', [1, { $bigint: 'abc' }], 'args[1]: $bigint: expected a string of digits, got "abc"'],
    ['$map that is not pairs', [{ $map: 5 }], 'args[0]: $map: expected an array of [key, value] pairs, got number'],
    ['$date that is not a date', [{ $date: 'not a date' }], 'args[0]: $date: "not a date" is not a date'],
    ['$number that is not a special number', [{ $number: '5' }], 'args[0]: $number: expected "NaN", "Infinity", "-Infinity" or "-0"'],
    ['$set that is not an array', [[{ $set: 'abc' }]], 'args[0][0]: $set: expected an array, got string'],
    ['$escape that is not an object', [{ $escape: 'x' }], 'args[0]: $escape: expected an object, got string'],
  ];
  for (const [name, args, message] of cases) {
    test(`${name} is BAD_REQUEST naming its path, and no page sees the call`, async () => {
      const before = invokes();
      const failedBefore = (await getJson(`${bridge.url}/v1/clients?group=tags`)).body.clients[0].failed;
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'tags', action: 'echo', args });
      assert.equal(r.status, 400);
      assert.deepEqual(r.body.error, { code: 'BAD_REQUEST', message });
      assert.equal(invokes(), before);
      assert.equal((await getJson(`${bridge.url}/v1/clients?group=tags`)).body.clients[0].failed, failedBefore, 'not counted against the page');
    });
  }

  test('two tag keys in one object make a plain object, which goes through', async () => {
    const r = await postJson(`${bridge.url}/v1/call`, { group: 'tags', action: 'echo', args: [{ $bytes: '!!', $bigint: 'x' }] });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.result, [{ $bytes: '!!', $bigint: 'x' }]);
  });

  test('a batch item with one fails alone; the other items run', async () => {
    const before = invokes();
    const r = await postJson(`${bridge.url}/v1/batch`, {
      group: 'tags',
      calls: [{ action: 'echo', args: [1] }, { action: 'echo', args: [{ deep: [{ $bytes: 'A' }] }] }, { action: 'echo', args: [{ $bytes: 'AQ==' }] }],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.results[1], { ok: false, error: { code: 'BAD_REQUEST', message: 'calls[1].args[0].deep[0]: $bytes: invalid base64 (length)' } });
    assert.deepEqual(r.body.results[0].result, [1]);
    assert.deepEqual(r.body.results[2].result, [{ $bytes: 'AQ==' }]);
    assert.equal(invokes() - before, 2);
  });

  test('GET /v1/call checks them too', async () => {
    const before = invokes();
    const query = new URLSearchParams({ group: 'tags', action: 'echo', args: '[{"$date":"yesterday-ish"}]' });
    const r = await getJson(`${bridge.url}/v1/call?${query}`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error.message, 'args[0]: $date: "yesterday-ish" is not a date');
    assert.equal(invokes(), before);
  });
});

describe('routes', () => {
  /** Status, Allow header and error of a request with any method (fetch refuses some, e.g. TRACE). */
  function send(method: string, path: string): Promise<{ status: number; allow: string | undefined; requestId: string | undefined; body: any }> {
    return new Promise((resolve, reject) => {
      const req = request(`${bridge.url}${path}`, { method }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, requestId: res.headers['x-request-id'] as string | undefined, body: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  const wrongMethods: Array<[string, string, string]> = [
    ['PUT', '/v1/call', 'GET, HEAD, POST'],
    ['GET', '/v1/batch', 'POST'],
    ['DELETE', '/v1/clients', 'GET, HEAD'],
    ['POST', '/v1/clients/abc', 'DELETE'],
    ['POST', '/health', 'GET, HEAD, OPTIONS'],
    ['DELETE', '/injector.js', 'GET, HEAD'],
    ['POST', '/metrics', 'GET, HEAD'],
    ['POST', '/', 'GET, HEAD'],
    ['OPTIONS', '/v1/call', 'GET, HEAD, POST'],
  ];
  for (const [method, path, allow] of wrongMethods) {
    test(`${method} ${path} is METHOD_NOT_ALLOWED with Allow: ${allow}`, async () => {
      const r = await send(method, path);
      assert.equal(r.status, 405);
      assert.equal(r.allow, allow);
      assert.equal(r.body.error.code, 'METHOD_NOT_ALLOWED');
      assert.equal(r.body.error.message, `${method} is not allowed on ${path} (allowed: ${allow})`);
      assert.ok(r.requestId, 'x-request-id');
    });
  }

  test('a HEAD request to a wrong method gets the status and Allow without a body', async () => {
    const r = await send('HEAD', '/v1/batch');
    assert.equal(r.status, 405);
    assert.equal(r.allow, 'POST');
    assert.equal(r.body, undefined);
  });

  test('an unknown path is NOT_FOUND whatever the method', async () => {
    for (const method of ['GET', 'POST', 'PATCH']) {
      const r = await send(method, '/v1/nothing?x=1');
      assert.equal(r.status, 404);
      assert.equal(r.body.error.message, `no route ${method} /v1/nothing`);
      assert.equal(r.allow, undefined);
    }
  });

  test('GET routes answer HEAD, and paths match in any case and with a trailing slash', async () => {
    assert.equal((await send('HEAD', '/v1/clients')).status, 200);
    assert.equal((await send('GET', '/V1/Clients/')).status, 200);
    assert.equal((await send('GET', '/health/')).status, 200);
  });
});

describe('NO_CLIENT', () => {
  test('names the groups that do have pages, in the message and in data.groups', async () => {
    const r = await postJson(`${bridge.url}/v1/call`, { group: 'tag', action: 'echo' });
    assert.equal(r.status, 503);
    assert.deepEqual(r.body.error, {
      code: 'NO_CLIENT',
      message: 'no page is connected in group "tag" (connected group: "tags")',
      data: { group: 'tag', groups: ['tags'] },
    });
  });

  test('says so when no page is connected at all', async (t) => {
    const empty = await cleanupFor(t).bridge();
    const r = await postJson(`${empty.url}/v1/call`, { group: 'g', action: 'a' });
    assert.deepEqual(r.body.error, { code: 'NO_CLIENT', message: 'no page is connected in group "g" (no page is connected at all)', data: { group: 'g', groups: [] } });
  });

  test('names at most ten groups and counts the rest', async (t) => {
    const local = cleanupFor(t);
    const many = await local.bridge();
    for (let i = 0; i < 12; i++) await local.page({ bridgeUrl: many.url, group: `g${String(i).padStart(2, '0')}` });
    const r = await postJson(`${many.url}/v1/call`, { group: 'nope', action: 'a', clientId: 'someone' });
    assert.equal(r.body.error.code, 'NO_CLIENT');
    assert.match(r.body.error.message, /^no page is connected in group "nope" \(connected groups: "g00", "g01", .*"g09" and 2 more\)$/);
    assert.equal(r.body.error.data.groups.length, 12);
  });
});
