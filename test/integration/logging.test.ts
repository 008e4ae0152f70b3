/** Arguments and results stay out of the logs unless debug capture is on. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { startBridge } from '../../bridge/index.js';
import { connectFakePage } from '../helpers/fake-page.js';
import { TEST_PAGE_KEY, postJson, until } from '../helpers/bridge.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

for (const debugCapture of [false, true]) {
  test(`at trace level with debugCapture ${debugCapture}, secrets in args and results are ${debugCapture ? '' : 'not '}logged, and request ids are`, async () => {
    const { lines, stream } = capture();
    const bridge = await startBridge({ port: 0, debugCapture, logger: pino({ level: 'trace' }, stream), shutdownGraceMs: 0, pageKey: TEST_PAGE_KEY });
    const page = await connectFakePage({ bridgeUrl: bridge.url, group: 'g', handlers: { echo: ([x]) => `${x}-RESULT-SECRET` } });
    try {
      const r = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'echo', args: ['ARG-SECRET'] }, { 'x-request-id': 'req-12345' });
      assert.equal(r.body.result, 'ARG-SECRET-RESULT-SECRET');
      assert.equal(r.headers.get('x-request-id'), 'req-12345');
      await until(() => lines.some((l) => l.includes('req-12345')), 'the call logged with its request id');
      const text = lines.join('\n');
      assert.equal(text.includes('ARG-SECRET'), debugCapture);
      assert.equal(text.includes('RESULT-SECRET'), debugCapture);
    } finally {
      await page.close();
      await bridge.close();
    }
  });
}
