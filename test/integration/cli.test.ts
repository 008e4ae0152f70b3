/** The `pagecall` command as users run it (the built dist/cli/main.js). */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
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
    assert.match(stdout, /injector\.js\?group=demo/);
    assert.match(stdout, /"group":"demo"/);
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

  test('injector prints the page client preconfigured for a bridge', async () => {
    const { code, stdout } = await cli(['injector', '--group', 'shop', '--url', 'http://127.0.0.1:4567']);
    assert.equal(code, 0);
    assert.match(stdout, /connect\(\{"url":"ws:\/\/127\.0\.0\.1:4567\/v1\/ws","group":"shop"\}\)/);
  });

  test('open says exactly what to do when the browser is missing', async () => {
    const { code, stderr } = await cli(['open', 'http://127.0.0.1:9/', '--browser', '/nonexistent/chrome', '--port', '0']);
    assert.equal(code, 2);
    assert.match(stderr, /no browser at \/nonexistent\/chrome/);
  });
});
