/**
 * The compat listener's HTTP routes as JsRpc scrapers use them: every route, with its fields in
 * the query string, an urlencoded form, a multipart form and a JSON body; fuzzy client matching;
 * every error shape; the API's access rules; and calls across the two protocols.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { getJson, postJson, startTestBridge, statusOf, until, type JsonResponse } from '../helpers/bridge.js';
import { cleanupFor, fileCleanup } from '../helpers/cleanup.js';
import { connectFakePage, HANG } from '../helpers/fake-page.js';
import { connectJsrpcPage, HANG as JSRPC_HANG } from '../helpers/jsrpc-page.js';

const files = fileCleanup();
let bridge: Bridge;
let compat: string;

/** The ways a scraper sends fields; each answers what /go would with the same fields. */
type Send = (path: string, fields: Record<string, string>, method?: string) => Promise<JsonResponse>;
const encodings: Array<[name: string, send: Send]> = [
  ['the query string', (path, fields, method = 'GET') => getJson(`${compat}${path}?${new URLSearchParams(fields)}`, { method })],
  ['an urlencoded form', (path, fields, method = 'POST') => getJson(`${compat}${path}`, { method, body: new URLSearchParams(fields) })],
  [
    'a multipart form',
    (path, fields, method = 'POST') => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.set(k, v);
      return getJson(`${compat}${path}`, { method, body: form });
    },
  ],
  ['a JSON body', (path, fields, method = 'POST') => getJson(`${compat}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) })],
  ['a JSON body without a content type (requests.post(url, data=json.dumps(...)))', (path, fields, method = 'POST') => getJson(`${compat}${path}`, { method, body: Buffer.from(JSON.stringify(fields)) })],
];

before(async () => {
  bridge = files.add(await startTestBridge({ jsrpc: { port: 0 }, allowEval: true }), 'the bridge');
  compat = bridge.jsrpc!.url;
  const handlers = {
    echo: (param: string) => `echo:${param}`,
    obj: (param: string) => JSON.stringify({ got: param }),
    hold: () => JSRPC_HANG,
    _execjs: (code: string) => (code === 'document.cookie' ? 'sid=1; theme=dark' : code === 'document.documentElement.outerHTML' ? '<html><body>page</body></html>' : `ran:${code}`),
  };
  files.add(await connectJsrpcPage({ url: `${bridge.jsrpc!.pageUrl('web')}&clientId=tab-alpha-1`, handlers }), 'a JsRpc page');
  files.add(await connectJsrpcPage({ url: `${bridge.jsrpc!.pageUrl('web')}&clientId=tab-beta-2`, handlers: { echo: (p: string) => `beta:${p}` } }), 'a JsRpc page');
  files.add(
    await connectFakePage({
      bridgeUrl: bridge.url,
      group: 'native',
      clientId: 'native-1',
      key: bridge.pageKey,
      handlers: {
        args: (args) => args,
        typed: () => ({ bytes: { $bytes: 'AAEC' }, n: 1.5 }),
        nothing: () => ({ $undefined: true }),
        text: () => 'plain',
        hang: () => HANG,
      },
    }),
    'a pagecall page',
  );
  await until(() => bridge.clients('web').filter((c) => c.actions.includes('echo')).length === 2, 'both JsRpc pages registered');
});

describe('every route with every encoding', () => {
  for (const [name, send] of encodings) {
    test(`/go with ${name}`, async () => {
      const answer = await send('/go', { group: 'web', action: 'obj', param: 'p 1', clientId: 'tab-alpha-1' });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { status: 200, group: 'web', clientId: 'tab-alpha-1', data: '{"got":"p 1"}' });
      assert.ok(answer.headers.get('x-request-id'));
    });

    test(`/execjs with ${name}`, async () => {
      const answer = await send('/execjs', { group: 'web', code: '1 + 1', clientId: 'tab-alpha-1' });
      assert.deepEqual(answer.body, { status: '200', group: 'web', name: 'tab-alpha-1', data: 'ran:1 + 1' });
    });

    test(`/page/cookie and /page/html with ${name}`, async () => {
      const cookie = await send('/page/cookie', { group: 'web', clientId: 'tab-alpha-1' });
      assert.deepEqual(cookie.body, { status: '200', group: 'web', name: 'tab-alpha-1', data: 'sid=1; theme=dark' });
      const html = await send('/page/html', { group: 'web', clientId: 'tab-alpha-1' });
      assert.equal(html.body.data, '<html><body>page</body></html>');
    });

    test(`/kick with ${name}`, async (t) => {
      const use = cleanupFor(t);
      const id = `kick-${encodings.findIndex((e) => e[0] === name)}`;
      use.add(await connectJsrpcPage({ url: `${bridge.jsrpc!.pageUrl('kicks')}&clientId=${id}` }));
      const answer = await send('/kick', { group: 'kicks', clientId: id }, 'DELETE');
      assert.deepEqual(answer.body, { status: 200, group: 'kicks', clientId: id, data: `disconnected ${id} from kicks` });
      await until(() => !bridge.clients('kicks').some((c) => c.id === id), 'the kicked page gone');
    });
  }

  test('/list lists every group, JsRpc and pagecall pages alike', async () => {
    const answer = await getJson(`${compat}/list`);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.data.web, ['tab-alpha-1', 'tab-beta-2']);
    assert.deepEqual(answer.body.data.native, ['native-1']);
    assert.equal(answer.body.status, 200);
  });

  test('/details gives each page its address, health, failures and actions', async () => {
    const answer = await getJson(`${compat}/details`);
    assert.deepEqual(answer.body.data.web[0], { clientId: 'tab-alpha-1', clientIp: '127.0.0.1', isHealthy: true, failCount: 0, actions: ['echo', 'hold', 'obj'] });
    assert.deepEqual(answer.body.data.native[0].actions, ['args', 'hang', 'nothing', 'text', 'typed']);
  });

  test('/ sends the browser to the dashboard; /ws without an upgrade says what it is', async () => {
    const root = await getJson(`${compat}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), `${bridge.url}/`);
    const ws = await getJson(`${compat}/ws`);
    assert.equal(ws.status, 426);
    assert.match(ws.body.data, /JsRpc page socket/);
  });

  test('the caller\'s x-request-id comes back', async () => {
    const answer = await getJson(`${compat}/list`, { headers: { 'x-request-id': 'scraper-42' } });
    assert.equal(answer.headers.get('x-request-id'), 'scraper-42');
  });
});

