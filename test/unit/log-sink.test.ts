/** LogSink: log output that can neither crash nor stall the bridge, whatever its reader does. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { LogSink, guardOutput, isWritable, writeSafely } from '../../bridge/log-sink.js';
import { createLogger } from '../../bridge/logger.js';

/** A stream whose writes complete only when the test says so (a reader that stopped reading). */
function stalledStream(): { stream: Writable; written: string[]; release(): void } {
  const written: string[] = [];
  const held: Array<() => void> = [];
  let flowing = false;
  const stream = new Writable({
    write(chunk, _encoding, done) {
      if (chunk.length > 0) written.push(String(chunk));
      if (flowing) done();
      else held.push(done);
    },
  });
  return {
    stream,
    written,
    release: () => {
      flowing = true;
      for (const done of held.splice(0)) done();
    },
  };
}

describe('LogSink', () => {
  test('writes lines through, formatted when a formatter is given, unformatted when it throws', () => {
    const lines: string[] = [];
    const out = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const sink = new LogSink(out, (line) => {
      if (line.startsWith('bad')) throw new Error('not JSON');
      return `pretty ${line}`;
    });
    sink.write('a\n');
    sink.write('bad\n');
    assert.deepEqual(lines, ['pretty a\n', 'bad\n']);
  });

  test('drops lines while the reader lags by more than the bound, then reports how many once it caught up', async () => {
    const { stream, written, release } = stalledStream();
    const sink = new LogSink(stream, undefined, 100);
    const reports: number[] = [];
    sink.onCaughtUp = (dropped) => reports.push(dropped);
    const line = `${'x'.repeat(59)}\n`;
    for (let i = 0; i < 5; i++) sink.write(line);
    // 60 bytes were unwritten when the 2nd line came (taken), 120 when the 3rd came (over 100: dropped, as the rest).
    assert.equal(written.length, 1, 'the stream is writing the first line; the second waits in its buffer');
    assert.equal(stream.writableLength, 120);
    assert.equal(sink.droppedLines, 3);
    const caughtUp = new Promise<void>((resolve) => {
      const report = sink.onCaughtUp!;
      sink.onCaughtUp = (dropped) => (report(dropped), resolve());
    });
    release();
    await caughtUp;
    assert.deepEqual(reports, [3]);
    assert.equal(sink.droppedLines, 0);
    sink.write(line);
    assert.equal(written.length, 3);
  });

  test('a stream that failed (EPIPE) is dropped for good: no throw, no crash, no report', async () => {
    const stream = new Writable({ write: (_c, _e, done) => done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })) });
    const sink = new LogSink(stream);
    let reported = false;
    sink.onCaughtUp = () => (reported = true);
    const closed = new Promise((resolve) => stream.on('close', resolve));
    sink.write('first\n');
    await closed;
    assert.equal(isWritable(stream), false);
    sink.write('second\n');
    assert.equal(reported, false);
  });

  test('a destination whose write throws loses the line, not the process', () => {
    const stream = new Writable();
    stream.write = () => {
      throw new Error('boom');
    };
    assert.equal(writeSafely(stream, 'line\n'), false);
    assert.equal(isWritable(stream), false);
  });

  test('guardOutput adds one error listener however often it is called', () => {
    const stream = new Writable({ write: (_c, _e, done) => done() });
    guardOutput(stream);
    guardOutput(stream);
    new LogSink(stream);
    assert.equal(stream.listenerCount('error'), 1);
  });
});

describe('createLogger', () => {
  const capture = (): { stream: Writable; text: () => string } => {
    const chunks: string[] = [];
    return { stream: new Writable({ write: (chunk, _e, done) => (chunks.push(String(chunk)), done()) }), text: () => chunks.join('') };
  };

  test('json writes one JSON object a line', () => {
    const { stream, text } = capture();
    createLogger({ logLevel: 'info', logFormat: 'json' }, stream).info({ clientId: 'c1' }, 'page joined');
    const entry = JSON.parse(text());
    assert.equal(entry.msg, 'page joined');
    assert.equal(entry.clientId, 'c1');
  });

  test('pretty writes one readable line, without colours when the output is not a terminal', () => {
    const { stream, text } = capture();
    createLogger({ logLevel: 'info', logFormat: 'pretty' }, stream).info({ clientId: 'c1' }, 'page joined');
    assert.match(text(), /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: page joined \{"clientId":"c1"\}\n$/);
  });

  test('auto is JSON when the output is not a terminal', () => {
    const { stream, text } = capture();
    createLogger({ logLevel: 'info', logFormat: 'auto' }, stream).info('hello');
    assert.equal(JSON.parse(text()).msg, 'hello');
  });
});
