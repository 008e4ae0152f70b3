import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getJson, postJson, startTestBridge, until } from '../helpers/bridge.js';
import { leftovers } from '../helpers/internals.js';
import { startReconnectingPage, type ReconnectingPage } from '../helpers/reconnecting-page.js';

describe('a bridge restart', () => {
  test('callers get NO_CLIENT at once while no page is back, and pages that reconnect are served again with their ids', { timeout: 30_000 }, async () => {
    const first = await startTestBridge();
    const port = first.port;
    const url = first.url;
    let release: (() => void) | undefined;
    const pages: ReconnectingPage[] = [];
    try {
      for (const id of ['page-a', 'page-b', 'page-c']) {
        pages.push(
          await startReconnectingPage({
            bridgeUrl: url,
            group: 'restart',
            clientId: id,
            handlers: { who: () => id, hang: () => new Promise((resolve) => (release = () => resolve('released'))) },
          }),
        );
      }
      assert.equal((await postJson(`${url}/v1/call`, { group: 'restart', action: 'who' })).status, 200);

      // A call still running when the bridge goes down fails with SHUTTING_DOWN, it does not hang.
      const running = postJson(`${url}/v1/call`, { group: 'restart', action: 'hang', timeoutMs: 60_000 });
      await until(() => release, 'the hanging call to reach a page');
      for (const page of pages) page.hold();
      await first.close(0);
      const stopped = await running;
      assert.equal(stopped.status, 503);
      assert.equal(stopped.body.error.code, 'SHUTTING_DOWN');
      await until(() => pages.every((p) => p.closeCodes.length > 0), 'pages to see the close');
      assert.deepEqual(pages.map((p) => p.closeCodes[0]), [1001, 1001, 1001], 'pages were told the bridge is going away');
      await assert.rejects(fetch(`${url}/health`), 'nothing listens while the bridge is down');

      const second = await startTestBridge({ port });
      try {
        // No page is back yet (their reconnects are held): the answer is immediate, not a 60 s wait.
        const early = await postJson(`${url}/v1/call`, { group: 'restart', action: 'who', timeoutMs: 60_000 });
        assert.equal(early.status, 503);
        assert.equal(early.body.error.code, 'NO_CLIENT');

        const back = pages.map((p) => p.nextWelcome());
        for (const page of pages) page.release();
        const welcomes = await Promise.all(back);
        assert.deepEqual(welcomes.map((w) => w.clientId), ['page-a', 'page-b', 'page-c']);
        assert.deepEqual((await getJson(`${url}/v1/clients?group=restart`)).body.clients.map((c: any) => c.id).sort(), ['page-a', 'page-b', 'page-c']);

        const served = new Set<string>();
        for (let i = 0; i < 9; i++) {
          const r = await postJson(`${url}/v1/call`, { group: 'restart', action: 'who' });
          assert.equal(r.status, 200);
          assert.equal(r.body.result, r.body.clientId);
          served.add(r.body.result);
        }
        assert.equal(served.size, 3, 'calls spread over every reconnected page');
        await Promise.all(pages.splice(0).map((p) => p.close()));
        assert.equal(leftovers(second).inFlight, 0);
      } finally {
        await second.close();
      }
    } finally {
      await Promise.all(pages.map((p) => p.close()));
      await first.close();
    }
  });
});
