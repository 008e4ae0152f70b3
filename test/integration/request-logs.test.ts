/** Structured logs: every call's log line carries the request id that the response header returns. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { Bridge } from '../../bridge/index.js';
import { createLogger } from '../../bridge/logger.js';
import { getJson, postJson, until } from '../helpers/bridge.js';
import { fileCleanup } from '../helpers/cleanup.js';

const use = fileCleanup();

/** A bridge logging JSON lines at debug level into an array. */
async function loggedBridge(): Promise<{ bridge: Bridge; lines: Array<Record<string, unknown>> }> {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ logLevel: 'debug', logFormat: 'json' }, sink);
  const bridge = await use.bridge({ logger });
  await use.page({ bridgeUrl: bridge.url, group: 'g', handlers: { add: (a) => (a[0] as number) + (a[1] as number), boom: () => { throw new Error('nope'); } } });
  return { bridge, lines };
}

const settled = (lines: Array<Record<string, unknown>>, requestId: string) => lines.filter((l) => l.msg === 'call settled' && l.requestId === requestId);

test('a call logs its request id, group, action, page, duration and outcome, and returns the id as x-request-id', async () => {
  const { bridge, lines } = await loggedBridge();
  const given = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'add', args: [1, 2] }, { 'x-request-id': 'trace-abc.1' });
  assert.equal(given.headers.get('x-request-id'), 'trace-abc.1');
  await until(() => settled(lines, 'trace-abc.1').length === 1, 'log line');
  const [line] = settled(lines, 'trace-abc.1');
  assert.equal(line!.group, 'g');
  assert.equal(line!.action, 'add');
  assert.equal(line!.clientId, given.body.clientId);
  assert.equal(line!.outcome, 'ok');
  assert.equal(typeof line!.durationMs, 'number');
  assert.equal(line!.level, 20);
  assert.equal('args' in line!, false, 'arguments are not logged without --debug-capture');
  assert.equal('result' in line!, false);

  const generated = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'boom' }, { 'x-request-id': 'not a valid id!' });
  const id = generated.headers.get('x-request-id')!;
  assert.match(id, /^[A-Za-z0-9_-]{8}-[0-9a-z]+$/, 'an invalid id is replaced by a fresh one');
  await until(() => settled(lines, id).length === 1, 'failure log line');
  const [failed] = settled(lines, id);
  assert.equal(failed!.outcome, 'PAGE_ERROR');
  const another = await postJson(`${bridge.url}/v1/call`, { group: 'g', action: 'add', args: [1, 1] });
  const anotherId = another.headers.get('x-request-id')!;
  assert.match(anotherId, /^[A-Za-z0-9_-]{8}-[0-9a-z]+$/);
  assert.notEqual(anotherId, id, 'every request gets its own id');
});

test('GET /v1/call and every call of a batch log the request id too', async () => {
  const { bridge, lines } = await loggedBridge();
  const get = await getJson(`${bridge.url}/v1/call?group=g&action=add&args=[2,2]`, { headers: { 'x-request-id': 'get-1' } });
  assert.equal(get.body.result, 4);
  await until(() => settled(lines, 'get-1').length === 1, 'GET log line');
  const batch = await postJson(`${bridge.url}/v1/batch`, { group: 'g', calls: [{ action: 'add', args: [1, 1] }, { action: 'boom' }] }, { 'x-request-id': 'batch-1' });
  assert.equal(batch.headers.get('x-request-id'), 'batch-1');
  await until(() => settled(lines, 'batch-1').length === 2, 'batch log lines');
  const batchLines = settled(lines, 'batch-1');
  assert.deepEqual(batchLines.map((l) => l.outcome).sort(), ['PAGE_ERROR', 'ok']);
});
