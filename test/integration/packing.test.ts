/**
 * The bridge packs calls waiting for the same page into one frame. Packing must not change what any
 * call sees: each keeps its own result, error and deadline, whatever order the page answers in.
 * A scripted page here records raw frames, so "one frame" is checked exactly, not inferred.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import type { Bridge } from '../../bridge/index.js';
import { PROTOCOL_VERSION, type Json } from '../../protocol/index.js';
import { TEST_PAGE_KEY, postJson, startTestBridge, until } from '../helpers/bridge.js';
import { leftovers } from '../helpers/internals.js';

/** A page that records every frame and answers only when told to. */
interface RawPage {
  /** Frames received after the welcome, parsed, in order. */
  frames: unknown[];
  /** Resolves once `count` frames have arrived in all. */
  framesSoFar(count: number): Promise<unknown[]>;
  /** Resolves once `count` messages have arrived in all, however they were framed; flattened, in order. */
  messagesSoFar<T>(count: number): Promise<T[]>;
  send(message: unknown): void;
  close(): Promise<void>;
}

async function connectRawPage(bridgeUrl: string, group: string, actions: string[]): Promise<RawPage> {
  const ws = new WebSocket(`${bridgeUrl.replace(/^http/, 'ws')}/v1/ws`);
  ws.on('error', () => {});
  const frames: unknown[] = [];
  let waiters: Array<() => void> = [];
  let welcomed: () => void;
  const welcome = new Promise<void>((resolve) => (welcomed = resolve));
  ws.on('message', (data) => {
    const parsed = JSON.parse(data.toString()) as { type?: string };
    if (!Array.isArray(parsed) && parsed.type === 'welcome') {
      welcomed();
      return;
    }
    frames.push(parsed);
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  });
  await once(ws, 'open');
  ws.send(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, group, url: 'http://fake.test/', title: 'raw', actions, key: TEST_PAGE_KEY }));
  await welcome;
  return {
    frames,
    async framesSoFar(count) {
      while (frames.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames.slice(0, count);
    },
    async messagesSoFar<T>(count: number) {
      while (frames.flat().length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      return frames.flat().slice(0, count) as T[];
    },
    send: (message) => ws.send(JSON.stringify(message)),
    close: async () => {
      const closed = once(ws, 'close');
      ws.close();
      await closed;
    },
  };
}

type Invoke = { type: 'invoke'; id: string; action: string; args: Json[]; timeoutMs: number };
type Cancel = { type: 'cancel'; id: string; reason: string };

// A frame that never comes fails the test instead of hanging the run.
describe('packing calls for one page', { timeout: 60_000 }, () => {
  let bridge: Bridge;
  before(async () => {
    bridge = await startTestBridge({ heartbeatMs: 60_000 });
  });
  after(async () => {
    await bridge.close();
  });

  test('a lone call on an idle page leaves at once as a single message', async () => {
    const page = await connectRawPage(bridge.url, 'lone', ['echo']);
    try {
      const result = bridge.callRaw({ group: 'lone', action: 'echo', args: ['only'] });
      const [frame] = (await page.framesSoFar(1)) as [Invoke];
      assert.ok(!Array.isArray(frame), 'not wrapped in an array');
      assert.equal(frame.type, 'invoke');
      assert.deepEqual(frame.args, ['only']);
      page.send({ type: 'result', id: frame.id, ok: true, value: 'back' });
      assert.equal((await result).value, 'back');
    } finally {
      await page.close();
    }
  });

  test('calls made in one turn: the first leaves at once, the rest share one frame, in call order; answers in any order reach their own callers', async () => {
    const page = await connectRawPage(bridge.url, 'many', ['echo']);
    try {
      const calls = Array.from({ length: 50 }, (_, i) => bridge.callRaw({ group: 'many', action: 'echo', args: [i] }));
      const [first, rest] = (await page.framesSoFar(2)) as [Invoke, Invoke[]];
      assert.ok(!Array.isArray(first), 'the page was idle: the first call did not wait');
      assert.ok(Array.isArray(rest) && rest.length === 49, 'the page was busy: the other 49 share one frame');
      const frame = [first, ...rest];
      assert.deepEqual(frame.map((m) => m.args[0]), Array.from({ length: 50 }, (_, i) => i));
      assert.equal(new Set(frame.map((m) => m.id)).size, 50, 'every call has its own id');
      // Answer in reverse, half in one frame and half one by one.
      const answers = frame.map((m) => ({ type: 'result', id: m.id, ok: true, value: { echoed: m.args[0] } })).reverse();
      page.send(answers.slice(0, 25));
      for (const a of answers.slice(25)) page.send(a);
      const results = await Promise.all(calls);
      results.forEach((r, i) => assert.deepEqual(r.value, { echoed: i }));
    } finally {
      await page.close();
    }
  });

  test('a failing call and a late one among successful ones fail alone', async () => {
    const page = await connectRawPage(bridge.url, 'mixed', ['echo', 'fail', 'slow']);
    try {
      const ok1 = bridge.callRaw({ group: 'mixed', action: 'echo', args: [1] });
      const bad = bridge.callRaw({ group: 'mixed', action: 'fail', args: [] });
      const late = bridge.callRaw({ group: 'mixed', action: 'slow', args: [], timeoutMs: 50 });
      const ok2 = bridge.callRaw({ group: 'mixed', action: 'echo', args: [2] });
      const lateOutcome = late.then(
        () => assert.fail('the late call succeeded'),
        (error: { code: string }) => error.code,
      );
      const frame = await page.messagesSoFar<Invoke>(4);
      assert.deepEqual(frame.map((m) => m.action), ['echo', 'fail', 'slow', 'echo']);
      const [a, b, c, d] = frame as [Invoke, Invoke, Invoke, Invoke];
      assert.ok(c.timeoutMs <= 50 && a.timeoutMs > 1000, 'each call carries its own deadline');
      // The deadline of the slow one passes first: the bridge fails it and tells the page.
      assert.equal(await lateOutcome, 'TIMEOUT');
      const [, , , , cancel] = await page.messagesSoFar<Invoke | Cancel>(5);
      assert.deepEqual(cancel, { type: 'cancel', id: c.id, reason: 'TIMEOUT' });
      // Then the rest come back in one frame, the late result among them; it is dropped quietly.
      page.send([
        { type: 'result', id: d.id, ok: true, value: 'two' },
        { type: 'result', id: c.id, ok: true, value: 'too late' },
        { type: 'result', id: b.id, ok: false, error: { name: 'TypeError', message: 'boom', stack: 'TypeError: boom' } },
        { type: 'result', id: a.id, ok: true, value: 'one' },
      ]);
      assert.equal((await ok1).value, 'one');
      assert.equal((await ok2).value, 'two');
      await assert.rejects(bad, (e: { code: string; data: { name: string; message: string } }) => e.code === 'PAGE_ERROR' && e.data.name === 'TypeError' && e.data.message === 'boom');
      assert.equal(bridge.clients('mixed')[0]!.inFlight, 0);
    } finally {
      await page.close();
    }
  });

  test('a batch over HTTP travels in one frame and comes back in request order', async () => {
    const page = await connectRawPage(bridge.url, 'batch', ['echo', 'fail']);
    try {
      const calls = Array.from({ length: 20 }, (_, i) => (i === 7 ? { action: 'fail', args: [i] } : { action: 'echo', args: [i] }));
      const response = postJson(`${bridge.url}/v1/batch`, { group: 'batch', calls });
      const frame = await page.messagesSoFar<Invoke>(20);
      assert.ok(page.frames.length <= 2, 'a lone first call and one frame for the rest');
      page.send(
        [...frame].reverse().map((m) =>
          m.action === 'fail'
            ? { type: 'result', id: m.id, ok: false, error: { name: 'Error', message: `failed ${String(m.args[0])}` } }
            : { type: 'result', id: m.id, ok: true, value: m.args[0] },
        ),
      );
      const { status, body } = await response;
      assert.equal(status, 200);
      const results = body.results as Array<{ ok: boolean; result?: number; error?: { code: string; data: { message: string } } }>;
      results.forEach((r, i) => {
        if (i === 7) assert.deepEqual([r.ok, r.error!.code, r.error!.data.message], [false, 'PAGE_ERROR', 'failed 7']);
        else assert.deepEqual([r.ok, r.result], [true, i]);
      });
    } finally {
      await page.close();
    }
  });
  test('deadlines of different lengths: each call times out at its own, a short one is not held up by a longer one started first', async () => {
    const page = await connectRawPage(bridge.url, 'deadlines', ['slow']);
    try {
      const outcome = (p: Promise<unknown>): Promise<{ code: string; timeoutMs: number }> =>
        p.then(
          () => assert.fail('a call that never got a result succeeded'),
          (e: { code: string; data: { timeoutMs: number } }) => ({ code: e.code, timeoutMs: e.data.timeoutMs }),
        );
      const long = bridge.callRaw({ group: 'deadlines', action: 'slow', args: ['long'], timeoutMs: 600_000 });
      const a = outcome(bridge.callRaw({ group: 'deadlines', action: 'slow', args: ['a'], timeoutMs: 300 }));
      const b = outcome(bridge.callRaw({ group: 'deadlines', action: 'slow', args: ['b'], timeoutMs: 150 }));
      const c = outcome(bridge.callRaw({ group: 'deadlines', action: 'slow', args: ['c'], timeoutMs: 300 }));
      assert.deepEqual(await Promise.all([a, b, c]), [
        { code: 'TIMEOUT', timeoutMs: 300 },
        { code: 'TIMEOUT', timeoutMs: 150 },
        { code: 'TIMEOUT', timeoutMs: 300 },
      ]);
      const invokes = await page.messagesSoFar<Invoke>(4);
      const name = new Map(invokes.map((m) => [m.id, m.args[0]]));
      // The page hears the cancels in deadline order: b, then a and c (perhaps in one frame).
      const cancels = (await page.messagesSoFar<Invoke | Cancel>(7)).slice(4) as Cancel[];
      assert.deepEqual(cancels.map((m) => [name.get(m.id), m.reason]), [['b', 'TIMEOUT'], ['a', 'TIMEOUT'], ['c', 'TIMEOUT']]);
      assert.equal(leftovers(bridge).deadlines, 1, 'only the long call still holds a deadline');
      const longInvoke = invokes.find((m) => m.args[0] === 'long')!;
      page.send({ type: 'result', id: longInvoke.id, ok: true, value: 'finally' });
      assert.equal((await long).value, 'finally');
      assert.equal(leftovers(bridge).deadlines, 0);
    } finally {
      await page.close();
    }
  });

  test('a batch with a timeout and a failure among its calls answers each in request order, and nothing stays tracked', async () => {
    const page = await connectRawPage(bridge.url, 'batch-mixed', ['echo', 'fail', 'slow']);
    try {
      const calls = [
        { action: 'echo', args: [0] },
        { action: 'slow', args: [1], timeoutMs: 100 },
        { action: 'fail', args: [2] },
        { action: 'nope', args: [3], group: 'no-such-group' },
        { action: 'echo', args: [4] },
      ];
      const response = postJson(`${bridge.url}/v1/batch`, { group: 'batch-mixed', calls });
      const frame = await page.messagesSoFar<Invoke>(4);
      assert.deepEqual(frame.map((m) => m.action), ['echo', 'slow', 'fail', 'echo']);
      page.send(
        frame
          .filter((m) => m.action !== 'slow')
          .map((m) => (m.action === 'fail' ? { type: 'result', id: m.id, ok: false, error: { name: 'Error', message: 'no' } } : { type: 'result', id: m.id, ok: true, value: m.args[0] })),
      );
      const { status, body } = await response;
      assert.equal(status, 200);
      const results = body.results as Array<{ ok: boolean; result?: number; error?: { code: string } }>;
      assert.deepEqual(
        results.map((r) => (r.ok ? r.result : r.error!.code)),
        [0, 'TIMEOUT', 'PAGE_ERROR', 'NO_CLIENT', 4],
      );
      const left = leftovers(bridge);
      assert.deepEqual([left.inFlight, left.waiting, left.deadlines], [0, 0, 0]);
    } finally {
      await page.close();
    }
  });

  test('a batch caller that hangs up cancels its calls still running, and the page is told', async () => {
    const page = await connectRawPage(bridge.url, 'batch-gone', ['slow']);
    try {
      const body = JSON.stringify({ group: 'batch-gone', calls: [{ action: 'slow', args: [0] }, { action: 'slow', args: [1] }, { action: 'slow', args: [2] }] });
      const url = new URL(`${bridge.url}/v1/batch`);
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
      req.on('error', () => {});
      req.end(body);
      const frame = await page.messagesSoFar<Invoke>(3);
      req.destroy();
      const cancels = (await page.messagesSoFar<Invoke | Cancel>(6)).slice(3) as Cancel[];
      assert.deepEqual(cancels.map((m) => [m.id, m.reason]), frame.map((m) => [m.id, 'CANCELLED']));
      await until(() => leftovers(bridge).inFlight === 0, 'the calls to be released');
      assert.equal(leftovers(bridge).deadlines, 0);
      // A result arriving after the cancel is dropped; the page keeps serving.
      page.send({ type: 'result', id: frame[0]!.id, ok: true, value: 'too late' });
      assert.equal(bridge.clients('batch-gone')[0]!.inFlight, 0);
    } finally {
      await page.close();
    }
  });
});
