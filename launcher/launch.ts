/**
 * The launcher: starts Chromium (or attaches to a running Chrome), puts the pagecall client and
 * the user's hook scripts into every page before the page's own scripts (every navigation, reload
 * and popup), keeps a pool of tabs on the target URLs, and resolves only when every tab is
 * callable. It drives the browser over raw CDP and keeps nothing on that costs the page's socket
 * (docs/launcher.md: the debugger tax); CSP is bypassed and Local Network Access checks are off.
 */
import type { Browser as PlaywrightBrowser } from 'playwright-core';
import { startBridge, type Bridge, type StartOptions } from '../bridge/bridge.js';
import { DEFAULT_GROUP } from '../bridge/config.js';
import type { ClientInfo } from '../bridge/page-client.js';
import { BrowserHost } from './browser-host.js';
import { CdpConnection } from './cdp/connection.js';
import { browserWebSocketUrl, webSocketTransport } from './cdp/transports.js';
import { startChromium, type ChromiumProcess } from './chromium.js';
import { findBrowser } from './find-browser.js';
import { frameRule, type FramesOption } from './frame-rule.js';
import { ContextInjection } from './injection.js';
import { pageKeyFor } from './page-key.js';
import { actionsNamedIn, loadHooks, type ScriptsOption } from './page-script.js';
import { bridgeSource, clientsOfTab, httpSource, waitUntilReady, type ClientSource } from './readiness.js';
import { TabPool, type LaunchedTab, type TabEvent } from './tab-pool.js';

export { LNA_DISABLE_FLAG, BrowserStartError } from './chromium.js';
export { FrameRuleError, type FramesOption } from './frame-rule.js';
export { HookScriptError, type ScriptsOption } from './page-script.js';
export { LaunchError } from './readiness.js';
export { NavigationError, type LaunchedTab, type TabEvent } from './tab-pool.js';
export { attach, type AttachOptions, type Attached } from './attach.js';

/** How long launch() waits for every tab to be callable, by default. */
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** Options of launch(). */
export interface LaunchOptions {
  /** Pages to open; each gets `tabs` tabs. */
  urls: string[];
  /** Group the pages join (default `default`). */
  group?: string;
  /** Hook scripts run after the client and before page scripts, in every realm that joins: file paths, or `{content, name?}`. */
  scripts?: ScriptsOption;
  /** A bridge running in this process: pages get its page key, and readiness reads its list directly. */
  bridge?: Bridge;
  /** URL of a bridge running elsewhere to join (with `key`, and `token` when it needs one). */
  bridgeUrl?: string;
  /** Options for the bridge started here when neither `bridge` nor `bridgeUrl` is given. */
  bridgeOptions?: StartOptions;
  /** Bridge token (for a bridge running elsewhere; a bridge started here uses bridgeOptions.token). Used to ask the bridge for the page key and to watch readiness; never put into pages. */
  token?: string;
  /**
   * The key the pages show (a group key or the page key). Default: the key for `group` of the bridge
   * in this process, else PAGECALL_PAGE_KEY, else the one the bridge at `bridgeUrl` hands out
   * (GET /v1/page-key, with `token`).
   */
  key?: string;
  /** Tabs per URL, replaced when they crash or close (default 1). */
  tabs?: number;
  /** Which frames join besides each tab's top document: `top` (default), `all`, a URL glob, `/regex/` or a RegExp. */
  frames?: FramesOption;
  /** Inject into the dedicated workers of the tabs too (clients with context `worker`). */
  workers?: boolean;
  /** Actions every tab must offer before launch() resolves (default: the names the hooks pass literally to pagecall.register/expose). */
  waitFor?: string[];
  /** How long to wait for every tab to be callable (default 30 s). */
  readyTimeoutMs?: number;
  /** Show the browser window (default false). */
  headful?: boolean;
  /** Browser executable; found automatically when absent. */
  browserPath?: string;
  /** Extra browser flags (after those in PAGECALL_BROWSER_ARGS). */
  args?: string[];
  /** Proxy for the browser's traffic (`http://host:port`, `socks5://host:port`); the bridge on loopback is reached directly. */
  proxy?: string;
  /** A persistent profile directory (logged-in sessions kept between runs); a temporary one otherwise. */
  userDataDir?: string;
  /** Also open a DevTools port on 127.0.0.1 (0: any free port), for Playwright or DevTools of your own: see `browser.playwright()`. */
  remoteDebuggingPort?: number;
  /** Open the tabs in a browser another launch started (in a context of their own). */
  browser?: LaunchedBrowser;
  /** Attach to a running Chrome's DevTools endpoint (`http://127.0.0.1:9222`) instead of starting one: its open tabs get pagecall too. */
  cdpUrl?: string;
  /** Bypass the pages' Content-Security-Policy (default true). */
  bypassCSP?: boolean;
  /** Told about tabs after start: failed navigations being retried, recoveries, replaced tabs. */
  onEvent?: (event: TabEvent) => void;
}

