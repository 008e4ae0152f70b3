/**
 * `pagecall open`: Chromium with pagecall injected, joined to the bridge already running on the
 * configured port (found by its /health) or to one started here; prints ready only once every tab
 * is callable, and fails with the browser's error when a page cannot be opened.
 */
import { Command } from 'commander';
import { ConfigError, DEFAULT_GROUP, OPTION_DOCS, resolveConfig, type BridgeOptions } from '../bridge/config.js';
import type { LaunchOptions, TabEvent } from '../launcher/launch.js';
import { findBrowser } from '../launcher/find-browser.js';
import { frameRule } from '../launcher/frame-rule.js';
import { loadHooks } from '../launcher/page-script.js';
import { probeBridge, type ProbeResult } from '../launcher/running-bridge.js';
import { addConfigOptions, parseWholeNumber, withToken } from './flags.js';
import { printable } from './remote.js';
import { exitWhenFlushed, fail, print, printError } from './stdio.js';

/** The flags of `pagecall open` as commander parses them: the bridge's own (as `serve` takes them) and the launcher's. */
export interface OpenFlags extends BridgeOptions {
  group: string;
  script: string[];
  bridge?: string;
  key?: string;
  tabs: number;
  frames?: string;
  workers?: boolean;
  waitFor?: string[];
  readyTimeoutMs?: number;
  headful?: boolean;
  browser?: string;
  browserArg: string[];
  proxy?: string;
  userDataDir?: string;
  remoteDebuggingPort?: number;
  cdp?: string;
  bypassCsp: boolean;
}

/** Where the pages' bridge comes from: a URL to join, or options to start one with. */
export type BridgeChoice = { join: string } | { start: BridgeOptions };