describe('choosing the page', () => {
  test('without clientId, calls go only to pages that have the action', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add((await getJson(`${compat}/go?group=web&action=obj&param=x`)).body.clientId);
    assert.deepEqual([...seen], ['tab-alpha-1']);
  });

  test('fuzzy=true matches a part of the client id', async () => {
    const answer = await getJson(`${compat}/go?group=web&action=echo&param=x&clientId=beta&fuzzy=true`);
    assert.deepEqual(answer.body, { status: 200, group: 'web', clientId: 'tab-beta-2', data: 'beta:x' });
  });

  test('fuzzy matching prefers a page that has the action', async () => {
    const answer = await getJson(`${compat}/go?group=web&action=obj&param=x&clientId=tab&fuzzy=1`);
    assert.equal(answer.body.clientId, 'tab-alpha-1');
  });

  test('fuzzy with no page whose id contains the text is 400', async () => {
    const answer = await getJson(`${compat}/go?group=web&action=echo&clientId=gamma&fuzzy=true`);
    assert.equal(answer.status, 400);
    assert.match(answer.body.data, /no page in group "web" has a client id containing "gamma"/);
  });

  test('without fuzzy a part of an id does not match', async () => {
    const answer = await getJson(`${compat}/go?group=web&action=echo&clientId=beta`);
    assert.equal(answer.status, 400);
    assert.equal(answer.body.code, 'NO_CLIENT');
  });
});

