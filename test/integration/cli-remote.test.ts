/** `pagecall clients` and `pagecall call` against a running bridge, as users run them (dist/cli/main.js). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Bridge } from '../../bridge/index.js';
import { startTestBridge } from '../helpers/bridge.js';
import { connectFakePage, type FakePage } from '../helpers/fake-page.js';
import { run as runProcess } from '../helpers/process.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const TOKEN = 'cli-remote-token-0123456789';

/** The CLI, without the caller's PAGECALL_TOKEN / PAGECALL_URL leaking in. */
const run = (args: string[], env: Record<string, string> = {}) => runProcess(process.execPath, [CLI, ...args], env, ['PAGECALL_TOKEN', 'PAGECALL_TOKEN_FILE', 'PAGECALL_URL']);

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

let bridge: Bridge;
let secured: Bridge;
let shop: FakePage;
let live: FakePage;

before(async () => {
  bridge = await startTestBridge();
  secured = await startTestBridge({ token: TOKEN });
  const handlers = {
    add: (a: unknown[]) => (a[0] as number) + (a[1] as number),
    echo: (a: unknown[]) => a as never,
    sign: (a: unknown[]) => `sig:${String(a[0])}`,
    boom: () => {
      throw new RangeError('out of range');
    },
  };
  shop = await connectFakePage({ bridgeUrl: bridge.url, group: 'shop', title: 'Shop \u001b[31mred\u001b[0m', url: 'https://shop.example/', handlers });
  live = await connectFakePage({ bridgeUrl: bridge.url, group: 'live', title: 'Live room', url: 'https://live.example/42', handlers: { decode: () => ({ text: 'hi' }) } });
  await connectFakePage({ bridgeUrl: secured.url, group: 'shop', token: TOKEN, handlers });
});
after(async () => {
  await shop?.close();
  await live?.close();
  await bridge?.close();
  await secured?.close();
});

