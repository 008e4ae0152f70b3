/** The Node API's typed calls: bad values on either side become coded errors, checked as HTTP checks them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HANG } from '../helpers/fake-page.js';
import { cleanupFor } from '../helpers/cleanup.js';
import { postJson } from '../helpers/bridge.js';
import { internals, leftovers } from '../helpers/internals.js';

test('typed calls round-trip values and turn unencodable or malformed values into coded errors', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const page = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { echo: (args) => args, malformed: () => ({ $bytes: 5 }) } });
  const bytes = new Uint8Array([1, 2, 3]);
  assert.deepEqual(await bridge.call('g', 'echo', [bytes, 7n, undefined]), [bytes, 7n, undefined]);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await assert.rejects(bridge.call('g', 'echo', [cyclic]), (e: any) => e.code === 'BAD_REQUEST' && /^args\[0\]\.self: .*cycle/.test(e.message));
  // A value the codec cannot carry is BAD_REQUEST naming where it sits; a function-valued property is dropped, as JSON does.
  await assert.rejects(bridge.call('g', 'echo', [1, () => 2]), (e: any) => e.code === 'BAD_REQUEST' && e.message === 'args[1]: a function cannot be sent');
  await assert.rejects(bridge.call('g', 'echo', [{ jobs: [Promise.resolve(1)] }]), (e: any) => e.code === 'BAD_REQUEST' && /^args\[0\]\.jobs\[0\]: a Promise/.test(e.message));
  assert.deepEqual(await bridge.call('g', 'echo', [{ n: 1, done() {} }]), [{ n: 1 }]);
  await assert.rejects(bridge.call('g', 'malformed'), (e: any) => e.code === 'RESULT_NOT_SERIALIZABLE' && e.data.clientId === page.clientId);
  let deep: unknown = 0;
  for (let i = 0; i < 5_000; i++) deep = [deep];
  await assert.rejects(bridge.callRaw({ group: 'g', action: 'echo', args: [deep as never] }), (e: any) => e.code === 'BAD_REQUEST' && /args\[0\]: nested deeper/.test(e.message));
  await assert.rejects(bridge.call('bad group', 'echo'), (e: any) => e.code === 'BAD_REQUEST');
  await assert.rejects(bridge.call('g', 'echo', 'not an array' as never), { code: 'BAD_REQUEST', message: 'args: expected array, got string' });
  assert.deepEqual(await bridge.call('g', 'echo', ['still fine']), ['still fine']);
});

test('Node API options are refused with the same message HTTP gives for the same value', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge({ maxTimeoutMs: 60_000 });
  await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { echo: (args) => args } });
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['NaN', { timeoutMs: Number.NaN }, 'timeoutMs: expected number, got NaN'],
    ['Infinity', { timeoutMs: Infinity }, 'timeoutMs: expected number, got Infinity'],
    ['a fraction', { timeoutMs: 2.5 }, 'timeoutMs: expected integer, got 2.5'],
    ['more than --max-timeout-ms', { timeoutMs: 60_001 }, 'timeoutMs: at most 60000, got 60001'],
    ['a bad client id', { clientId: 'no spaces' }, 'clientId: "no spaces" is not a valid client id (letters, digits, _ -, at most 64)'],
    ['retry not a boolean', { retry: 'yes' }, 'retry: expected boolean, got string'],
  ];
  for (const [name, options, message] of cases) {
    await assert.rejects(bridge.call('g', 'echo', [], options), { code: 'BAD_REQUEST', message }, `call with ${name}`);
    await assert.rejects(bridge.callRaw({ group: 'g', action: 'echo', args: [], ...options }), { code: 'BAD_REQUEST', message }, `callRaw with ${name}`);
    // HTTP cannot carry NaN or Infinity in JSON; every other value gets the same answer there.
    if (Number.isFinite(options.timeoutMs ?? 0)) {
      const http = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'echo', ...options });
      assert.equal(http.body.error.message, message, `HTTP with ${name}`);
    }
  }
  assert.deepEqual(leftovers(bridge).deadlines, 0, 'refused calls hold no deadline');
});

// Before the fix such a call had no deadline at all and hung: the time limit makes that a failure.
test('a call refused for a NaN deadline leaves the deadline timer serving every other call', { timeout: 30_000 }, async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { hang: () => HANG } });
  await assert.rejects(bridge.call('g', 'hang', [], { timeoutMs: Number.NaN }), { code: 'BAD_REQUEST' });
  await assert.rejects(bridge.callRaw({ group: 'g', action: 'hang', args: [], timeoutMs: Infinity }), { code: 'BAD_REQUEST' });
  // The pending table refuses such deadlines itself, whoever calls it.
  for (const timeoutMs of [Number.NaN, Infinity, -1, 0]) {
    await assert.rejects(internals(bridge).pending.call({ group: 'g', action: 'hang', args: [], timeoutMs }), { code: 'BAD_REQUEST', message: `timeoutMs: expected a finite number above 0, got ${timeoutMs}` });
  }
  await assert.rejects(bridge.call('g', 'hang', [], { timeoutMs: 50 }), (e: any) => e.code === 'TIMEOUT' && e.data.timeoutMs === 50);
  assert.equal(leftovers(bridge).deadlines, 0);
});

test('callRaw refuses a malformed tagged value before any page sees it', async (t) => {
  const use = cleanupFor(t);
  const bridge = await use.bridge();
  const page = await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { echo: (args) => args } });
  const before = page.received.filter((m) => m.type === 'invoke').length;
  await assert.rejects(bridge.callRaw({ group: 'g', action: 'echo', args: [{ list: [{ $bigint: '12n' }] }] }), {
    code: 'BAD_REQUEST',
    message: 'args[0].list[0]: $bigint: expected a string of digits, got "12n"',
  });
  const ok = await bridge.callRaw({ group: 'g', action: 'echo', args: [{ $bigint: '12' }] });
  assert.deepEqual(ok.value, [{ $bigint: '12' }]);
  assert.equal(page.received.filter((m) => m.type === 'invoke').length - before, 1, 'only the well-formed call reached the page');
});