describe('error shapes', () => {
  const cases: Array<{ name: string; request: () => Promise<JsonResponse>; status: number; body: Record<string, unknown> | ((body: any) => void) }> = [
    { name: 'no group', request: () => getJson(`${compat}/go?action=echo`), status: 400, body: { status: 400, data: '需要传入group (group: required)', code: 'BAD_REQUEST' } },
    { name: 'no action', request: () => getJson(`${compat}/go?group=web`), status: 400, body: { status: 400, data: 'action: required', code: 'BAD_REQUEST' } },
    { name: 'a malformed action', request: () => getJson(`${compat}/go?group=web&action=a%20b`), status: 400, body: (b) => assert.match(b.data, /^action: "a b" is not a valid action name/) },
    { name: 'an action no page has', request: () => getJson(`${compat}/go?group=web&action=nope`), status: 400, body: { status: 400, group: 'web', clientId: '', data: 'no page in group "web" has registered "nope"', code: 'ACTION_NOT_FOUND' } },
    { name: 'a group with no page', request: () => getJson(`${compat}/go?group=empty&action=echo`), status: 400, body: (b) => { assert.equal(b.code, 'NO_CLIENT'); assert.match(b.data, /no page is connected in group "empty" \(connected groups: /); } },
    { name: 'an unknown client id', request: () => getJson(`${compat}/go?group=web&action=echo&clientId=ghost`), status: 400, body: (b) => assert.equal(b.code, 'NO_CLIENT') },
    { name: 'a deadline that passes', request: () => getJson(`${compat}/go?group=web&action=hold&timeoutMs=30`), status: 200, body: (b) => { assert.equal(b.status, 200); assert.equal(b.group, 'web'); assert.equal(b.code, 'TIMEOUT'); assert.match(b.data, /^获取结果超时 timeout: "hold" did not finish within 30 ms$/); } },
    { name: 'a bad timeoutMs', request: () => getJson(`${compat}/go?group=web&action=echo&timeoutMs=soon`), status: 400, body: (b) => assert.match(b.data, /^timeoutMs: expected a whole number of milliseconds/) },
    { name: 'a param nested too deep', request: () => getJson(`${compat}/go?group=web&action=echo&param=${'['.repeat(300)}${']'.repeat(300)}`), status: 400, body: (b) => assert.match(b.data, /^param.*nested deeper than 200 levels/) },
    { name: 'a JSON body that is not an object', request: () => postJson(`${compat}/go`, [1]), status: 400, body: { status: 400, data: 'body: expected a JSON object, got array', code: 'BAD_REQUEST' } },
    { name: 'a JSON body that does not parse', request: () => postJson(`${compat}/go`, '{"group":'), status: 400, body: (b) => assert.match(b.data, /^body: invalid JSON/) },
    { name: 'a JSON body nested past the envelope limit (not parsed)', request: () => postJson(`${compat}/go`, `{"group":"web","action":"echo","param":${'['.repeat(5_000)}${']'.repeat(5_000)}}`), status: 400, body: (b) => assert.match(b.data, /^body: nested deeper than 1024 levels .*; not parsed$/) },
    { name: 'a group that is not a string in a JSON body', request: () => postJson(`${compat}/go`, { group: 5, action: 'echo' }), status: 400, body: { status: 400, data: 'group: expected string, got number', code: 'BAD_REQUEST' } },
    { name: 'a body of another media type', request: () => getJson(`${compat}/go`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<go/>' }), status: 415, body: (b) => assert.equal(b.code, 'UNSUPPORTED_MEDIA_TYPE') },
    { name: 'a multipart body without its boundary', request: () => getJson(`${compat}/go`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' }), status: 400, body: (b) => assert.match(b.data, /^body: /) },
    { name: 'an unknown path', request: () => getJson(`${compat}/wst`), status: 404, body: (b) => { assert.equal(b.status, 404); assert.equal(b.code, 'NOT_FOUND'); } },
    { name: 'a method the path does not have', request: () => getJson(`${compat}/list`, { method: 'POST' }), status: 405, body: (b) => assert.equal(b.code, 'METHOD_NOT_ALLOWED') },
    { name: '/kick with GET', request: () => getJson(`${compat}/kick?group=web&clientId=tab-alpha-1`), status: 405, body: (b) => assert.equal(b.code, 'METHOD_NOT_ALLOWED') },
    { name: '/kick of a page that is not there', request: () => getJson(`${compat}/kick?group=web&clientId=ghost`, { method: 'DELETE' }), status: 400, body: (b) => assert.equal(b.code, 'NO_CLIENT') },
    { name: '/execjs without code', request: () => getJson(`${compat}/execjs?group=web`), status: 400, body: { status: '400', data: 'code: required', code: 'BAD_REQUEST' } },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.status}`, async () => {
      const answer = await c.request();
      assert.equal(answer.status, c.status);
      if (typeof c.body === 'function') c.body(answer.body);
      else assert.deepEqual(answer.body, c.body);
    });
  }

  test('a 405 says which methods the path has', async () => {
    const answer = await getJson(`${compat}/go`, { method: 'DELETE' });
    assert.equal(answer.headers.get('allow'), 'GET, HEAD, POST');
  });

  test('a body over --max-body-bytes is 413', async (t) => {
    const use = cleanupFor(t);
    const small = await use.bridge({ jsrpc: { port: 0 }, maxBodyBytes: 1024 });
    const answer = await getJson(`${small.jsrpc!.url}/go`, { method: 'POST', body: new URLSearchParams({ group: 'g', action: 'a', param: 'x'.repeat(2048) }) });
    assert.equal(answer.status, 413);
    assert.equal(answer.body.code, 'PAYLOAD_TOO_LARGE');
  });
});

describe('eval routes without --allow-eval', () => {
  for (const path of ['/execjs?group=web&code=1', '/page/cookie?group=web', '/page/html?group=web', '/go?group=web&action=_execjs&param=1']) {
    test(`${path.split('?')[0]} is refused in JsRpc's shape`, async (t) => {
      const use = cleanupFor(t);
      const closed = await use.bridge({ jsrpc: { port: 0 } });
      const answer = await getJson(`${closed.jsrpc!.url}${path}`);
      assert.equal(answer.status, 403);
      assert.equal(answer.body.status, path.startsWith('/go') ? 403 : '403');
      assert.equal(answer.body.code, 'EVAL_DISABLED');
      assert.match(answer.body.data, /start pagecall with --allow-eval/);
    });
  }
});

describe('access', () => {
  test('a foreign Host (DNS rebinding) and a cross-site browser request are refused', async () => {
    assert.equal(await statusOf(`${compat}/list`, { host: 'evil.example' }), 403);
    const crossSite = await getJson(`${compat}/go?group=web&action=echo`, { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.body.code, 'FORBIDDEN');
    const foreignOrigin = await getJson(`${compat}/execjs?group=web&code=1`, { headers: { origin: 'https://evil.example' } });
    assert.equal(foreignOrigin.status, 403);
  });

  test('with a token: without it 401, with a Bearer header or ?token= the call goes through', async (t) => {
    const use = cleanupFor(t);
    const token = 'compat-http-token-0123456789';
    const locked = await use.bridge({ jsrpc: { port: 0 }, token });
    use.add(await connectJsrpcPage({ url: locked.jsrpc!.pageUrl('g'), handlers: { a: () => 'ok' } }));
    await locked.waitForAction('g', 'a');
    const url = `${locked.jsrpc!.url}/go?group=g&action=a`;
    const denied = await getJson(url);
    assert.equal(denied.status, 401);
    assert.deepEqual(Object.keys(denied.body).sort(), ['code', 'data', 'status']);
    assert.equal((await getJson(url, { headers: { authorization: `Bearer ${token}` } })).body.data, 'ok');
    assert.equal((await getJson(`${url}&token=${token}`)).body.data, 'ok');
  });

  test('the redirect to the dashboard and the /ws note need no token', async (t) => {
    const use = cleanupFor(t);
    const locked = await use.bridge({ jsrpc: { port: 0 }, token: 'compat-http-token-0123456789' });
    assert.equal((await getJson(`${locked.jsrpc!.url}/`, { redirect: 'manual' })).status, 302);
    assert.equal((await getJson(`${locked.jsrpc!.url}/list`)).status, 401);
  });
});

describe('across the two protocols', () => {
  test('a pagecall page through /go: param becomes its one argument, parsed as a JsRpc page would parse it', async () => {
    const cases: Array<[query: string, args: unknown]> = [
      ['&param=hello', ['hello']],
      ['&param=%7B%22a%22%3A1%7D', [{ a: 1 }]],
      ['&param=42', [42]],
      ['', []],
    ];
    for (const [query, args] of cases) {
      const answer = await getJson(`${compat}/go?group=native&action=args${query}`);
      assert.equal(answer.status, 200, query);
      assert.equal(answer.body.clientId, 'native-1');
      assert.deepEqual(JSON.parse(answer.body.data), args, query);
    }
  });

  test('a JSON body param that is not a string reaches a pagecall page as that value', async () => {
    const answer = await postJson(`${compat}/go`, { group: 'native', action: 'args', param: { list: [1, 2], $bytes: 'x' } });
    assert.deepEqual(JSON.parse(answer.body.data), [{ list: [1, 2], $bytes: 'x' }]);
  });

  test('a pagecall page\'s results in /go data: strings as they are, undefined empty, others as JSON', async () => {
    assert.equal((await getJson(`${compat}/go?group=native&action=text`)).body.data, 'plain');
    assert.equal((await getJson(`${compat}/go?group=native&action=nothing`)).body.data, '');
    assert.equal((await getJson(`${compat}/go?group=native&action=typed`)).body.data, '{"bytes":{"$bytes":"AAEC"},"n":1.5}');
  });

  test('a pagecall page that throws answers /go with PAGE_ERROR (502), its message in data', async (t) => {
    const use = cleanupFor(t);
    use.add(await connectFakePage({ bridgeUrl: bridge.url, group: 'throws', key: bridge.pageKey, handlers: { boom: () => { throw new RangeError('out of range'); } } }));
    const answer = await getJson(`${compat}/go?group=throws&action=boom`);
    assert.equal(answer.status, 502);
    assert.equal(answer.body.code, 'PAGE_ERROR');
    assert.equal(answer.body.data, 'RangeError: out of range');
  });

  test('JsRpc pages through /v1/call and /v1/batch: typed results, JSON text parsed', async () => {
    const single = await postJson(`${bridge.url}/v1/call`, { group: 'web', action: 'obj', args: ['x'], clientId: 'tab-alpha-1' });
    assert.deepEqual(single.body.result, { got: 'x' });
    const batch = await postJson(`${bridge.url}/v1/batch`, { group: 'web', calls: [{ action: 'echo', args: ['a'], clientId: 'tab-alpha-1' }, { action: 'echo', args: ['b'], clientId: 'tab-beta-2' }] });
    assert.deepEqual(batch.body.results.map((r: { result: unknown }) => r.result), ['echo:a', 'beta:b']);
  });

  test('a /go call leaves a trace in pagecall\'s metrics like any call', async () => {
    await getJson(`${compat}/go?group=web&action=echo&param=m`);
    const metrics = (await getJson(`${bridge.url}/metrics`)).body as string;
    assert.match(metrics, /pagecall_calls_total\{[^}]*group="web"[^}]*action="echo"[^}]*outcome="ok"[^}]*\} [1-9]/);
  });
});
