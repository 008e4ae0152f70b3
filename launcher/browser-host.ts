/**
 * One DevTools connection to a browser, shared by the launches that use it: it has the browser
 * attach us to every new page target paused, hands each to the launch that owns its browser
 * context, and lets everything else (browser UI, service and shared workers, pages nobody owns)
 * run on at once, detached.
 */
import type { CdpConnection } from './cdp/connection.js';
import { release, type AttachedEvent, type ContextInjection } from './injection.js';

/** What a launch hears about its targets. */
export interface TargetEvents {
  /** The target closed or crashed. */
  gone(targetId: string, crashed: boolean, detail: string): void;
}

interface Owner {
  injection: ContextInjection;
  events: TargetEvents;
}

/** The key of the default browser context among owners. */
const DEFAULT_CONTEXT = '';

/** Browser-level target handling for one connection. */
export class BrowserHost {
  private readonly owners = new Map<string, Owner>();
  private readonly ownerOf = new Map<string, Owner>();
  private started: Promise<void> | undefined;

  constructor(readonly connection: CdpConnection) {}

  /**
   * Makes `injection` the owner of the pages of browser context `contextId` (undefined: the
   * default context, and any page no other owner claims).
   */
  register(contextId: string | undefined, injection: ContextInjection, events: TargetEvents): void {
    this.owners.set(contextId ?? DEFAULT_CONTEXT, { injection, events });
  }

  /** Stops handing targets of `contextId` to its owner. */
  unregister(contextId: string | undefined): void {
    const key = contextId ?? DEFAULT_CONTEXT;
    const owner = this.owners.get(key);
    this.owners.delete(key);
    for (const [targetId, o] of this.ownerOf) if (o === owner) this.ownerOf.delete(targetId);
  }

  /** Starts discovery and auto-attach (once); owners registered before this also get the pages already open. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const browser = this.connection.browser;
      browser.on('Target.attachedToTarget', (event: AttachedEvent) => this.attached(event));
      browser.on('Target.targetDestroyed', (event: { targetId: string }) => this.gone(event.targetId, false, 'closed'));
      browser.on('Target.targetCrashed', (event: { targetId: string; status: string; errorCode: number }) => this.gone(event.targetId, true, `crashed (${event.status}, code ${event.errorCode})`));
      browser.on('Target.detachedFromTarget', (event: { sessionId: string }) => this.connection.forget(event.sessionId));
      await browser.send('Target.setDiscoverTargets', { discover: true });
      await browser.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true });
    })();
    return this.started;
  }

  /** A new isolated browser context (for a second launch in the same browser). */
  async newContext(): Promise<string> {
    const { browserContextId } = await this.connection.browser.send<{ browserContextId: string }>('Target.createBrowserContext', { disposeOnDetach: true });
    return browserContextId;
  }

  /** Opens an `about:blank` tab in a context; it arrives paused at its owner, which sets it up. */
  async newTab(contextId: string | undefined): Promise<string> {
    const params: Record<string, unknown> = { url: 'about:blank' };
    if (contextId !== undefined) params.browserContextId = contextId;
    const { targetId } = await this.connection.browser.send<{ targetId: string }>('Target.createTarget', params);
    return targetId;
  }

  /** Closes a tab (no error when it is gone already). */
  closeTab(targetId: string): Promise<void> {
    return this.connection.browser.sendQuietly('Target.closeTarget', { targetId });
  }

  private attached(event: AttachedEvent): void {
    const { targetInfo } = event;
    const owner = targetInfo.type === 'page' ? (this.owners.get(targetInfo.browserContextId ?? DEFAULT_CONTEXT) ?? this.owners.get(DEFAULT_CONTEXT)) : undefined;
    if (!owner) {
      void release(this.connection.session(event.sessionId), this.connection.browser);
      return;
    }
    this.ownerOf.set(targetInfo.targetId, owner);
    owner.injection.adoptPage(event.sessionId, targetInfo, event.waitingForDebugger).catch(() => release(this.connection.session(event.sessionId), this.connection.browser));
  }

  private gone(targetId: string, crashed: boolean, detail: string): void {
    const owner = this.ownerOf.get(targetId);
    if (!owner) return;
    if (!crashed) this.ownerOf.delete(targetId);
    owner.injection.forget(targetId);
    owner.events.gone(targetId, crashed, detail);
  }
}
