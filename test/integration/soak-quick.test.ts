import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak } from '../soak/soak.js';

// The short version of `npm run soak`: pages drop their connections often (every ~150 invokes on
// average) so retries, replacements and reconnects all happen within 5,000 calls.
test('5,000 calls across pages that keep reconnecting all settle, each with its own result or a coded error', { timeout: 120_000 }, async (t) => {
  const report = await runSoak({ calls: 5_000, callers: 32, pages: 4, dropEvery: 150, seed: Number(process.env.PAGECALL_SOAK_SEED ?? 7) });
  t.diagnostic(`${report.callsPerSecond} calls/s, ${report.drops} drops, errors ${JSON.stringify(report.errors)}, heap ${report.memory.warm?.heapUsedMiB} -> ${report.memory.end?.heapUsedMiB} MiB`);
  assert.deepEqual(report.failures, []);
  assert.equal(report.settled, 5_000);
  assert.ok(report.ok > 0);
  assert.ok(report.drops > 0, 'pages did drop their connections');
  assert.deepEqual({ inFlight: report.leftovers?.inFlight, waiting: report.leftovers?.waiting, queues: report.leftovers?.queues }, { inFlight: 0, waiting: 0, queues: 0 });
});
