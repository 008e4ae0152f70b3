/** The JsRpc frame check, the error mapping and the compat route table (bridge/jsrpc/). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ERRORS, PagecallError, type ErrorCode } from '../../protocol/index.js';
import { checkJsrpcFrame } from '../../bridge/jsrpc/frames.js';
import { compatError, TIMEOUT_TEXT } from '../../bridge/jsrpc/respond.js';
import { JSRPC_ROUTES } from '../../bridge/jsrpc/route-table.js';
import { RouteIndex } from '../../bridge/http/router.js';

describe('checkJsrpcFrame', () => {
  const accepted: Array<[name: string, frame: unknown, value: unknown]> = [
    ['_registerActions with the list in a string', { action: '_registerActions', message_id: '', response_data: '["a","b"]' }, { kind: 'actions', actions: ['a', 'b'], refused: [] }],
    ['_registerActions with a real array', { action: '_registerActions', response_data: ['a'] }, { kind: 'actions', actions: ['a'], refused: [] }],
    ['_execjs is left out of the list (it stays a built-in)', { action: '_registerActions', message_id: '', response_data: '["_execjs","a"]' }, { kind: 'actions', actions: ['a'], refused: [] }],
    ['duplicate names count once', { action: '_registerActions', response_data: '["a","a"]' }, { kind: 'actions', actions: ['a'], refused: [] }],
    ['an empty list', { action: '_registerActions', response_data: '[]' }, { kind: 'actions', actions: [], refused: [] }],
    ['a reply with a string', { action: 'a', message_id: 'm1', response_data: 'x' }, { kind: 'reply', id: 'm1', data: 'x' }],
    ['a reply with a number', { action: 'a', message_id: 'm1', response_data: 7 }, { kind: 'reply', id: 'm1', data: 7 }],
    ['a reply without response_data', { action: 'a', message_id: 'm1' }, { kind: 'reply', id: 'm1', data: undefined }],
    ['a reply without action', { message_id: 'm1', response_data: true }, { kind: 'reply', id: 'm1', data: true }],
  ];
  for (const [name, frame, value] of accepted) {
    test(`accepts ${name}`, () => assert.deepEqual(checkJsrpcFrame(frame, 10), { ok: true, value }));
  }

  test('names pagecall cannot carry are refused one by one, with why', () => {
    const checked = checkJsrpcFrame({ action: '_registerActions', response_data: JSON.stringify(['ok', '中文', 7, '$eval', 'also-ok']) }, 10);
    assert.ok(checked.ok && checked.value.kind === 'actions');
    assert.deepEqual(checked.value.actions, ['ok', 'also-ok']);
    assert.equal(checked.value.refused.length, 3);
    assert.match(checked.value.refused[0]!, /^response_data\[1\]: "中文" is not a valid action name/);
    assert.match(checked.value.refused[1]!, /^response_data\[2\]: expected string, got number/);
  });

  const refused: Array<[name: string, frame: unknown, error: RegExp]> = [
    ['an array', [], /^frame: expected an object, got array/],
    ['a string', 'hello', /^frame: expected an object, got string/],
    ['null', null, /^frame: expected an object, got null/],
    ['a list that is not JSON', { action: '_registerActions', response_data: '[a,b' }, /^response_data: expected a JSON array of action names, got text that is not JSON/],
    ['a list that is an object', { action: '_registerActions', response_data: '{"a":1}' }, /^response_data: expected a JSON array of action names, got object/],
    ['more names than allowed', { action: '_registerActions', response_data: JSON.stringify(Array.from({ length: 11 }, (_, i) => `a${i}`)) }, /^response_data: at most 10 actions, got 11/],
    ['a reply without message_id', { action: 'a', response_data: 'x' }, /^message_id: expected string, got undefined/],
    ['a reply with a numeric message_id', { action: 'a', message_id: 5 }, /^message_id: expected string, got number/],
    ['a reply with an empty message_id', { action: 'a', message_id: '' }, /^message_id: empty/],
    ['an action that is not a string', { action: 5, message_id: 'm' }, /^action: expected string, got number/],
  ];
  for (const [name, frame, error] of refused) {
    test(`refuses ${name}`, () => {
      const checked = checkJsrpcFrame(frame, 10);
      assert.equal(checked.ok, false);
      assert.match((checked as { error: string }).error, error);
    });
  }
});

describe('compatError: pagecall codes in JsRpc answers', () => {
  const cases: Array<[code: ErrorCode, status: number]> = [
    ['TIMEOUT', 200],
    ['BAD_REQUEST', 400],
    ['NO_CLIENT', 400],
    ['CLIENT_NOT_FOUND', 400],
    ['ACTION_NOT_FOUND', 400],
    ['UNAUTHORIZED', 401],
    ['FORBIDDEN', 403],
    ['EVAL_DISABLED', 403],
    ['NOT_FOUND', 404],
    ['METHOD_NOT_ALLOWED', 405],
    ['PAYLOAD_TOO_LARGE', 413],
    ['UNSUPPORTED_MEDIA_TYPE', 415],
    ['OVERLOADED', 429],
    ['PAGE_ERROR', 502],
    ['CLIENT_DISCONNECTED', 502],
    ['RESULT_NOT_SERIALIZABLE', 502],
    ['SHUTTING_DOWN', 503],
    ['INTERNAL', 500],
  ];
  for (const [code, status] of cases) {
    test(`${code} is ${status}`, () => {
      const { status: got, text } = compatError(new PagecallError(code, 'what happened'));
      assert.equal(got, status);
      assert.equal(text, code === 'TIMEOUT' ? `${TIMEOUT_TEXT}: what happened` : 'what happened');
    });
  }

  test('every code of the catalogue has a status here', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) assert.ok(compatError(new PagecallError(code, 'x')).status >= 200, code);
  });
});

describe('the compat route table', () => {
  const doc = readFileSync(new URL('../../docs/migrating-from-jsrpc.md', import.meta.url), 'utf8');

  test('docs/migrating-from-jsrpc.md lists every route with its methods and access, and nothing else', () => {
    const documented = [...doc.matchAll(/^\| ([A-Z]+) \| `([^`?]+)[^`]*` \| (api|public) \|/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`).sort();
    const declared = JSRPC_ROUTES.flatMap((r) => r.methods.map((m) => `${m} ${r.path} ${r.access}`)).sort();
    assert.deepEqual(documented, declared);
  });

  test('every status the answers table gives a code is the status the listener answers it with', () => {
    const rows = [...doc.matchAll(/^\| (\d{3}) \|[^\n]*"code":"([A-Z_]+)"/gm)].map((m) => [Number(m[1]), m[2] as ErrorCode] as const);
    assert.ok(rows.length >= 15, `found ${rows.length} rows`);
    for (const [status, code] of rows) assert.equal(compatError(new PagecallError(code, 'x')).status, status, code);
    const documented = new Set(rows.map(([, code]) => code));
    for (const code of ['TIMEOUT', 'BAD_REQUEST', 'NO_CLIENT', 'ACTION_NOT_FOUND', 'EVAL_DISABLED', 'CLIENT_DISCONNECTED', 'PAGE_ERROR', 'OVERLOADED', 'UNAUTHORIZED', 'FORBIDDEN'] as const) {
      assert.ok(documented.has(code), `${code} is documented`);
    }
  });

  test('paths are found as the main router finds them; other methods get their Allow list', () => {
    const index = new RouteIndex(JSRPC_ROUTES);
    assert.equal(index.lookup('/go')?.allow, 'GET, HEAD, POST');
    assert.equal(index.lookup('/GO/')?.path, '/go');
    assert.equal(index.lookup('/kick')?.allow, 'DELETE');
    assert.equal(index.lookup('/page/cookie')?.path, '/page/cookie');
    assert.equal(index.lookup('/wst'), undefined);
  });
});
