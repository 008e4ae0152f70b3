import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkAction,
  checkBridgeMessage,
  checkGroup,
  checkPageMessage,
  frameMessages,
  type BridgeMessage,
  type GuardTable,
  type PageMessage,
  type PageMessageLimits,
} from '../../protocol/index.js';

const limits = { maxActions: 3 };

describe('frame guards', () => {
  const cases: Array<[string, unknown, string | null]> = [
    ['a valid hello', { type: 'hello', v: 1, group: 'g', url: 'u', title: 't', actions: ['a'] }, null],
    ['hello without group', { type: 'hello', v: 1, url: 'u', title: 't', actions: [] }, 'group: expected string, got undefined'],
    ['hello with a bad action', { type: 'hello', v: 1, group: 'g', url: 'u', title: 't', actions: ['ok', 7] }, 'actions[1]: expected string, got number'],
    ['hello with too many actions', { type: 'hello', v: 1, group: 'g', url: 'u', title: 't', actions: ['a', 'b', 'c', 'd'] }, 'actions: at most 3 actions, got 4'],
    ['hello with a bad client id', { type: 'hello', v: 1, group: 'g', clientId: 'a b', url: 'u', title: 't', actions: [] }, 'clientId:'],
    ['ok result', { type: 'result', id: 'x', ok: true, value: 1 }, null],
    ['error result without name', { type: 'result', id: 'x', ok: false, error: { message: 'm' } }, 'error.name: expected string, got undefined'],
    ['result without id', { type: 'result', ok: true }, 'id: expected string, got undefined'],
    ['result with ok not boolean', { type: 'result', id: 'x', ok: 1 }, 'ok: expected boolean, got number'],
    ['pong', { type: 'pong', t: 1 }, null],
    ['pong without t', { type: 'pong' }, 't: expected number, got undefined'],
    ['update with url', { type: 'update', url: 'x' }, null],
    ['unknown type', { type: 'weird' }, 'type: unknown message type "weird"'],
    ['not an object', 'text', 'message: expected object, got string'],
    ['array as message', [1], 'message: expected object, got array'],
  ];
  for (const [name, input, error] of cases) {
    test(`page message: ${name}`, () => {
      const checked = checkPageMessage(input, limits);
      if (error === null) assert.equal(checked.ok, true, checked.ok ? '' : checked.error);
      else {
        assert.equal(checked.ok, false);
        if (!checked.ok) assert.ok(checked.error.startsWith(error), checked.error);
      }
    });
  }

  test('an ok result without a value means undefined', () => {
    const checked = checkPageMessage({ type: 'result', id: 'x', ok: true }, limits);
    assert.deepEqual(checked.ok && checked.value, { type: 'result', id: 'x', ok: true, value: { $undefined: true } });
  });

  test('long URLs and titles are cut, not refused', () => {
    const checked = checkPageMessage({ type: 'hello', v: 1, group: 'g', url: 'u'.repeat(5000), title: 't'.repeat(5000), actions: [] }, limits);
    assert.ok(checked.ok);
    if (checked.ok && checked.value.type === 'hello') {
      assert.equal(checked.value.url.length, 2048);
      assert.equal(checked.value.title.length, 512);
    }
  });

  const bridgeCases: Array<[string, unknown, string | null]> = [
    ['an invoke', { type: 'invoke', id: 'a', action: 'b', args: [], timeoutMs: 5 }, null],
    ['an invoke with args not an array', { type: 'invoke', id: 'a', action: 'b', args: {}, timeoutMs: 5 }, 'args: expected array, got object'],
    ['an invoke without a timeout', { type: 'invoke', id: 'a', action: 'b', args: [] }, 'timeoutMs: expected number, got undefined'],
    ['a welcome', { type: 'welcome', v: 1, clientId: 'c', group: 'g', heartbeatMs: 5, maxFrameBytes: 9, allowEval: true }, null],
    ['a welcome without a group', { type: 'welcome', v: 1, clientId: 'c', heartbeatMs: 5, maxFrameBytes: 9 }, 'group: expected string, got undefined'],
    ['a welcome without a version', { type: 'welcome', clientId: 'c', group: 'g', heartbeatMs: 5, maxFrameBytes: 9 }, 'v: expected number, got undefined'],
    ['a welcome with allowEval not a boolean', { type: 'welcome', v: 1, clientId: 'c', group: 'g', heartbeatMs: 5, maxFrameBytes: 9, allowEval: 'yes' }, 'allowEval: expected boolean, got string'],
    ['a cancel', { type: 'cancel', id: 'a', reason: 'TIMEOUT' }, null],
    ['a ping', { type: 'ping', t: 1 }, null],
    ['an error with a catalogue code', { type: 'error', code: 'BAD_FRAME', message: 'm' }, null],
    ['an error with a code outside the catalogue', { type: 'error', code: 'NOPE', message: 'm' }, 'code: "NOPE" is not an error code'],
    ['an error without a message', { type: 'error', code: 'BAD_FRAME' }, 'message: expected string, got undefined'],
    ['a page message sent by a bridge', { type: 'hello' }, 'type: unknown message type "hello"'],
    ['an inherited name as the type', { type: 'constructor' }, 'type: unknown message type "constructor"'],
    ['a type that is not a string', { type: 7 }, 'type: unknown message type "number"'],
    ['null', null, 'message: expected object, got null'],
  ];
  for (const [name, input, error] of bridgeCases) {
    test(`bridge message: ${name}`, () => {
      const checked = checkBridgeMessage(input);
      if (error === null) assert.equal(checked.ok, true, checked.ok ? '' : checked.error);
      else assert.deepEqual(checked, { ok: false, error });
    });
  }

  test('checked messages are built field by field: nothing else the sender put in them gets through', () => {
    const invoke = checkBridgeMessage({ type: 'invoke', id: 'a', action: 'b', args: [1], timeoutMs: 5, extra: 'x', __proto__: { polluted: true } });
    assert.deepEqual(invoke, { ok: true, value: { type: 'invoke', id: 'a', action: 'b', args: [1], timeoutMs: 5 } });
    const welcome = checkBridgeMessage({ type: 'welcome', v: 1, clientId: 'c', group: 'g', heartbeatMs: 5, maxFrameBytes: 9, token: 'leak' });
    assert.deepEqual(welcome, { ok: true, value: { type: 'welcome', v: 1, clientId: 'c', group: 'g', heartbeatMs: 5, maxFrameBytes: 9 } });
    const hello = checkPageMessage({ type: 'hello', v: 1, group: 'g', url: 'u', title: 't', actions: [], extra: 1 }, limits);
    assert.deepEqual(hello, { ok: true, value: { type: 'hello', v: 1, group: 'g', url: 'u', title: 't', actions: [] } });
  });

  test('a cancel always gets through; a reason outside the catalogue reads as CANCELLED', () => {
    assert.deepEqual(checkBridgeMessage({ type: 'cancel', id: 'a', reason: 'TIMEOUT' }), { ok: true, value: { type: 'cancel', id: 'a', reason: 'TIMEOUT' } });
    assert.deepEqual(checkBridgeMessage({ type: 'cancel', id: 'a', reason: 'bored' }), { ok: true, value: { type: 'cancel', id: 'a', reason: 'CANCELLED' } });
    assert.deepEqual(checkBridgeMessage({ type: 'cancel', id: 'a' }), { ok: true, value: { type: 'cancel', id: 'a', reason: 'CANCELLED' } });
  });

  test('a page error keeps a catalogue code and drops any other (the failure is then the function\'s own)', () => {
    const known = checkPageMessage({ type: 'result', id: 'x', ok: false, error: { code: 'RESULT_TOO_LARGE', name: 'Error', message: 'm' } }, limits);
    assert.deepEqual(known.ok && known.value, { type: 'result', id: 'x', ok: false, error: { code: 'RESULT_TOO_LARGE', name: 'Error', message: 'm' } });
    const unknown = checkPageMessage({ type: 'result', id: 'x', ok: false, error: { code: 'MY_OWN', name: 'Error', message: 'm' } }, limits);
    assert.deepEqual(unknown.ok && unknown.value, { type: 'result', id: 'x', ok: false, error: { name: 'Error', message: 'm' } });
  });

  test('a guard table must cover every message type (checked by the compiler)', () => {
    const ok = () => ({ ok: false as const, error: 'unused' });
    // @ts-expect-error -- no guard for 'pong': the table does not compile
    const missing: GuardTable<PageMessage, PageMessageLimits> = { hello: ok, update: ok, result: ok };
    // @ts-expect-error -- 'shout' is not a bridge message type
    const extra: GuardTable<BridgeMessage> = { welcome: ok, invoke: ok, cancel: ok, ping: ok, error: ok, shout: ok };
    assert.ok(missing && extra);
  });

  test('frames hold one message or an array', () => {
    assert.deepEqual(frameMessages({ a: 1 }), [{ a: 1 }]);
    assert.deepEqual(frameMessages([{ a: 1 }, { b: 2 }]), [{ a: 1 }, { b: 2 }]);
  });

  test('names', () => {
    for (const good of ['g', 'live-room', 'a.b:c_d', 'A1']) assert.equal(checkGroup(good), undefined);
    for (const bad of ['', ' ', 'a b', '-x', 'x'.repeat(65), '$g']) assert.ok(checkGroup(bad), bad);
    for (const good of ['decode', 'Message.decode', 'api/sign', 'x'.repeat(128)]) assert.equal(checkAction(good), undefined);
    for (const bad of ['$eval', '', 'a b', 'x'.repeat(129), 'a\n']) assert.ok(checkAction(bad), bad);
    assert.equal(checkAction(5), 'action: expected string, got number');
  });
});
