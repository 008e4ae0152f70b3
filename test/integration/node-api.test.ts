/** The Node API's typed calls: bad values on either side become coded errors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectFakePage } from '../helpers/fake-page.js';
import { startTestBridge } from '../helpers/bridge.js';

test('typed calls round-trip values and turn unencodable or malformed values into coded errors', async () => {
  const bridge = await startTestBridge();
  const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { echo: (args) => args, malformed: () => ({ $bytes: 5 }) } });
  try {
    const bytes = new Uint8Array([1, 2, 3]);
    assert.deepEqual(await bridge.call('g', 'echo', [bytes, 7n, undefined]), [bytes, 7n, undefined]);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(bridge.call('g', 'echo', [cyclic]), (e: any) => e.code === 'BAD_REQUEST' && /cycle/.test(e.message));
    // A value the codec cannot carry is BAD_REQUEST naming where it sits; a function-valued property is dropped, as JSON does.
    await assert.rejects(bridge.call('g', 'echo', [1, () => 2]), (e: any) => e.code === 'BAD_REQUEST' && e.message === 'args[1]: a function cannot be sent');
    await assert.rejects(bridge.call('g', 'echo', [{ jobs: [Promise.resolve(1)] }]), (e: any) => e.code === 'BAD_REQUEST' && /^args\[0\]\.jobs\[0\]: a Promise/.test(e.message));
    assert.deepEqual(await bridge.call('g', 'echo', [{ n: 1, done() {} }]), [{ n: 1 }]);
    await assert.rejects(bridge.call('g', 'malformed'), (e: any) => e.code === 'RESULT_NOT_SERIALIZABLE' && e.data.clientId === page.clientId);
    let deep: unknown = 0;
    for (let i = 0; i < 5_000; i++) deep = [deep];
    await assert.rejects(bridge.callRaw({ group: 'g', action: 'echo', args: [deep as never] }), (e: any) => e.code === 'BAD_REQUEST' && /args\[0\]: nested deeper/.test(e.message));
    await assert.rejects(bridge.call('bad group', 'echo'), (e: any) => e.code === 'BAD_REQUEST');
    assert.deepEqual(await bridge.call('g', 'echo', ['still fine']), ['still fine']);
  } finally {
    await page.close();
    await bridge.close();
  }
});
