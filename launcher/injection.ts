/**
 * Putting pagecall into every page target of a browser context over raw CDP, before the page's own
 * scripts, and then staying out of the way.
 *
 * Every new target is attached paused (`Target.setAutoAttach` with `waitForDebuggerOnStart`), so
 * nothing of the page runs until the script is installed. A page or frame target gets
 * `Page.addScriptToEvaluateOnNewDocument` (run by Chromium at the creation of every document of
 * that target, before any of the document's scripts: every navigation, reload and same-process
 * child frame), `Page.setBypassCSP`, and — only when frames or workers are wanted — auto-attach for
 * its child targets (cross-site frames, dedicated workers). A dedicated worker is paused before its
 * first script (an instrumentation breakpoint), given the script, and let go with the debugger off.
 *
 * What stays on afterwards is `Page.enable` (Chromium runs the new-document scripts only for an
 * enabled page agent): events per navigation and per dialog, none per network request or per
 * WebSocket frame. No Network, Runtime or Debugger domain stays enabled, so the page's own socket to
 * the bridge costs what it costs in a browser without a debugger (the bench measures it).
 */
import { customAlphabet } from 'nanoid';
import { CdpError, type CdpConnection, type CdpSession } from './cdp/connection.js';
import type { FrameRule } from './frame-rule.js';
import { pageScript, type HookSource, type PageScriptOptions } from './page-script.js';

/** What to inject and where. */
export interface InjectionSettings {
  bridgeUrl: string;
  group: string;
  key?: string;
  frames: FrameRule;
  hooks: readonly HookSource[];
  /** Inject into dedicated workers too. */
  workers: boolean;
  bypassCSP: boolean;
  /**
   * Answer JavaScript dialogs the way a headless browser without a debugger does (alert and
   * beforeunload accepted, confirm and prompt dismissed): an enabled page agent would otherwise
   * leave the page blocked on them. Off for a headful browser, where the user answers.
   */
  answerDialogs: boolean;
}

/** CDP's description of a target. */
export interface TargetInfo {
  targetId: string;
  type: string;
  url: string;
  title?: string;
  openerId?: string;
  browserContextId?: string;
}

/** A page target set up with pagecall: a tab the launcher opened, a popup, or a tab that was open before. */
export interface PageTarget {
  readonly targetId: string;
  readonly session: CdpSession;
  /** The client id its top document joins with; its frames and workers join as `<id>-f…` / `<id>-w…`. */
  readonly clientId: string;
  readonly info: TargetInfo;
}

const tabIdSuffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 11);
const childIdSuffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 8);
/** How long a new worker may take to reach its first script before it is let go without pagecall. */
const WORKER_PAUSE_MS = 10_000;

/** A client id for a new tab (the bridge's format: 12 of [0-9a-z], starting with `t`). */
export function newTabId(): string {
  return `t${tabIdSuffix()}`;
}

/** Injection into the page targets of one browser context (or of every context, for a browser the user runs). */
export class ContextInjection {
  private readonly pages = new Map<string, PageTarget>();
  private readonly waiters = new Map<string, Array<(page: PageTarget) => void>>();

  constructor(
    readonly connection: CdpConnection,
    readonly settings: InjectionSettings,
  ) {}

  /** The script for a realm of the tab `clientId` (or for a worker given its own id). */
  scriptFor(clientId: PageScriptOptions['clientId']): string {
    const { bridgeUrl, group, key, frames, hooks } = this.settings;
    const options: PageScriptOptions = { bridgeUrl, group, frames, hooks: [...hooks], clientId };
    if (key !== undefined) options.key = key;
    return pageScript(options);
  }

  /** The set-up page target `targetId`, once it is set up. */
  page(targetId: string): Promise<PageTarget> {
    const known = this.pages.get(targetId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => this.waiters.set(targetId, [...(this.waiters.get(targetId) ?? []), resolve]));
  }

  /** Every set-up page target. */
  all(): PageTarget[] {
    return [...this.pages.values()];
  }

  /** Forgets a page target that is gone. */
  forget(targetId: string): void {
    this.pages.delete(targetId);
  }

  /** Sets up a page target the browser attached us to; `waiting` when it is paused before its first script. */
  async adoptPage(sessionId: string, info: TargetInfo, waiting: boolean): Promise<void> {
    const session = this.connection.session(sessionId);
    const clientId = newTabId();
    try {
      await this.setUpDocument(session, clientId, waiting, info);
    } catch (error) {
      // The target went away while being set up (closed at once, crashed): nothing to keep.
      if (error instanceof CdpError) return;
      throw error;
    }
    const page: PageTarget = { targetId: info.targetId, session, clientId, info };
    this.pages.set(info.targetId, page);
    for (const resolve of this.waiters.get(info.targetId) ?? []) resolve(page);
    this.waiters.delete(info.targetId);
  }

