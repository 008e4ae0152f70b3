/**
 * "Ready" means callable: every tab's clients (its top document, and its frames and workers, whose
 * ids start with the tab's) together offer the actions the hooks register (or the `waitFor` list),
 * as the bridge itself lists them. When that does not happen in time, each lagging tab is asked
 * over CDP what it is doing, and the answer names the tab, what it lacks and why.
 */
import type { Bridge } from '../bridge/bridge.js';
import type { ClientInfo } from '../bridge/page-client.js';
import type { CdpSession } from './cdp/connection.js';
import { HOOK_FAILURES_KEY } from './page-script.js';

/** Where the launcher reads the group's clients from: the bridge in this process, or a running one over HTTP. */
export interface ClientSource {
  list(group: string): Promise<ClientInfo[]>;
}

/** The clients of a bridge in this process. */
export function bridgeSource(bridge: Bridge): ClientSource {
  return { list: async (group) => bridge.clients(group) };
}

/** The clients of a running bridge, from GET /v1/clients. */
export function httpSource(bridgeUrl: string, token: string | undefined): ClientSource {
  return {
    async list(group) {
      const headers: Record<string, string> = {};
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      const res = await fetch(new URL(`/v1/clients?group=${encodeURIComponent(group)}`, bridgeUrl), { headers, signal: AbortSignal.timeout(10_000) });
      const body = (await res.json().catch(() => undefined)) as { ok?: boolean; clients?: ClientInfo[]; error?: { code: string; message: string } } | undefined;
      if (!body?.ok || !Array.isArray(body.clients)) throw new Error(`the bridge at ${bridgeUrl} did not list its pages (${body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`})`);
      return body.clients;
    },
  };
}

/** A tab as readiness sees it. */
export interface WaitedTab {
  /** 1-based position, for messages. */
  readonly index: number;
  /** The URL it was opened on. */
  readonly url: string;
  readonly clientId: string;
  readonly session: CdpSession;
  /** The browser's error for the tab's navigation, once it failed. */
  navigationError(): string | undefined;
}

/** The clients that belong to a tab: its top document's, and its frames' and workers' (`<id>-…`). */
export function clientsOfTab(clients: readonly ClientInfo[], clientId: string): ClientInfo[] {
  return clients.filter((c) => c.id === clientId || c.id.startsWith(`${clientId}-`));
}

/** What a tab still lacks: nothing when its top document has joined and its clients offer every `expected` action. */
export function missingActions(clients: readonly ClientInfo[], clientId: string, expected: readonly string[]): string[] | undefined {
  const mine = clientsOfTab(clients, clientId);
  const offered = new Set(mine.flatMap((c) => c.actions));
  const missing = expected.filter((a) => !offered.has(a));
  if (!mine.some((c) => c.id === clientId)) return missing;
  return missing.length ? missing : undefined;
}

/** Raised when tabs did not become callable in time, or failed to load; `tabs` says which and why. */
export class LaunchError extends Error {
  override readonly name = 'LaunchError';
  constructor(
    message: string,
    /** One line per failing tab. */
    readonly tabs: string[],
  ) {
    super(message);
  }
}

/** What a page says about itself when asked over CDP. */
interface PageReport {
  href: string;
  status: { state: string; actions: string[]; lastError?: { reason: string; message: string } } | null;
  hookFailures: Array<{ script: string; name: string; message: string }>;
}

const REPORT_EXPRESSION = `(() => {
  const api = globalThis[Symbol.for('pagecall')];
  let status = null;
  try { status = api && typeof api.status === 'function' ? api.status() : null; } catch (e) {}
  const failures = globalThis[Symbol.for(${JSON.stringify(HOOK_FAILURES_KEY)})];
  return { href: String(location.href), status, hookFailures: Array.isArray(failures) ? failures.map((f) => ({ script: String(f.script), name: String(f.name), message: String(f.message) })) : [] };
})()`;

/** Asks a tab what it is doing (no answer within a few seconds: the page is busy or gone). */
async function report(session: CdpSession): Promise<PageReport | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const answer = session.send<{ result?: { value?: PageReport } }>('Runtime.evaluate', { expression: REPORT_EXPRESSION, returnByValue: true }).then(
    (r) => r.result?.value,
    () => undefined,
  );
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 3_000)));
  const value = await Promise.race([answer, late]);
  clearTimeout(timer);
  return value;
}

/** Why a tab is not callable, as one line. */
export async function explain(tab: WaitedTab, clients: readonly ClientInfo[], missing: readonly string[]): Promise<string> {
  const head = `tab ${tab.index} (${tab.url}, client ${tab.clientId})`;
  const lacks = missing.length ? `lacks ${missing.join(', ')}` : 'has not joined';
  const navigation = tab.navigationError();
  if (navigation) return `${head}: the navigation failed: ${navigation}`;
  const page = await report(tab.session);
  if (!page) return `${head} ${lacks}: the page did not answer (busy, or closed)`;
  const reasons: string[] = [];
  for (const failure of page.hookFailures) reasons.push(`hook script ${failure.script} threw ${failure.name}: ${failure.message}`);
  const mine = clientsOfTab(clients, tab.clientId);
  if (!page.status) {
    reasons.push(`pagecall is not running in the page at ${page.href} (about:blank, data: and error pages never join)`);
  } else if (page.status.state !== 'open') {
    reasons.push(`pagecall is ${page.status.state}${page.status.lastError ? `: ${page.status.lastError.message}` : ''}`);
  } else {
    const offered = [...new Set(mine.flatMap((c) => c.actions))];
    reasons.push(`it offers ${offered.length ? offered.join(', ') : 'nothing yet'}; if the hooks register ${missing.length === 1 ? 'it' : 'them'} later, wait longer, or name what to wait for with --wait-for / waitFor`);
  }
  return `${head} ${lacks}: ${reasons.join('; ')}`;
}

/** How often the bridge's list is read while waiting (reading it is cheap; this is not a timing assumption). */
const POLL_MS = 100;

/**
 * Resolves when every tab is callable; rejects with LaunchError as soon as a navigation fails, or
 * after `timeoutMs` with what each lagging tab lacks and why.
 */
export async function waitUntilReady(options: { tabs: () => readonly WaitedTab[]; expected: readonly string[]; group: string; source: ClientSource; timeoutMs: number; stopped?: () => boolean }): Promise<void> {
  const { expected, group, source, timeoutMs } = options;
  const deadline = Date.now() + timeoutMs;
  let clients: ClientInfo[] = [];
  let listError: unknown;
  for (;;) {
    const tabs = options.tabs();
    const failed = tabs.filter((t) => t.navigationError() !== undefined);
    if (failed.length) {
      const lines = failed.map((t) => `tab ${t.index}: cannot open ${t.url}: ${t.navigationError()}`);
      throw new LaunchError(lines.join('\n'), lines);
    }
    try {
      clients = await source.list(group);
      listError = undefined;
    } catch (error) {
      listError = error;
    }
    const lagging = listError ? [...tabs] : tabs.filter((t) => missingActions(clients, t.clientId, expected) !== undefined);
    if (lagging.length === 0) return;
    if (options.stopped?.()) throw new LaunchError('the launch was closed before its tabs were ready', []);
    if (Date.now() >= deadline) {
      const lines = listError
        ? [`cannot read the bridge's pages: ${(listError as Error).message}`]
        : await Promise.all(lagging.map((t) => explain(t, clients, missingActions(clients, t.clientId, expected) ?? [])));
      throw new LaunchError(`${lagging.length} of ${tabs.length} tab(s) not ready within ${timeoutMs} ms:\n${lines.map((l) => `  ${l}`).join('\n')}`, lines);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