/** The bridge settings among the flags (those `serve` takes). */
export function bridgeFlags(flags: OpenFlags): BridgeOptions {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(OPTION_DOCS)) {
    const value = (flags as unknown as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out as BridgeOptions;
}

/**
 * The launch() options for `pagecall open <urls…>`: the token as withToken() resolved it (with a
 * running bridge it is only used to ask for the page key and to watch readiness; pages never get
 * it); the page key from --key, else launch() finds it ($PAGECALL_PAGE_KEY, or the bridge hands it out).
 */
export function launchOptionsFrom(urls: string[], flags: OpenFlags, choice: BridgeChoice, env: NodeJS.ProcessEnv = process.env): LaunchOptions {
  const token = flags.token ?? env.PAGECALL_TOKEN;
  const options: LaunchOptions = { urls, group: flags.group, scripts: flags.script, tabs: flags.tabs, headful: flags.headful === true, bypassCSP: flags.bypassCsp, workers: flags.workers === true };
  if ('join' in choice) {
    options.bridgeUrl = choice.join;
    if (token) options.token = token;
    if (flags.key) options.key = flags.key;
  } else {
    options.bridgeOptions = { ...choice.start, env, ...(token ? { token } : {}) };
  }
  if (flags.frames !== undefined) options.frames = flags.frames;
  if (flags.waitFor !== undefined) options.waitFor = flags.waitFor;
  if (flags.readyTimeoutMs !== undefined) options.readyTimeoutMs = flags.readyTimeoutMs;
  if (flags.browser) options.browserPath = flags.browser;
  if (flags.browserArg.length) options.args = flags.browserArg;
  if (flags.proxy) options.proxy = flags.proxy;
  if (flags.userDataDir) options.userDataDir = flags.userDataDir;
  if (flags.remoteDebuggingPort !== undefined) options.remoteDebuggingPort = flags.remoteDebuggingPort;
  if (flags.cdp) options.cdpUrl = flags.cdp;
  return options;
}

/**
 * Joins --bridge when given; else the bridge answering on the configured host and port when it is
 * pagecall's; else starts one there. Throws ConfigError for bad settings or a port held by something else.
 */
export async function chooseBridge(flags: OpenFlags, env: NodeJS.ProcessEnv, probe: (url: string) => Promise<ProbeResult> = probeBridge): Promise<{ choice: BridgeChoice; said: string }> {
  if (flags.bridge) return { choice: { join: flags.bridge }, said: `joining the bridge at ${flags.bridge}` };
  const settings = bridgeFlags(flags);
  const token = flags.token ?? env.PAGECALL_TOKEN;
  // Validates the settings as `serve` would, and gives the host and port a bridge would be on.
  const config = resolveConfig({ ...settings, ...(token ? { token } : {}) }, env);
  if (config.port === 0) return { choice: { start: settings }, said: 'starting a bridge' };
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${config.port}`;
  const found = await probe(url);
  if (found.kind === 'pagecall') {
    if (found.health.tokenRequired && !token) throw new ConfigError(`the bridge at ${url} requires a token: pass --token or set PAGECALL_TOKEN`);
    const ignored = Object.keys(settings).filter((k) => k !== 'port' && k !== 'host' && k !== 'token');
    const note = ignored.length ? ` (it keeps its own settings: ${ignored.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} ignored)` : '';
    return { choice: { join: url }, said: `joining the pagecall ${found.health.version} bridge already running at ${url}${note}` };
  }
  if (found.kind === 'other') throw new ConfigError(`port ${config.port} is in use by something that is not a pagecall bridge (${found.detail}); pick another with --port, or name a bridge with --bridge`);
  return { choice: { start: settings }, said: `starting a bridge on ${url}` };
}

/** A tab event as printed on stderr. */
export function describeTabEvent(event: TabEvent): string {
  switch (event.type) {
    case 'navigation-failed':
      return `tab ${event.tab}: cannot open ${event.url}: ${event.error}; retrying in ${(event.retryInMs / 1000).toFixed(1)} s`;
    case 'recovered':
      return `tab ${event.tab}: ${event.url} loads again`;
    case 'replaced':
      return `tab ${event.tab}: ${event.reason}; opening a new tab on ${event.url}`;
  }
}

/** Errors that are the user's to fix: printed as one line, exit 2. */
const USAGE_ERRORS = new Set(['BrowserNotFoundError', 'HookScriptError', 'ConfigError', 'FrameRuleError', 'PageKeyError']);
/** Errors of the launch itself (a page that cannot load, tabs not ready, a browser that would not start): exit 1. */
const LAUNCH_ERRORS = new Set(['LaunchError', 'BrowserStartError', 'NavigationError']);

const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

/** The `open` command. */
export function openCommand(): Command {
  const command = new Command('open')
    .description('launch Chromium with pagecall injected before page scripts (survives reloads, bypasses CSP and Local Network Access); ready once every tab is callable')
    .argument('<url...>', 'pages to open')
    .option('-g, --group <name>', 'group the pages join', DEFAULT_GROUP)
    .option('-s, --script <file>', 'hook script run before page scripts in every realm that joins (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('-b, --bridge <url>', 'join this running bridge (default: the pagecall bridge on --host/--port if one answers there, else one started here)')
    .option('-k, --key <key>', 'the key the pages show (default: $PAGECALL_PAGE_KEY, else the bridge hands out the key of --group)')
    .option('--tabs <n>', 'tabs per URL; crashed or closed tabs are replaced', parseWholeNumber, 1)
    .option('--frames <rule>', "frames that join besides each tab's top document: top, all, a URL glob (* is any run of characters) or /regex/", 'top')
    .option('--workers', "inject into the tabs' dedicated workers too (their functions are called like a page's)")
    .option('--wait-for <a,b>', 'actions every tab must offer before ready (default: the names the hooks pass to pagecall.register/expose)', list)
    .option('--ready-timeout-ms <n>', 'how long to wait for every tab to be callable', parseWholeNumber)
    .option('--headful', 'show the browser window')
    .option('--browser <path>', "browser executable [env PAGECALL_BROWSER]; else Playwright's Chromium, then chromium, google-chrome, chrome, msedge… on PATH, then the usual install locations")
    .option('--browser-arg <flag>', 'extra browser flag, e.g. --browser-arg=--lang=de (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--proxy <url>', "the browser's proxy (http://host:port, socks5://host:port); the bridge on loopback is reached directly")
    .option('--user-data-dir <dir>', 'a persistent browser profile (stay logged in between runs); default: a temporary one')
    .option('--remote-debugging-port <n>', 'also open a DevTools port on 127.0.0.1 for your own tools (0: any); an attached Playwright costs the tabs about half their throughput', parseWholeNumber)
    .option('--cdp <endpoint>', 'attach to a running Chrome (started with --remote-debugging-port and its own --user-data-dir) instead of starting one')
    .option('--no-bypass-csp', "keep the pages' Content-Security-Policy");
  return addConfigOptions(command)
    .addHelpText(
      'after',
      `
Without --bridge, open joins the pagecall bridge already running on --host/--port (the default
port, or PAGECALL_PORT) and says so; otherwise it starts one there with the bridge flags above.
It prints "ready" once every tab offers what its hooks register (or --wait-for), and exits 1 with
the browser's error when a page cannot be opened or a tab is not ready in time.

Examples:
  pagecall open https://site.example/ --script hooks.js
  pagecall open https://site.example/ --script hooks.js --frames 'https://player.site.example/*'
  pagecall open https://site.example/ --script hooks.js --workers --wait-for decode
  pagecall open https://site.example/ --user-data-dir ~/.pagecall-profile --headful`,
    )
    .action(async (urls: string[], given: OpenFlags) => {
      // Loaded here: the other commands do not need the launcher.
      const { launch } = await import('../launcher/launch.js');
      let launched;
      let flags = given;
      try {
        flags = withToken(given, process.env, printError);
        // What is wrong locally is said first, before a bridge is looked for or started.
        if (!flags.cdp) findBrowser(flags.browser);
        frameRule(flags.frames);
        await loadHooks(flags.script);
        const chosen = await chooseBridge(flags, process.env);
        printError(`pagecall: ${chosen.said}\n`);
        const options = launchOptionsFrom(urls, flags, chosen.choice);
        options.onEvent = (event) => printError(`pagecall: ${printable(describeTabEvent(event))}\n`);
        launched = await launch(options);
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        if (USAGE_ERRORS.has(e.name)) return fail(e.message);
        if (LAUNCH_ERRORS.has(e.name)) {
          printError(`pagecall: ${printable(e.message)}\n`);
          return exitWhenFlushed(1);
        }
        if (e.code === 'EADDRINUSE') return fail(`port ${flags.port} is in use; pick another with --port, or join the bridge there with --bridge`);
        throw error;
      }
      const tabs = launched.tabs();
      const clients = await launched.clients().catch(() => []);
      const offered = [...new Set(clients.flatMap((c) => c.actions))].sort();
      print(`pagecall: ready: ${tabs.length} tab(s) in group ${flags.group} on ${launched.bridgeUrl}${launched.bridge ? ' (bridge started here)' : ''}; functions: ${offered.map(printable).join(', ') || '(none registered)'}\n`);
      for (const tab of tabs) print(`  tab ${tab.index}  ${tab.clientId}  ${printable(tab.url)}\n`);
      const auth = flags.token !== undefined ? ' -H "authorization: Bearer $PAGECALL_TOKEN"' : '';
      print(`  call:  curl -s ${launched.bridgeUrl}/v1/call -H 'content-type: application/json'${auth} -d '{"group":"${flags.group}","action":"${offered[0] ? printable(offered[0]) : 'name'}","args":[]}'\n`);
      let stopping = false;
      const stop = (): void => {
        if (stopping) return;
        stopping = true;
        launched.close().then(
          () => exitWhenFlushed(0),
          () => exitWhenFlushed(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      // Closing a headful window (or a Chrome attached over CDP going away) ends the command too.
      void launched.browser.exited.then(() => {
        if (stopping) return;
        printError('pagecall: the browser closed\n');
        stop();
      });
    });
}
