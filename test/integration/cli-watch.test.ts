/** `pagecall watch` against a running bridge, as users run it (dist/cli/main.js). */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestBridge } from '../helpers/bridge.js';
import { cleanupFor } from '../helpers/cleanup.js';
import type { FakePage } from '../helpers/fake-page.js';
import { run as runProcess } from '../helpers/process.js';
import { withTimeout } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TOKEN = 'cli-watch-token-0123456789';

const run = (args: string[], env: Record<string, string> = {}) => runProcess(process.execPath, [CLI, ...args], env, ['PAGECALL_TOKEN', 'PAGECALL_URL']);

function publish(page: FakePage, topic: string, items: unknown[], extra: Record<string, unknown> = {}): void {
  page.sendRaw(JSON.stringify({ type: 'events', topic, items, ...extra }));
}

/** A running `pagecall watch`: its output so far, and waits on it. */
interface Watching {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, what: string): Promise<void>;
  stop(): Promise<void>;
}

function watch(args: string[]): Watching {
  const child = spawn(process.execPath, [CLI, 'watch', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PAGECALL_TOKEN: '', PAGECALL_URL: '' } });
  const out = { stdout: '', stderr: '' };
  const waiters: Array<() => void> = [];
  for (const name of ['stdout', 'stderr'] as const) {
    child[name].setEncoding('utf8');
    child[name].on('data', (d: string) => {
      out[name] += d;
      for (const w of [...waiters]) w();
    });
  }
  return {
    child,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    waitFor: (stream, pattern, what) =>
      withTimeout(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (pattern.test(out[stream])) {
              waiters.splice(waiters.indexOf(check), 1);
              resolve();
            }
          };
          waiters.push(check);
          check();
        }),
        `${what} (${stream} so far: ${JSON.stringify(out[stream].slice(-300))})`,
        30_000,
      ),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('pagecall watch', () => {
  test('prints one readable line per entry, with control and bidirectional characters escaped', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const page = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    publish(page, 'chat', ['plain text', 'red \u001b[31malert\u001b[0m\nsecond line', 'abc\u202edcba', { user: 'Ada', n: 1, bytes: { $bytes: 'AQI=' } }, 'after'], {
      errors: [{ at: 4, error: { name: 'RangeError', message: 'corrupt\u001b[2J frame' } }],
      dropped: 2,
    });
    const { code, stdout, stderr } = await run(['watch', 'room', 'chat', '--url', bridge.url, '--since', '0', '--count', '4']);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    const time = '\\d\\d:\\d\\d:\\d\\d\\.\\d{3}';
    const id = page.clientId;
    assert.match(lines[0]!, new RegExp(`^${time}  -- gap \\(page-dropped, 2 missing\\): page ${id} dropped 2 events`));
    assert.match(lines[1]!, new RegExp(`^${time}  ${id}  #2  plain text$`));
    assert.match(lines[2]!, new RegExp(`^${time}  ${id}  #3  red \\\\x1b\\[31malert\\\\x1b\\[0m\\\\nsecond line$`));
    assert.match(lines[3]!, new RegExp(`^${time}  ${id}  #4  abc\\\\u\\{202e\\}dcba$`));
    assert.match(lines[4]!, new RegExp(`^${time}  ${id}  #5  \\{"user":"Ada","n":1,"bytes":\\{"\\$bytes":"AQI="\\}\\}$`));
    assert.equal(lines.length, 5, 'stops after --count events');
    assert.ok(!stdout.includes('\u001b') && !stdout.includes('\u202e'));

    const errors = await run(['watch', 'room', 'chat', '--url', bridge.url, '--since', '0', '--count', '5']);
    assert.match(errors.stdout, new RegExp(`${time}  ${id}  #6  error  RangeError: corrupt\\\\x1b\\[2J frame\n${time}  ${id}  #7  after\n$`));
  });

  test('--json prints the NDJSON the bridge sends; --client-id keeps one page', async (t) => {
    const use = cleanupFor(t);
    const bridge = await use.bridge();
    const a = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    const b = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    publish(a, 'chat', ['from a']);
    publish(b, 'chat', ['from b']);
    publish(a, 'chat', ['again a']);
    const { code, stdout, stderr } = await run(['watch', 'room', 'chat', '--url', bridge.url, '--since', '0', '--count', '2', '--json', '--client-id', a.clientId]);
    assert.equal(code, 0, stderr);
    const entries = stdout.trimEnd().split('\n').map((line) => JSON.parse(line));
    // Two pages' sockets: the topic numbers what arrives first first, in whichever order that is.
    assert.deepEqual(entries.map((e) => [e.type, e.value, e.clientId]), [['event', 'from a', a.clientId], ['event', 'again a', a.clientId]]);
    assert.ok(entries[0].seq < entries[1].seq);
    assert.match(entries[0].id, new RegExp(`^[a-z0-9]+-${entries[0].seq}$`));
  });

  test('says clearly what is wrong: no bridge, a bad topic, a missing token', async (t) => {
    const use = cleanupFor(t);
    const secured = await use.bridge({ token: TOKEN });
    const closed = await startTestBridge();
    const closedUrl = closed.url;
    await closed.close();
    const noBridge = await run(['watch', 'room', 'chat', '--url', closedUrl]);
    assert.equal(noBridge.code, 1);
    assert.match(noBridge.stderr, /^pagecall: cannot reach the bridge at http:\/\/127\.0\.0\.1:\d+ \(connection refused\); start one with `pagecall serve`/);
    const badTopic = await run(['watch', 'room', '$x', '--url', secured.url], { PAGECALL_TOKEN: TOKEN });
    assert.equal(badTopic.code, 1);
    assert.match(badTopic.stderr, /^BAD_REQUEST: topic: "\$x" is not a valid topic name/);
    const noToken = await run(['watch', 'room', 'chat', '--url', secured.url]);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /^UNAUTHORIZED: .*\n  pass --token or set PAGECALL_TOKEN\n$/);
    const fromEnv = await run(['watch', 'room', 'chat', '--url', secured.url, '--since', '0', '--count', '0'], { PAGECALL_TOKEN: TOKEN });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const usage = await run(['watch', 'room']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing required argument 'topic'/);
  });

  test('resumes after a bridge restart and says that what was published meanwhile is lost', async (t) => {
    const use = cleanupFor(t);
    let bridge = await startTestBridge();
    const port = bridge.port;
    use.defer(() => bridge.close(), 'the bridge');
    let page = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    const watching = watch(['room', 'chat', '--url', bridge.url]);
    use.defer(() => watching.stop(), 'pagecall watch');
    // Publish until the watcher has subscribed and printed something: it starts live, from now.
    for (let i = 0; !/ #\d+  first/.test(watching.stdout()); i++) {
      publish(page, 'chat', ['first']);
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(i < 300, 'watch never printed the first event');
    }
    await bridge.close();
    await watching.waitFor('stderr', /lost the stream from .* reconnecting\n/, 'the lost connection to be reported');
    bridge = await startTestBridge({ port });
    page = await use.page({ bridgeUrl: bridge.url, group: 'room', key: bridge.pageKey });
    for (let i = 0; !/second/.test(watching.stdout()); i++) {
      publish(page, 'chat', ['second']);
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(i < 300, 'watch never printed an event from the restarted bridge');
    }
    await watching.waitFor('stderr', /the bridge restarted \(or forgot this topic\): events published in between are lost/, 'the restart to be reported');
    assert.match(watching.stderr(), /reconnected; resuming after [a-z0-9]+-\d+/);
    assert.match(watching.stdout(), /-- gap \(reset, unknown number missing\)/);
    assert.ok(watching.stdout().indexOf('reset') < watching.stdout().indexOf('second'));
  });
});
