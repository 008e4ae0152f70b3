/** The `pagecall` command as users run it (the built dist/cli/main.js). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getJson } from '../helpers/bridge.js';
import { run } from '../helpers/process.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

const cli = (args: string[], env: Record<string, string> = {}) => run(process.execPath, [CLI, ...args], env);

describe('pagecall CLI', () => {
  test('serve starts on loopback, prints how to use it, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--group', 'demo', '--log-format', 'json', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const ready = new Promise<string>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const match = /ready on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (match && stdout.includes('curl')) resolve(match[1]!);
      });
    });
    const url = await ready;
    // The snippet imports the public module and connects with the key of group demo; no key in a URL.
    const key = (await cli(['key', '--group', 'demo'])).stdout.trim();
    assert.match(key, /^demo~[\w-]{43}$/);
    assert.ok(stdout.includes(`(async () => (await import("${url}/injector.mjs")).default.connect({"url":"${url.replace('http', 'ws')}/v1/ws","group":"demo","key":"${key}"}))()`), stdout);
    assert.doesNotMatch(stdout, /injector\.js\?/);
    const health = await getJson(`${url}/health`);
    assert.equal(health.body.ok, true);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  test('serve refuses a non-loopback host without a token, saying why', async () => {
    const { code, stderr } = await cli(['serve', '--host', '0.0.0.0', '--port', '0']);
    assert.equal(code, 2);
    assert.match(stderr, /refusing to listen on 0\.0\.0\.0 without a token/);
  });

  test('serve reports bad environment values by variable name', async () => {
    const { code, stderr } = await cli(['serve', '--port', '0'], { PAGECALL_TIMEOUT_MS: 'soon' });
    assert.equal(code, 2);
    assert.match(stderr, /PAGECALL_TIMEOUT_MS: expected a whole number/);
  });

  test('serve --help lists every option with its environment variable', async () => {
    const { code, stdout } = await cli(['serve', '--help']);
    assert.equal(code, 0);
    for (const flag of ['--host', '--port', '--token', '--timeout-ms', '--max-body-bytes', '--allow-origins', '--log-level']) assert.ok(stdout.includes(flag), flag);
    assert.match(stdout, /PAGECALL_MAX_IN_FLIGHT_PER_CLIENT/);
  });

  test('injector prints the page client preconfigured for a bridge, with the key of its group', async () => {
    // Nothing listens there: it says so and uses the key pagecall serve uses on this machine.
    const busy = await listening();
    const port = (busy.address() as { port: number }).port;
    await new Promise((resolve) => busy.close(resolve));
    const { code, stdout, stderr } = await cli(['injector', '--group', 'shop', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(code, 0, stderr);
    const key = (await cli(['key', '--group', 'shop'])).stdout.trim();
    assert.ok(stdout.endsWith(`connect({"url":"ws://127.0.0.1:${port}/v1/ws","group":"shop","key":"${key}"});\n`), stdout.slice(-300));
    assert.match(stderr, /cannot ask the bridge at http:\/\/127\.0\.0\.1:\d+ for the page key of group shop: ECONNREFUSED; using the page key in .*page-key/);
  });

  test('open says exactly what to do when the browser is missing', async () => {
    const { code, stderr } = await cli(['open', 'http://127.0.0.1:9/', '--browser', '/nonexistent/chrome', '--port', '0']);
    assert.equal(code, 2);
    assert.equal(stderr, 'pagecall: no browser at /nonexistent/chrome (from --browser): no such file\n');
  });

  test('open checks --browser and PAGECALL_BROWSER before it starts a bridge', async () => {
    // The port is taken: a bridge started first would fail with "port in use" instead.
    const busy = await listening();
    try {
      const port = String((busy.address() as { port: number }).port);
      const flag = await cli(['open', 'http://127.0.0.1:9/', '--browser', '/nonexistent/chrome', '--port', port]);
      assert.equal(flag.code, 2);
      assert.match(flag.stderr, /^pagecall: no browser at \/nonexistent\/chrome \(from --browser\)/);
      const env = await cli(['open', 'http://127.0.0.1:9/', '--port', port], { PAGECALL_BROWSER: '/nonexistent/env-chrome' });
      assert.equal(env.code, 2);
      assert.match(env.stderr, /^pagecall: no browser at \/nonexistent\/env-chrome \(from PAGECALL_BROWSER\)/);
      const script = await cli(['open', 'http://127.0.0.1:9/', '--port', port, '--script', '/nonexistent/hooks.js']);
      assert.equal(script.code, 2);
      assert.equal(script.stderr, 'pagecall: cannot read hook script /nonexistent/hooks.js: ENOENT\n');
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  test('open says when its port is held by something that is not a pagecall bridge', async () => {
    const busy = await listening();
    try {
      const port = (busy.address() as { port: number }).port;
      const { code, stderr } = await cli(['open', 'http://127.0.0.1:9/', '--port', String(port)]);
      assert.equal(code, 2);
      assert.match(stderr, new RegExp(`^pagecall: port ${port} is in use by something that is not a pagecall bridge \\(.+\\); pick another with --port, or name a bridge with --bridge\n$`));
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  test('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const { code, stdout } = await cli([flag]);
      assert.equal(code, 0);
      assert.equal(stdout, `${version}\n`);
    }
  });

  test('an unknown flag prints the error and one line pointing to --help, and exits 2', async () => {
    const { code, stdout, stderr } = await cli(['serve', '--prot', '1']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr, "pagecall: unknown option '--prot'\n(Did you mean --port?)\nrun 'pagecall serve --help' for usage\n");
    const command = await cli(['srve']);
    assert.equal(command.code, 2);
    assert.equal(command.stderr, "pagecall: unknown command 'srve'\n(Did you mean serve?)\nrun 'pagecall --help' for usage\n");
  });

  test('serve logs one info line at start (URL, token, changed settings) and the whole configuration at debug', async () => {
    const token = 's'.repeat(20);
    for (const level of ['info', 'debug']) {
      const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-format', 'json', '--log-level', level, '--timeout-ms', '5000'], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, PAGECALL_TOKEN: token, PAGECALL_PAGE_KEY: 'k'.repeat(32) },
      });
      let stdout = '';
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (d) => {
          stdout += d;
          if (stdout.includes('ready on')) resolve();
        });
      });
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
      const entries = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, any>);
      const starting = entries.filter((e) => !/shutting down|stopped/.test(e.msg));
      const info = starting.filter((e) => e.level === 30);
      assert.equal(info.length, 1, JSON.stringify(starting));
      assert.match(info[0]!.msg, /^pagecall \S+ listening on http:\/\/127\.0\.0\.1:\d+ \(token required, eval off, pages need the page key; --timeout-ms=5000( --log-level=debug)?\)$/);
      const dump = starting.filter((e) => e.msg === 'configuration');
      assert.equal(dump.length, level === 'debug' ? 1 : 0);
      if (level === 'debug') assert.equal(dump[0]!.config.token, '[redacted]');
      assert.ok(!stdout.includes(token), 'the token is never logged');
      assert.ok(!stdout.includes('k'.repeat(32)), 'nor is the page key');
    }
  });
});

/** A TCP server holding a port on 127.0.0.1. */
/** A port held by something that is not a bridge: it accepts connections and drops them. */
async function listening(): Promise<Server> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
