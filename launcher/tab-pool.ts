/**
 * The launcher's tabs: `tabs` per URL, each opened paused, set up, then navigated. A tab that
 * closes or crashes is replaced; a navigation that fails after start (the site is down, the tab
 * landed on an error page) is retried with backoff. At start a failed navigation is reported
 * instead, with the browser's error, so `open` can fail with it.
 */
import type { BrowserHost } from './browser-host.js';
import type { CdpSession } from './cdp/connection.js';
import type { ContextInjection, PageTarget } from './injection.js';
import type { WaitedTab } from './readiness.js';

/** A tab of a launch. */
export interface LaunchedTab {
  /** 1-based position in the pool (a replacement keeps its slot's). */
  readonly index: number;
  /** The URL the tab was opened on. */
  readonly url: string;
  /** The client id its top document joins with (kept across reloads); its frames and workers join as `<id>-…`. */
  readonly clientId: string;
  /** The browser's id for the tab. */
  readonly targetId: string;
  /** Evaluates an expression in the tab's top document and returns its JSON value (promises are awaited). */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Navigates; rejects with NavigationError carrying the browser's error text when the page cannot load. */
  navigate(url: string): Promise<void>;
  /** Reloads the tab. */
  reload(): Promise<void>;
  /** Closes the tab (the pool replaces it while the launch runs). */
  close(): Promise<void>;
}

/** What happened to a tab after start, for logs (`open` prints them). */
export type TabEvent =
  | { type: 'navigation-failed'; tab: number; url: string; error: string; retryInMs: number }
  | { type: 'recovered'; tab: number; url: string }
  | { type: 'replaced'; tab: number; url: string; reason: string };

/** Raised when a page cannot be loaded; `errorText` is the browser's (`net::ERR_CONNECTION_REFUSED`...). */
export class NavigationError extends Error {
  override readonly name = 'NavigationError';
  constructor(
    readonly url: string,
    readonly errorText: string,
  ) {
    super(`cannot open ${url}: ${errorText}`);
  }
}

/** Delay before retry number `attempt` (1-based): 1 s doubling to 30 s, with up to half of it taken off at random. */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - random() / 2));
}

class PoolTab implements LaunchedTab, WaitedTab {
  /** Set when the tab's navigation at start failed. */
  failedWith: string | undefined;

  constructor(
    readonly index: number,
    readonly url: string,
    readonly page: PageTarget,
    private readonly host: BrowserHost,
  ) {}

  get clientId(): string {
    return this.page.clientId;
  }
  get targetId(): string {
    return this.page.targetId;
  }
  get session(): CdpSession {
    return this.page.session;
  }

  navigationError(): string | undefined {
    return this.failedWith;
  }

  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.session.send<{ result?: { value?: T }; exceptionDetails?: { text?: string; exception?: { description?: string } } }>('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'evaluation failed');
    return r.result?.value as T;
  }

  async navigate(url: string): Promise<void> {
    const r = await this.session.send<{ errorText?: string }>('Page.navigate', { url });
    if (r.errorText) throw new NavigationError(url, r.errorText);
  }

  async reload(): Promise<void> {
    await this.session.send('Page.reload');
  }

  close(): Promise<void> {
    return this.host.closeTab(this.targetId);
  }
}

interface Slot {
  index: number;
  url: string;
  tab: PoolTab | undefined;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  /** A navigation of ours is under way (its error page is not a new failure). */
  navigating: boolean;
}

/** The tabs of one launch. */
export class TabPool {
  private readonly slots: Slot[];
  /** Until the launch is ready, a failed navigation fails the launch instead of being retried. */
  private starting = true;
  private closing = false;

  constructor(
    private readonly host: BrowserHost,
    private readonly injection: ContextInjection,
    private readonly contextId: string | undefined,
    urls: readonly string[],
    tabsPerUrl: number,
    private readonly onEvent: (event: TabEvent) => void,
  ) {
    this.slots = urls.flatMap((url) => Array.from({ length: tabsPerUrl }, () => url)).map((url, i) => ({ index: i + 1, url, tab: undefined, failures: 0, timer: undefined, navigating: false }));
  }

  /** The current tabs. */
  tabs(): PoolTab[] {
    return this.slots.flatMap((s) => (s.tab ? [s.tab] : []));
  }

  /** Opens every slot's tab; resolves once each is set up and its navigation answered (failures are kept on the tab). */
  async open(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.openSlot(slot)));
  }

  /** From now on, failed navigations are retried with backoff. */
  started(): void {
    this.starting = false;
  }

  /** Stops replacing and retrying. */
  stop(): void {
    this.closing = true;
    for (const slot of this.slots) clearTimeout(slot.timer);
  }

  /** A target closed or crashed: replace the tab that was in its slot. */
  gone(targetId: string, crashed: boolean, detail: string): void {
    const slot = this.slots.find((s) => s.tab?.targetId === targetId);
    if (!slot || this.closing) return;
    clearTimeout(slot.timer);
    slot.tab = undefined;
    slot.failures = 0;
    if (crashed) void this.host.closeTab(targetId);
    this.onEvent({ type: 'replaced', tab: slot.index, url: slot.url, reason: crashed ? detail : 'the tab was closed' });
    this.openSlot(slot).catch(() => {});
  }

  /** A pool tab that landed on an error page after start (a reload or a link while the site is down) is sent back to its URL, with backoff. */
  private errorPage(slot: Slot, unreachableUrl: string): void {
    if (this.starting || this.closing || slot.navigating || slot.timer !== undefined) return;
    this.retry(slot, `the tab shows an error page for ${unreachableUrl}`);
  }

  private async openSlot(slot: Slot): Promise<void> {
    if (this.closing) return;
    const targetId = await this.host.newTab(this.contextId);
    const page = await this.injection.page(targetId);
    const tab = new PoolTab(slot.index, slot.url, page, this.host);
    slot.tab = tab;
    // The page agent is on anyway (it runs the init scripts): its navigation event says when the tab shows an error page.
    page.session.on('Page.frameNavigated', (event: { frame: { parentId?: string; unreachableUrl?: string } }) => {
      if (event.frame.parentId === undefined && event.frame.unreachableUrl && slot.tab === tab) this.errorPage(slot, event.frame.unreachableUrl);
    });
    await this.navigate(slot, tab);
  }

  private async navigate(slot: Slot, tab: PoolTab): Promise<void> {
    slot.navigating = true;
    try {
      await tab.navigate(slot.url);
      slot.navigating = false;
      if (slot.failures > 0) this.onEvent({ type: 'recovered', tab: slot.index, url: slot.url });
      slot.failures = 0;
    } catch (error) {
      slot.navigating = false;
      const text = error instanceof NavigationError ? error.errorText : (error as Error).message;
      if (this.starting) tab.failedWith = text;
      else this.retry(slot, text);
    }
  }

  private retry(slot: Slot, error: string): void {
    if (this.closing || !slot.tab) return;
    slot.failures++;
    const delay = retryDelayMs(slot.failures);
    this.onEvent({ type: 'navigation-failed', tab: slot.index, url: slot.url, error, retryInMs: delay });
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (slot.tab && !this.closing) void this.navigate(slot, slot.tab);
    }, delay);
    slot.timer.unref();
  }
}
