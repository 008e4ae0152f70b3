/** Test fixture: a real bridge on port 0 with logs kept quiet. */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { pino } from 'pino';
import { startBridge, type Bridge, type StartOptions } from '../../bridge/index.js';

/**
 * The page key of test bridges (unless a test passes its own): one per test run (test-env.mjs puts
 * it in the environment, so bridges in child processes share it), so a bridge restarted by a test
 * keeps it, and fake pages (test/helpers/fake-page.ts) carry it by default.
 */
export const TEST_PAGE_KEY = process.env.PAGECALL_TEST_PAGE_KEY ?? `test-page-key-${randomBytes(12).toString('base64url')}`;

/** Starts a bridge on 127.0.0.1:0 with TEST_PAGE_KEY. Pass `logLevel` to see its logs. */
export async function startTestBridge(options: StartOptions = {}): Promise<Bridge & { close(): Promise<void> }> {
  const logger = pino({ level: process.env.PAGECALL_TEST_LOG ?? 'silent' });
  return startBridge({ port: 0, shutdownGraceMs: 0, logger, pageKey: TEST_PAGE_KEY, ...options });
}

/**
 * The HTML a test page needs to join `group` the way the snippet does it: the public injector,
 * then connect() with the bridge's key for the group (a key never goes into a script URL).
 */
export function injectorTags(bridge: Pick<Bridge, 'url' | 'groupKey'>, group: string, extra: { clientId?: string } = {}): string {
  const options = { url: `${bridge.url.replace(/^http/, 'ws')}/v1/ws`, group, key: bridge.groupKey(group), ...extra };
  return `<script src="${bridge.url}/injector.js"></script><script>pagecall.connect(${JSON.stringify(options).replace(/</g, '\\u003c')})</script>`;
}

/** An HTTP response with its body parsed as JSON when it is JSON. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

async function parsed(res: Response): Promise<JsonResponse> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/** How long an HTTP request of a test may take (longer than any deadline a test sets). */
export const HTTP_TIMEOUT_MS = 120_000;

/** POSTs JSON (or a raw string body) and returns status, headers and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) };
  return parsed(await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS), ...init }));
}

/** GETs (or any method via `init`) and returns status, headers and parsed body. */
export async function getJson(url: string, init: RequestInit = {}): Promise<JsonResponse> {
  return parsed(await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS), ...init }));
}

/** The status of a GET sent with exactly these headers (fetch would not let a test set Host). */
export function statusOf(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    req.setTimeout(HTTP_TIMEOUT_MS, () => req.destroy(new Error(`timed out after ${HTTP_TIMEOUT_MS} ms waiting for an answer from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `check` until it returns truthy (event-driven waits are preferred; this is for state that has no event). */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<Awaited<T>>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<Awaited<T>>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
