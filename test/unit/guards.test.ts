import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAction, checkBridgeMessage, checkGroup, checkPageMessage, frameMessages } from '../../protocol/index.js';

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

  test('bridge messages', () => {
    assert.ok(checkBridgeMessage({ type: 'invoke', id: 'a', action: 'b', args: [], timeoutMs: 5 }).ok);
    assert.equal(checkBridgeMessage({ type: 'invoke', id: 'a', action: 'b', args: {}, timeoutMs: 5 }).ok, false);
    assert.ok(checkBridgeMessage({ type: 'ping', t: 1 }).ok);
    assert.equal(checkBridgeMessage(null).ok, false);
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