describe('pagecall clients', () => {
  test('lists pages by group with their functions and counters', async () => {
    const { code, stdout, stderr } = await run(['clients', '--url', bridge.url]);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^live \(1 page\)$/m);
    assert.match(stdout, /^shop \(1 page\)$/m);
    assert.ok(stdout.indexOf('live (') < stdout.indexOf('shop ('), 'groups sorted by name');
    assert.match(stdout, new RegExp(`^  ${shop.clientId}  Shop \\\\x1b\\[31mred\\\\x1b\\[0m$`, 'm'), 'control characters in titles are escaped');
    assert.ok(!stdout.includes('\u001b'));
    assert.match(stdout, /functions: add, boom, echo, sign/);
    assert.match(stdout, /connected \d+s · in flight 0 · served \d+ · failed \d+/);
  });

  test('--group narrows the list and --json prints the API response', async () => {
    const { code, stdout } = await run(['clients', '--url', bridge.url, '--group', 'live', '--json']);
    assert.equal(code, 0);
    const body = JSON.parse(stdout);
    assert.equal(body.ok, true);
    assert.deepEqual(body.clients.map((c: { id: string }) => c.id), [live.clientId]);
  });

  test('names an empty group and the groups that do have pages', async () => {
    const { code, stdout } = await run(['clients', '--url', bridge.url, '--group', 'empty']);
    assert.equal(code, 0);
    assert.equal(stdout, 'no pages in group empty; connected groups: live (1 page), shop (1 page)\n');
  });

  test('says so when no page is connected at all', async () => {
    const empty = await startTestBridge();
    try {
      assert.equal((await run(['clients', '--url', empty.url])).stdout, 'no pages connected\n');
      assert.equal((await run(['clients', '--url', empty.url, '-g', 'g'])).stdout, 'no pages in group g; no pages connected at all\n');
    } finally {
      await empty.close();
    }
  });

  test('uses the token from --token-file, PAGECALL_TOKEN or --token (with a warning), and explains a missing one', async () => {
    const denied = await run(['clients', '--url', secured.url]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /^UNAUTHORIZED: this bridge requires a token/m);
    assert.match(denied.stderr, /pass --token-file or set PAGECALL_TOKEN/);
    const flag = await run(['clients', '--url', secured.url, '--token', TOKEN]);
    assert.equal(flag.code, 0, flag.stderr);
    assert.match(flag.stdout, /shop \(1 page\)/);
    assert.match(flag.stderr, /^pagecall: warning: --token puts the token where every user of this machine can read it \(ps, \/proc\/<pid>\/cmdline\); pass --token-file <file> or set PAGECALL_TOKEN instead$/m);
    const env = await run(['clients'], { PAGECALL_URL: secured.url, PAGECALL_TOKEN: TOKEN });
    assert.equal(env.code, 0, env.stderr);
    assert.equal(env.stderr, '', 'no warning without --token');
    const dir = mkdtempSync(join(tmpdir(), 'pagecall-token-'));
    try {
      writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
      const file = await run(['clients', '--url', secured.url, '--token-file', join(dir, 'token')]);
      assert.equal(file.code, 0, file.stderr);
      assert.equal(file.stderr, '');
      const fromEnvFile = await run(['clients', '--url', secured.url], { PAGECALL_TOKEN_FILE: join(dir, 'token') });
      assert.equal(fromEnvFile.code, 0, fromEnvFile.stderr);
      const missing = await run(['clients', '--url', secured.url, '--token-file', join(dir, 'nope')]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^pagecall: --token-file: cannot read .*nope: ENOENT$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a bridge that is not running gets a clear message and exit 1', async () => {
    const port = await closedPort();
    const { code, stderr, stdout } = await run(['clients', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`no bridge is running at http://127\\.0\\.0\\.1:${port} \\(connection refused\\); start one with \`pagecall serve\``));
  });
});

describe('pagecall call', () => {
  test('parses arguments as JSON when they parse, else as strings, and prints the result', async () => {
    const add = await run(['call', 'shop', 'add', '2', '3', '--url', bridge.url]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, '5\n');
    const echo = await run(['call', 'shop', 'echo', '-1.5', 'true', 'null', '{"a":[1]}', '"7"', 'plain text', '/api?x=1', '--url', bridge.url]);
    assert.equal(echo.code, 0, echo.stderr);
    assert.deepEqual(JSON.parse(echo.stdout), [-1.5, true, null, { a: [1] }, '7', 'plain text', '/api?x=1']);
    assert.equal(echo.stdout, `${JSON.stringify([-1.5, true, null, { a: [1] }, '7', 'plain text', '/api?x=1'], null, 2)}\n`);
  });

  test('prints a string result as it is, and the whole response with --json', async () => {
    const sign = await run(['call', 'shop', 'sign', 'payload', '--url', bridge.url]);
    assert.equal(sign.stdout, 'sig:payload\n');
    const json = await run(['call', 'shop', 'sign', 'payload', '--url', bridge.url, '--json', '--client-id', shop.clientId, '--timeout-ms', '5000']);
    assert.equal(json.code, 0, json.stderr);
    const body = JSON.parse(json.stdout);
    assert.equal(body.ok, true);
    assert.equal(body.result, 'sig:payload');
    assert.equal(body.clientId, shop.clientId);
    assert.equal(typeof body.durationMs, 'number');
  });

  test('arguments after -- may start with dashes', async () => {
    const { code, stdout } = await run(['call', 'shop', 'echo', '--url', bridge.url, '--', '--not-a-flag']);
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), ['--not-a-flag']);
  });

  test('a page error prints CODE: message and the page stack to stderr and exits 1', async () => {
    const { code, stdout, stderr } = await run(['call', 'shop', 'boom', '--url', bridge.url]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, /^PAGE_ERROR: RangeError: out of range$/m);
    assert.match(stderr, /^ {2}RangeError: out of range$/m);
  });

  test('an unknown action lists the available ones; --json still prints the error response', async () => {
    const { code, stdout, stderr } = await run(['call', 'shop', 'nope', '--url', bridge.url, '--json']);
    assert.equal(code, 1);
    assert.equal(JSON.parse(stdout).error.code, 'ACTION_NOT_FOUND');
    assert.match(stderr, /^ACTION_NOT_FOUND: /m);
    assert.match(stderr, /available: add, boom, echo, sign/);
  });

  test('bad requests and timeouts are errors with their codes', async () => {
    const bad = await run(['call', 'shop', 'add', '--url', bridge.url, '--client-id', 'not valid!']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^BAD_REQUEST: clientId/m);
    const missing = await run(['call', 'nowhere', 'add', '--url', bridge.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^NO_CLIENT: no page is connected in group "nowhere"/m);
  });

  test('usage errors exit 2 with the error and where to find help', async () => {
    const missing = await run(['call', 'shop']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing required argument 'action'/);
    const timeout = await run(['call', 'shop', 'add', '--timeout-ms', 'soon']);
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /expected a whole number/);
    const unknown = await run(['clients', '--nope']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, "pagecall: unknown option '--nope'\nrun 'pagecall clients --help' for usage\n");
  });

  test('--help documents the options and how arguments are parsed', async () => {
    const { code, stdout } = await run(['call', '--help']);
    assert.equal(code, 0);
    for (const text of ['--url', '--token', '--client-id', '--timeout-ms', '--json', 'parsed as JSON when it parses', 'PAGECALL_TOKEN', 'PAGECALL_URL']) assert.ok(stdout.includes(text), text);
  });
});
