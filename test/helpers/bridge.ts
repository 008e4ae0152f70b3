/** Test fixture: a real bridge on port 0 with logs kept quiet. */
import { pino } from 'pino';
import { startBridge, type Bridge, type StartOptions } from '../../bridge/index.js';

/** Starts a bridge on 127.0.0.1:0. Pass `logLevel` to see its logs. */
export async function startTestBridge(options: StartOptions = {}): Promise<Bridge & { close(): Promise<void> }> {
  const logger = pino({ level: process.env.PAGECALL_TEST_LOG ?? 'silent' });
  return startBridge({ port: 0, shutdownGraceMs: 0, logger, ...options });
}

/** POSTs JSON and returns status, headers and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** GETs and returns status, headers and parsed body. */
export async function getJson(url: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, headers: res.headers, body: parsed };
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