/** A browser the launcher drives. */
export class LaunchedBrowser {
  /** Resolves when the browser is gone: its process exited (a headful window closed) or, attached over CDP, the connection closed. */
  readonly exited: Promise<void>;

  /** @internal */
  constructor(
    /** @internal */
    readonly host: BrowserHost,
    private readonly process: ChromiumProcess | undefined,
  ) {
    this.exited = process ? process.exited : new Promise<void>((resolve) => (host.connection.onclose = () => resolve()));
  }

  /** The browser's PID (undefined when attached over CDP). */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** The profile directory (undefined when attached over CDP). */
  get userDataDir(): string | undefined {
    return this.process?.userDataDir;
  }

  /** `http://127.0.0.1:PORT` when started with `remoteDebuggingPort`. */
  get endpoint(): string | undefined {
    return this.process?.endpoint;
  }

  /**
   * Connects Playwright to this browser (needs `remoteDebuggingPort`). While connected, Playwright's
   * session costs the pages' sockets about half their throughput (it turns on network events for
   * every tab); `close()` the returned Browser to disconnect and stop paying.
   */
  async playwright(): Promise<PlaywrightBrowser> {
    if (!this.endpoint) throw new Error('launch with remoteDebuggingPort (pagecall open --remote-debugging-port 0) to connect Playwright');
    const { chromium } = await import('playwright-core');
    return chromium.connectOverCDP(this.endpoint);
  }

  /** @internal Stops the browser process (or disconnects from a browser we attached to). */
  async close(): Promise<void> {
    if (this.process) await this.process.close();
    else this.host.connection.close();
  }
}

/** A running launch. */
export interface Launched {
  /** The bridge started by this launch, if any. */
  bridge: Bridge | null;
  /** Base URL of the bridge the pages connect to. */
  bridgeUrl: string;
  /** The browser (pass it as `browser` to open more tabs in it). */
  browser: LaunchedBrowser;
  /** The current pool of tabs (replaced tabs appear here). */
  tabs(): LaunchedTab[];
  /** The bridge's clients that belong to this launch's tabs (their top documents, frames and workers). */
  clients(): Promise<ClientInfo[]>;
  /** Closes the tabs, the browser (when this launch started it; never a browser attached over CDP) and the bridge started here. */
  close(): Promise<void>;
}

/**
 * Browser flags from PAGECALL_BROWSER_ARGS: separated by spaces before each `--` (a flag's value may
 * hold spaces, as in `--host-resolver-rules=MAP site.example 127.0.0.1`).
 */
export function browserArgsFromEnv(env: Record<string, string | undefined>): string[] {
  const text = env.PAGECALL_BROWSER_ARGS?.trim();
  return text ? text.split(/\s+(?=--)/) : [];
}

