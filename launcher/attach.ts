/**
 * pagecall inside a Playwright context the user already drives (logged in, mid-flow): the same
 * script as the launcher's, added as an init script for what loads next and run now in the pages
 * and frames already open, with the same frame rules. Playwright stays attached as the user had it,
 * so its debugger tax applies here (docs/launcher.md).
 */
import type { BrowserContext, Frame, Page } from 'playwright-core';
import type { Bridge } from '../bridge/bridge.js';
import { DEFAULT_GROUP } from '../bridge/config.js';
import { frameRule, type FramesOption } from './frame-rule.js';
import { pageKeyFor } from './page-key.js';
import { loadHooks, pageScript, type PageScriptOptions, type ScriptsOption } from './page-script.js';

/** Options of attach(). */
export interface AttachOptions {
  /** Group the pages join (default `default`). */
  group?: string;
  /** Hook scripts, as launch() takes them. */
  scripts?: ScriptsOption;
  /** Which frames join besides top documents (default `top`). */
  frames?: FramesOption;
  /** A bridge in this process (gives its URL and page key). */
  bridge?: Bridge;
  /** URL of a bridge running elsewhere. */
  bridgeUrl?: string;
  /** Page key (default: the key for the group of `bridge`, else PAGECALL_PAGE_KEY, else the one the bridge at `bridgeUrl` hands out). */
  key?: string;
  /** Bridge token, when it requires one: used to ask a bridge elsewhere for the page key, never put into pages. */
  token?: string;
}

/** What attach() returns. */
export interface Attached {
  /** Stops injecting into new documents and disconnects the clients of the pages open now. */
  stop(): Promise<void>;
}

const DISCONNECT = `(() => { const api = globalThis[Symbol.for('pagecall')]; if (api && typeof api.disconnect === 'function') api.disconnect(); })()`;

function isPage(target: BrowserContext | Page): target is Page {
  return typeof (target as Page).mainFrame === 'function';
}

/** Every frame of the pages open now (frames of closed pages and detached frames are skipped quietly). */
async function eachFrame(pages: readonly Page[], run: (frame: Frame) => Promise<unknown>): Promise<void> {
  await Promise.all(pages.flatMap((page) => page.frames().map((frame) => run(frame).catch(() => undefined))));
}

/** Adds pagecall and the hooks to a Playwright BrowserContext or Page: for what loads next, and now in what is open. */
export async function attach(target: BrowserContext | Page, options: AttachOptions): Promise<Attached> {
  const bridgeUrl = options.bridgeUrl ?? options.bridge?.url;
  if (!bridgeUrl) throw new TypeError('attach: pass bridge (a bridge in this process) or bridgeUrl');
  const hooks = await loadHooks(options.scripts);
  const settings: PageScriptOptions = { bridgeUrl, group: options.group ?? DEFAULT_GROUP, frames: frameRule(options.frames), hooks };
  const group = settings.group;
  settings.key = options.key ?? (options.bridge ? options.bridge.groupKey(group) : await pageKeyFor(bridgeUrl, group, options.token));
  const script = pageScript(settings);

  const added = await target.addInitScript({ content: script });
  const pages = (): Page[] => (isPage(target) ? [target] : target.pages());
  // Each realm's own check decides whether it joins, as in a fresh document.
  await eachFrame(pages(), (frame) => frame.evaluate(script));
  let stopped = false;
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      await added.dispose();
      await eachFrame(pages(), (frame) => frame.evaluate(DISCONNECT));
    },
  };
}
