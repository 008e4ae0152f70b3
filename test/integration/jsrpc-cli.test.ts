/** `pagecall serve --jsrpc` as users run it (the built dist/cli/main.js). */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getJson, until } from '../helpers/bridge.js';
import { connectJsrpcPage } from '../helpers/jsrpc-page.js';
import { run } from '../helpers/process.js';
import { withTimeout } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }
});

/** Starts `serve` with `args` and resolves with everything it printed once its banner is out. */
async function serve(args: string[]): Promise<{ child: ChildProcess; stdout: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        stdout += d;
        if (stdout.includes('migrating-from-jsrpc')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stdout}`)));
    }),
    'the serve banner',
    60_000,
  );
  return { child, stdout };
}

test('serve --jsrpc prints the HlClient line to paste; a page using it exactly joins, and /go reaches it', async () => {
  const { child, stdout } = await serve(['--jsrpc', '0', '--group', 'zzz']);
  const line = /new HlClient\("(ws:\/\/127\.0\.0\.1:(\d+)\/ws\?group=zzz&key=[^"]+)"\)/.exec(stdout);
  assert.ok(line, stdout);
  const [, socketUrl, port] = line;
  assert.match(stdout, new RegExp(`JsRpc-compatible listener on http://127\\.0\\.0\\.1:${port}`));
  const page = await connectJsrpcPage({ url: socketUrl!, handlers: { hello: (p) => `hi ${p}` } });
  try {
    // The page's registration frame may still be on its way when registerId has arrived.
    await until(async () => (await getJson(`http://127.0.0.1:${port}/details`)).body.data.zzz?.[0]?.actions.includes('hello'), 'the page\'s actions listed');
    const answer = await getJson(`http://127.0.0.1:${port}/go?group=zzz&action=hello&param=there`);
    assert.deepEqual(answer.body, { status: 200, group: 'zzz', clientId: page.clientId, data: 'hi there' });
  } finally {
    await page.close();
  }
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
});

test('serve --jsrpc --open-pages prints the old URL, without a key', async () => {
  const { child, stdout } = await serve(['--jsrpc', '0', '--open-pages']);
  assert.match(stdout, /new HlClient\("ws:\/\/127\.0\.0\.1:\d+\/ws\?group=default"\)/);
  child.kill('SIGTERM');
  await once(child, 'exit');
});

test('serve --jsrpc on a port in use says so and exits 2', async () => {
  const busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  try {
    const port = (busy.address() as { port: number }).port;
    const { code, stderr } = await run(process.execPath, [CLI, 'serve', '--port', '0', '--jsrpc', String(port), '--log-level', 'warn']);
    assert.equal(code, 2);
    assert.equal(stderr, `pagecall: port ${port} (--jsrpc) is in use; is JsRpc still running? Stop it or pick another port: --jsrpc <port>\n`);
  } finally {
    await new Promise((resolve) => busy.close(resolve));
  }
});

test('serve --jsrpc with a value that is not a port is a usage error', async () => {
  for (const value of ['abc', '70000']) {
    const { code, stderr } = await run(process.execPath, [CLI, 'serve', '--jsrpc', value]);
    assert.equal(code, 2, value);
    assert.match(stderr, /^pagecall: option '--jsrpc \[port\]' argument '\w+' is invalid/, value);
  }
});
