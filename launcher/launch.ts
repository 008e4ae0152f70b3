/**
 * The Playwright launcher: starts (or attaches to) Chromium, injects the pagecall client and the
 * user's hook scripts before any page script runs, in every navigation and frame, and keeps a pool
 * of tabs on the target URLs. Where a pasted snippet fails it gets through: the page's CSP is
 * bypassed and Chrome's Local Network Access checks are switched off for this browser.
 */
import { readFile } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startBridge, type Bridge, type StartOptions } from '../bridge/bridge.js';
import { DEFAULT_GROUP } from '../bridge/config.js';
import { injectorScript } from '../bridge/injector-script.js';
import { defaultBrowserArgs, findBrowser } from './find-browser.js';
import { fetchGroupKey } from './page-key.js';

/** Chrome features that block a public page from reaching 127.0.0.1 (see docs/browser-obstacles.md). */
export const LNA_DISABLE_FLAG = '--disable-features=LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets';

/** Options of launch(). */
export interface LaunchOptions {
  /** Pages to open; each gets `tabs` tabs. */
  urls: string[];
  /** Group the pages join (default `default`). */
  group?: string;
  /** Hook scripts run after the client and before page scripts: file paths, or `{content}`. */
  scripts?: Array<string | { content: string }>;
  /** URL of a running bridge to join; without it a bridge is started in this process. */
  bridgeUrl?: string;
  /** Options for the bridge started here (ignored with bridgeUrl). */
  bridgeOptions?: StartOptions;
  /** Bridge token (for a running bridge; a started one uses bridgeOptions.token). Used to ask the bridge for the page key; never put into pages. */
  token?: string;
  /**
   * The key the pages show (a group key or the page key). Default: the started bridge's key for
   * `group`, or the one the running bridge at `bridgeUrl` hands out (GET /v1/page-key, with `token`).
   */
  key?: string;
  /** Tabs per URL, replaced when they crash or close (default 1). */
  tabs?: number;
  /** Show the browser window (default false). */
  headful?: boolean;
  /** Browser executable; found automatically when absent. */
  browserPath?: string;
  /** Reuse a browser this process already launched (a new context is made in it). */
  browser?: Browser;
  /** Attach to a running Chrome over CDP (`http://127.0.0.1:9222`) instead of launching one. */
  cdpUrl?: string;
  /** Extra browser flags. */
  args?: string[];
  /** Bypass the pages' Content-Security-Policy (default true). */
  bypassCSP?: boolean;
}

/** A running launch. */
export interface Launched {
  /** The bridge started by this launch, if any. */
  bridge: Bridge | null;
  /** Base URL of the bridge the pages connect to. */
  bridgeUrl: string;
  browser: Browser;
  context: BrowserContext;
  /** The current pool of tabs (replaced tabs appear here). */
  pages(): Page[];
  /** Closes tabs, the browser (unless attached over CDP) and the bridge started here. */
  close(): Promise<void>;
}

/** Raised when a hook script file cannot be read; the message names the file. */
export class HookScriptError extends Error {
  override readonly name = 'HookScriptError';
}

async function loadScripts(scripts: LaunchOptions['scripts']): Promise<string[]> {
  return Promise.all(
    (scripts ?? []).map(async (s) => {
      if (typeof s !== 'string') return s.content;
      try {
        return await readFile(s, 'utf8');
      } catch (error) {
        throw new HookScriptError(`cannot read hook script ${s}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }),
  );
}

/** Launches Chromium with pagecall injected into every page. */
export async function launch(options: LaunchOptions): Promise<Launched> {
  const group = options.group ?? DEFAULT_GROUP;
  const tabsPerUrl = Math.max(1, options.tabs ?? 1);
  const bypassCSP = options.bypassCSP !== false;
  // Checked before a bridge starts, so a wrong --browser or PAGECALL_BROWSER fails fast, with nothing to undo.
  const executablePath = options.browser || options.cdpUrl ? undefined : findBrowser(options.browserPath).path;
  const hooks = await loadScripts(options.scripts);
  const bridge = options.bridgeUrl ? null : await startBridge({ port: 0, ...options.bridgeOptions });
  const bridgeUrl = options.bridgeUrl ?? bridge!.url;
  let key: string;
  try {
    key = options.key ?? (bridge ? bridge.groupKey(group) : await fetchGroupKey(bridgeUrl, group, options.token));
  } catch (error) {
    await bridge?.close(0);
    throw error;
  }
  // The pages get the key that admits their group, never the token (their sites' scripts share the realm).
  const client = injectorScript({ bridgeUrl, group, key });

  let browser: Browser;
  let context: BrowserContext;
  let attached = false;
  let ownBrowser = true;
  try {
    if (options.browser) {
      browser = options.browser;
      ownBrowser = false;
      context = await browser.newContext({ bypassCSP, viewport: null });
    } else if (options.cdpUrl) {
      browser = await chromium.connectOverCDP(options.cdpUrl);
      attached = true;
      context = browser.contexts()[0] ?? (await browser.newContext({ bypassCSP }));
    } else {
      browser = await chromium.launch({
        executablePath,
        headless: !options.headful,
        args: [...defaultBrowserArgs(), LNA_DISABLE_FLAG, ...(options.args ?? [])],
      });
      context = await browser.newContext({ bypassCSP, viewport: null });
    }
  } catch (error) {
    await bridge?.close(0);
    throw error;
  }

  // Each script is its own init script so a syntax error in a hook cannot stop the client.
  await context.addInitScript({ content: client });
  for (const hook of hooks) await context.addInitScript({ content: `try {\n${hook}\n} catch (e) { console.error('pagecall: hook script failed:', e); }` });

  if (attached) {
    // Pages that were open before we attached missed the init scripts: run them there now, and let
    // CSP bypass apply from their next navigation.
    for (const page of context.pages()) {
      await page.evaluate(client).catch(() => {});
      for (const hook of hooks) await page.evaluate(hook).catch(() => {});
    }
  }

  const pool = new Set<Page>();
  let closing = false;
  const open = async (url: string): Promise<void> => {
    const page = await context.newPage();
    pool.add(page);
    const replace = (): void => {
      if (!pool.delete(page) || closing) return;
      if (!page.isClosed()) page.close().catch(() => {});
      open(url).catch(() => {});
    };
    page.once('close', replace);
    page.once('crash', replace);
    await page.goto(url).catch(() => {});
  };
  await Promise.all(options.urls.flatMap((url) => Array.from({ length: tabsPerUrl }, () => open(url))));

  return {
    bridge,
    bridgeUrl,
    browser,
    context,
    pages: () => [...pool],
    close: async () => {
      closing = true;
      if (attached) await Promise.all([...pool].map((p) => p.close().catch(() => {})));
      else if (!ownBrowser) await context.close().catch(() => {});
      else await browser.close().catch(() => {});
      await bridge?.close(0);
    },
  };
}