  /** Page and frame targets: the script for every new document, CSP bypass, child targets when wanted, then let it run. */
  private async setUpDocument(session: CdpSession, tabId: string, waiting: boolean, info: TargetInfo): Promise<void> {
    const { bypassCSP, workers, frames, answerDialogs } = this.settings;
    const script = this.scriptFor({ tab: tabId });
    if (answerDialogs) {
      session.on('Page.javascriptDialogOpening', (event: { type: string }) => {
        session.sendQuietly('Page.handleJavaScriptDialog', { accept: event.type === 'alert' || event.type === 'beforeunload' });
      });
    }
    const children = workers || frames.frames !== 'top';
    if (frames.frames !== 'top' || info.openerId !== undefined) this.catchReusedWindows(session, script, frames.frames !== 'top');
    if (children) session.on('Target.attachedToTarget', (event: AttachedEvent) => this.adoptChild({ ...event, parentSession: session }, tabId));
    const steps: Array<Promise<unknown>> = [session.send('Page.enable'), session.send('Page.addScriptToEvaluateOnNewDocument', { source: script })];
    if (bypassCSP) steps.push(session.send('Page.setBypassCSP', { enabled: true }));
    if (children) steps.push(session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }));
    await Promise.all(steps);
    // A target that was already running (a tab of a browser we attached to) gets the script now
    // in its current document too; its next documents get it before their own scripts.
    if (!waiting) await session.sendQuietly('Runtime.evaluate', { expression: script });
    await session.send('Runtime.runIfWaitingForDebugger');
  }

  /**
   * A frame whose first document replaces its initial `about:blank` with a same-origin page keeps
   * that `about:blank`'s window (HTML's window reuse), and Chromium runs new-document scripts only
   * when a window is created: such a document (a same-origin iframe, or a popup the page opened on
   * its own origin) would never get pagecall. After each such navigation the script is evaluated in
   * the frame's main world; in a realm that already has pagecall it does nothing. This one comes
   * after the document's first scripts may have run.
   */
  private catchReusedWindows(session: CdpSession, script: string, childFrames: boolean): void {
    let queue = Promise.resolve();
    session.on('Page.frameNavigated', (event: { frame: { id: string; parentId?: string; url: string } }) => {
      const { frame } = event;
      if (frame.parentId !== undefined && !childFrames) return;
      if (!/^(https?|file):/i.test(frame.url)) return;
      queue = queue.then(() => evaluateInFrame(session, frame.id, script)).catch(() => {});
    });
  }

  /** A child target of a tab: a cross-site frame (set up like a page), a dedicated worker, or something we leave alone. */
  private adoptChild(event: AttachedEvent & { parentSession: CdpSession }, tabId: string): void {
    const session = this.connection.session(event.sessionId);
    const { type } = event.targetInfo;
    let work: Promise<void>;
    if (type === 'iframe' && this.settings.frames.frames !== 'top') work = this.setUpDocument(session, tabId, event.waitingForDebugger, event.targetInfo);
    else if (type === 'worker' && this.settings.workers) work = this.setUpWorker(session, `${tabId}-w${childIdSuffix()}`, event.waitingForDebugger);
    else work = release(session, event.parentSession);
    work.catch(() => release(session, event.parentSession));
  }

  /** A dedicated worker: paused before its first script, given pagecall, then let go with the debugger off. */
  private async setUpWorker(session: CdpSession, clientId: string, waiting: boolean): Promise<void> {
    const script = this.scriptFor({ exact: clientId });
    if (!waiting) {
      await session.send('Runtime.evaluate', { expression: script });
      return;
    }
    let onPaused!: () => void;
    const paused = new Promise<void>((resolve) => (onPaused = resolve));
    const off = session.on('Debugger.paused', () => onPaused());
    await session.send('Debugger.enable');
    await session.send('Debugger.setInstrumentationBreakpoint', { instrumentation: 'beforeScriptExecution' });
    await session.send('Runtime.runIfWaitingForDebugger');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([paused.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), WORKER_PAUSE_MS)))]);
    clearTimeout(timer);
    off();
    if (!timedOut) await session.send('Runtime.evaluate', { expression: script });
    // Disabling the debugger resumes the worker and leaves nothing on.
    await session.send('Debugger.disable');
  }
}

/**
 * Evaluates `script` in the main world of frame `frameId`. The context id is only known through
 * Runtime's events: the domain is enabled long enough to hear the existing contexts, then disabled.
 */
async function evaluateInFrame(session: CdpSession, frameId: string, script: string): Promise<void> {
  let contextId: number | undefined;
  const off = session.on('Runtime.executionContextCreated', (event: { context: { id: number; auxData?: { frameId?: string; isDefault?: boolean } } }) => {
    if (event.context.auxData?.frameId === frameId && event.context.auxData.isDefault) contextId = event.context.id;
  });
  try {
    // The existing contexts are reported before enable answers.
    await session.send('Runtime.enable');
  } finally {
    off();
    await session.sendQuietly('Runtime.disable');
  }
  if (contextId !== undefined) await session.send('Runtime.evaluate', { expression: script, contextId });
}

/** `Target.attachedToTarget`'s parameters. */
export interface AttachedEvent {
  sessionId: string;
  targetInfo: TargetInfo;
  waitingForDebugger: boolean;
}

/** Lets a target we do not inject into run, and detaches from it (through the session that attached it). */
export async function release(session: CdpSession, parent: CdpSession): Promise<void> {
  await session.sendQuietly('Runtime.runIfWaitingForDebugger');
  if (session.id !== undefined) {
    await parent.sendQuietly('Target.detachFromTarget', { sessionId: session.id });
    session.connection.forget(session.id);
  }
}
