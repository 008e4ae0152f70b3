/**
 * `pagecall serve` whatever happens to its output: a reader that exits (`pagecall serve | head -1`, a
 * pager that quits, a log shipper that restarts) or one that stops reading must neither crash nor
 * stall the bridge, and SIGTERM still stops it. Real child processes and real pipes.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_PAGE_KEY, getJson, postJson, until } from '../helpers/bridge.js';
import { connectFakePage } from '../helpers/fake-page.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** The bridges started here admit the fake pages' key. */
const env = { ...process.env, PAGECALL_PAGE_KEY: TEST_PAGE_KEY };

/** A stand-in for `head -1`: copies the first line of its stdin to its stdout, then exits. */
const HEAD_1 = `let b = '';
process.stdin.on('data', (d) => {
  b += d;
  const i = b.indexOf('\\n');
  if (i >= 0) process.stdout.write(b.slice(0, i + 1), () => process.exit(0));
});`;

/** A reader that closes its end of the pipe at once and says so; it stays alive, so the write end stays usable for spawn. */
const GONE = "require('node:fs').closeSync(0); process.stdout.write('closed\\n'); setInterval(() => {}, 1 << 30);";

/** The TCP port process `pid` listens on, from /proc (for a bridge whose output says nothing). */
function listeningPort(pid: number): number | undefined {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed while listing
    }
  }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // cols[1] is local address:port in hex, cols[3] the state (0A = LISTEN), cols[9] the inode.
      if (cols[3] === '0A' && inodes.has(cols[9]!)) return parseInt(cols[1]!.split(':')[1]!, 16);
    }
  }
  return undefined;
}

/** A failed test would hang rather than fail: this bounds it. Nothing below waits on a clock. */
const HANG_GUARD = { timeout: 120_000 };

const children: ChildProcess[] = [];
function track<T extends ChildProcess>(child: T): T {
  children.push(child);
  return child;
}
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
});

/** Resolves with the first match of `pattern` in what `stream` emits from now on. */
function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      text += chunk;
      const match = pattern.exec(text);
      if (match) {
        stream.off('data', onData);
        resolve(match);
      }
    };
    stream.on('data', onData);
  });
}

/** Connects a page and leaves again: the bridge logs both at info level. */
async function joinAndLeave(url: string): Promise<void> {
  const page = await connectFakePage({ bridgeUrl: url, group: 'g' });
  await page.close();
}

describe('pagecall serve and its output', () => {
  test('starts, answers and stops on SIGTERM when the reader of its stdout and stderr is gone before it writes (serve 2>&1 | head -0)', HANG_GUARD, async () => {
    const reader = track(spawn(process.execPath, ['-e', GONE], { stdio: ['pipe', 'pipe', 'inherit'] }));
    await waitFor(reader.stdout!, /closed/);
    const bridge = track(spawn(process.execPath, [CLI, 'serve', '--port', '0'], { env, stdio: ['ignore', reader.stdin!, reader.stdin!] }));
    reader.stdin!.destroy();
    // Its log line and banner went nowhere (EPIPE): find its port the way `ss -ltnp` does.
    const port = await until(() => (bridge.exitCode === null ? listeningPort(bridge.pid!) : -1), 'the bridge listening');
    assert.notEqual(port, -1, `the bridge exited with ${bridge.exitCode}`);
    const url = `http://127.0.0.1:${port}`;
    await joinAndLeave(url);
    const health = await getJson(`${url}/health`);
    assert.equal(health.body.ok, true);
    const exited = once(bridge, 'exit');
    bridge.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null]);
    reader.kill('SIGKILL');
  });

  test('keeps running and answering when the reader of its stdout and stderr exits, and stops on SIGTERM', HANG_GUARD, async () => {
    const head = track(spawn(process.execPath, ['-e', HEAD_1], { stdio: ['pipe', 'pipe', 'inherit'] }));
    // `pagecall serve 2>&1 | head -1`: the bridge writes into head's stdin, nobody else holds that pipe.
    const bridge = track(spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-format', 'json'], { env, stdio: ['ignore', head.stdin!, head.stdin!] }));
    head.stdin!.destroy();
    const firstLine = waitFor(head.stdout!, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const [headCode] = await once(head, 'exit');
    assert.equal(headCode, 0);
    const url = (await firstLine)[1]!;

    // Every join and leave writes a log line into the closed pipe (EPIPE).
    for (let i = 0; i < 3; i++) {
      await joinAndLeave(url);
      const health = await getJson(`${url}/health`);
      assert.equal(health.body.ok, true);
    }
    assert.equal(bridge.exitCode, null, 'the bridge is still running');

    const exited = once(bridge, 'exit');
    bridge.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null]);
  });

  /** A bridge logging every call's arguments and result to a stdout pipe that the test stops reading. */
  async function bridgeNobodyReads(): Promise<{ bridge: ChildProcess; url: string; callBigValues(): Promise<void>; close(): Promise<void> }> {
    const bridge = track(
      spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-format', 'json', '--log-level', 'debug', '--debug-capture'], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    bridge.stderr!.resume();
    const url = (await waitFor(bridge.stdout!, /ready on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    bridge.stdout!.pause();
    const page = await connectFakePage({ bridgeUrl: url, group: 'g', handlers: { echo: ([x]) => x ?? null } });
    return {
      bridge,
      url,
      // 12 calls of 256 KiB each way: 6 MiB of log lines into a pipe that holds 64 KiB.
      async callBigValues() {
        const big = 'x'.repeat(256 * 1024);
        for (let i = 0; i < 12; i++) {
          const res = await postJson(`${url}/v1/call`, { group: 'g', action: 'echo', args: [big] });
          assert.equal(res.status, 200);
          assert.equal(res.body.result.length, big.length);
        }
      },
      close: () => page.close(),
    };
  }

  test('keeps answering while nothing reads its stdout, and stops on SIGTERM without it being read', HANG_GUARD, async () => {
    const { bridge, url, callBigValues, close } = await bridgeNobodyReads();
    await callBigValues();
    const health = await getJson(`${url}/health`);
    assert.equal(health.body.ok, true);
    await close();
    const exited = once(bridge, 'exit');
    bridge.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.deepEqual([code, signal], [0, null]);
  });

  test('counts the log lines it drops while nobody reads, and says how many once its output is read again', HANG_GUARD, async () => {
    const { bridge, callBigValues, close } = await bridgeNobodyReads();
    await callBigValues();
    const report = waitFor(bridge.stdout!, /"dropped":(\d+),"msg":"\d+ log lines dropped while the log output was not being read"/);
    bridge.stdout!.resume();
    assert.ok(Number((await report)[1]) > 0);
    await close();
    const exited = once(bridge, 'exit');
    bridge.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0);
  });

  test('a usage error still exits 2 when the reader of its stderr has gone', HANG_GUARD, async () => {
    const reader = track(spawn(process.execPath, ['-e', GONE], { stdio: ['pipe', 'pipe', 'inherit'] }));
    await waitFor(reader.stdout!, /closed/);
    const cli = track(spawn(process.execPath, [CLI, 'serve', '--port', 'soon'], { env, stdio: ['ignore', 'ignore', reader.stdin!] }));
    reader.stdin!.destroy();
    const [code] = await once(cli, 'exit');
    assert.equal(code, 2);
    reader.kill('SIGKILL');
  });
});
