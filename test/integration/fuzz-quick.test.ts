import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzz } from '../fuzz/fuzz.js';

// The short version of `npm run fuzz`, on a fixed seed so npm test sends the same inputs each time
// (`npm run fuzz` draws a new seed per run). PAGECALL_FUZZ_SEED picks another.
test('hostile page frames, pre-hello frames from strangers and malformed HTTP requests get coded errors, nothing crashes, and a real call still works', async (t) => {
  const seed = Number(process.env.PAGECALL_FUZZ_SEED ?? 20_260_101);
  t.diagnostic(`fuzz seed ${seed}`);
  const report = await runFuzz({ seed, frames: 3_000, strangers: 200, httpRequests: 600 });
  assert.ok(report.frames.sent >= 3_000);
  assert.ok(report.frames.welcomes > 0, 'fuzz pages with the key are admitted');
  assert.ok(report.strangers.sent >= 200);
  assert.equal(report.http.sent, 600);
  assert.deepEqual(report.failures, [], `seed ${seed}`);
});
