/**
 * `pagecall open` as users run it (the built CLI, real Chromium): it joins a bridge `serve` already
 * runs on the port, prints ready once the page is callable, and fails with the browser's error when
 * a page cannot be opened.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startSite, type TestSite } from '../helpers/browser.js';
import { postJson } from '../helpers/bridge.js';
import { run } from '../helpers/process.js';
import { withTimeout } from '../helpers/wait.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A CLI process whose output is collected, and a wait for a line of it. */
function start(args: string[]): { child: ChildProcess; out: () => string; err: () => string; waitFor(pattern: RegExp, what: string): Promise<RegExpExecArray>; stop(): Promise<number> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d) => {
    stdout += d;
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
    for (const l of listeners) l();
  });
  const exited = once(child, 'exit').then(([code]) => code as number);
  return {
    child,
    out: () => stdout,
    err: () => stderr,
    waitFor(pattern, what) {
      return withTimeout(
        new Promise<RegExpExecArray>((resolve, reject) => {
          const check = (): void => {
            const match = pattern.exec(stdout + stderr);
            if (match) resolve(match);
          };
          listeners.add(check);
          check();
          void exited.then((code) => reject(new Error(`exited with ${code} before ${what}:\n${stdout}\n${stderr}`)));
        }),
        what,
        60_000,
      );
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('pagecall open', () => {
  let site: TestSite;
  let dir: string;
  let hooks: string;

  before(async () => {
    site = await startSite({ '/': '<!doctype html><title>shop</title><script>window.shop = { sign: (p) => "signed:" + p };</script>' });
    dir = mkdtempSync(join(tmpdir(), 'pagecall-open-'));
    hooks = join(dir, 'hooks.js');
    writeFileSync(hooks, "pagecall.expose('sign', 'shop.sign');\n");
  });
  after(async () => {
    await site?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serve, then open on the same port: open joins the running bridge and says so', async () => {
    const serve = start(['serve', '--port', '0', '--log-level', 'warn']);
    let open: ReturnType<typeof start> | undefined;
    try {
      const [, url, port] = await serve.waitFor(/ready on (http:\/\/127\.0\.0\.1:(\d+))/, 'the bridge to listen');
      open = start(['open', `${site.url}/`, '--group', 'shop', '--script', hooks, '--port', port!]);
      await open.waitFor(/pagecall: ready: 1 tab\(s\) in group shop on http:\/\/127\.0\.0\.1:\d+; functions: sign/, 'open to be ready');
      assert.match(open.err(), new RegExp(`pagecall: joining the pagecall [^ ]+ bridge already running at ${url!.replace(/[.]/g, '\\.')}`));
      assert.doesNotMatch(open.out(), /bridge started here/);
      // Callable through the bridge serve runs, the moment open said ready.
      const r = await postJson(`${url}/v1/call`, { group: 'shop', action: 'sign', args: ['/items'] });
      assert.equal(r.body.result, 'signed:/items', JSON.stringify(r.body));
      assert.equal(await open.stop(), 0);
    } finally {
      await open?.stop();
      await serve.stop();
    }
  });

  test('open on an unreachable URL exits 1 with the browser error', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const { code, stdout, stderr } = await run(process.execPath, [CLI, 'open', `http://127.0.0.1:${port}/`, '--port', '0', '--log-level', 'silent'], {}, [], 120_000);
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`pagecall: tab 1: cannot open http://127\\.0\\.0\\.1:${port}/: net::ERR_CONNECTION_REFUSED`));
    assert.doesNotMatch(stdout, /ready/);
  });
});