/** Launches Chromium with pagecall in every tab; resolves when every tab is callable. */
export async function launch(options: LaunchOptions): Promise<Launched> {
  const group = options.group ?? DEFAULT_GROUP;
  const tabsPerUrl = Math.max(1, options.tabs ?? 1);
  const frames = frameRule(options.frames);
  // Checked before a bridge starts, so a wrong --browser, frame rule or hook fails fast, with nothing to undo.
  const executablePath = options.browser || options.cdpUrl ? undefined : findBrowser(options.browserPath).path;
  const hooks = await loadHooks(options.scripts);
  const expected = options.waitFor ?? actionsNamedIn(hooks);

  const started = options.bridge || options.bridgeUrl ? null : await startBridge({ port: 0, ...options.bridgeOptions });
  const inProcess = options.bridge ?? started;
  const bridgeUrl = options.bridgeUrl ?? inProcess!.url;
  const token = options.token ?? inProcess?.config.token;
  let key: string;
  try {
    key = options.key ?? (inProcess ? inProcess.groupKey(group) : await pageKeyFor(bridgeUrl, group, token));
  } catch (error) {
    await started?.close(0);
    throw error;
  }
  const source: ClientSource = inProcess && !options.bridgeUrl ? bridgeSource(inProcess) : httpSource(bridgeUrl, token);

  let browser: LaunchedBrowser;
  let ownBrowser = false;
  try {
    if (options.browser) {
      browser = options.browser;
    } else if (options.cdpUrl) {
      const connection = new CdpConnection(await webSocketTransport(await browserWebSocketUrl(options.cdpUrl)));
      browser = new LaunchedBrowser(new BrowserHost(connection), undefined);
      ownBrowser = true;
    } else {
      const args = [...browserArgsFromEnv(process.env), ...(options.args ?? [])];
      const chromiumOptions: Parameters<typeof startChromium>[0] = { executablePath: executablePath!, headless: !options.headful, args };
      if (options.userDataDir !== undefined) chromiumOptions.userDataDir = options.userDataDir;
      if (options.proxy !== undefined) chromiumOptions.proxy = options.proxy;
      if (options.remoteDebuggingPort !== undefined) chromiumOptions.remoteDebuggingPort = options.remoteDebuggingPort;
      const chromium = await startChromium(chromiumOptions);
      browser = new LaunchedBrowser(new BrowserHost(chromium.connection), chromium);
      ownBrowser = true;
    }
  } catch (error) {
    await started?.close(0);
    throw error;
  }

  const host = browser.host;
  const injection = new ContextInjection(host.connection, {
    bridgeUrl,
    group,
    // The pages get the key that admits their group, never the token (their sites' scripts share the realm).
    key,
    frames,
    hooks,
    workers: options.workers === true,
    bypassCSP: options.bypassCSP !== false,
    answerDialogs: !options.headful,
  });
  let pool: TabPool | undefined;
  let closed = false;
  let contextId: string | undefined;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    pool?.stop();
    if (ownBrowser && !options.cdpUrl) {
      await browser.close();
    } else {
      await Promise.all((pool?.tabs() ?? []).map((t) => t.close()));
      host.unregister(contextId);
      if (contextId !== undefined) await host.connection.browser.sendQuietly('Target.disposeBrowserContext', { browserContextId: contextId });
      if (options.cdpUrl) await browser.close();
    }
    await started?.close(0);
  };

  try {
    // A second launch in a shared browser gets a context of its own, so its targets are told apart.
    if (options.browser) contextId = await host.newContext();
    pool = new TabPool(host, injection, contextId, options.urls, tabsPerUrl, options.onEvent ?? (() => {}));
    const tabPool = pool;
    host.register(contextId, injection, { gone: (id, crashed, detail) => tabPool.gone(id, crashed, detail) });
    await host.start();
    await pool.open();
    await waitUntilReady({ tabs: () => tabPool.tabs(), expected, group, source, timeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, stopped: () => closed });
    pool.started();
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }

  const tabPool = pool;
  return {
    bridge: started,
    bridgeUrl,
    browser,
    tabs: () => tabPool.tabs(),
    clients: async () => {
      const all = await source.list(group);
      return tabPool.tabs().flatMap((t) => clientsOfTab(all, t.clientId));
    },
    close,
  };
}
