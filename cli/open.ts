/** `pagecall open`: Chromium with pagecall injected, joined to a running bridge or to one started here. */
import { Command } from 'commander';
import { DEFAULTS, DEFAULT_GROUP } from '../bridge/config.js';
import type { LaunchOptions } from '../launcher/launch.js';
import { TOKEN_FLAG_WARNING, addTokenOptions, parseWholeNumber, withToken } from './flags.js';
import { exitWhenFlushed, fail, print, printError } from './stdio.js';

/** The flags of `pagecall open` as commander parses them. */
export interface OpenFlags {
  group: string;
  script: string[];
  bridge?: string;
  token?: string;
  tokenFile?: string;
  port: number;
  tabs: number;
  headful?: boolean;
  browser?: string;
  cdp?: string;
  bypassCsp: boolean;
}

/**
 * The launch() options for `pagecall open <urls…>`: a token from --token, --token-file,
 * $PAGECALL_TOKEN or $PAGECALL_TOKEN_FILE (with --bridge it is only used to ask that bridge for the
 * page key; pages never get it), a browser from --browser (launch() falls back to $PAGECALL_BROWSER
 * and the search).
 */
export function launchOptionsFrom(urls: string[], flags: OpenFlags, env: NodeJS.ProcessEnv = process.env): LaunchOptions {
  const { token } = withToken(flags, env);
  const options: LaunchOptions = { urls, group: flags.group, scripts: flags.script, tabs: flags.tabs, headful: flags.headful === true, bypassCSP: flags.bypassCsp };
  if (flags.bridge) options.bridgeUrl = flags.bridge;
  else options.bridgeOptions = { port: flags.port, env, ...(token ? { token } : {}) };
  if (token) options.token = token;
  if (flags.browser) options.browserPath = flags.browser;
  if (flags.cdp) options.cdpUrl = flags.cdp;
  return options;
}

/** Errors that are the user's to fix: printed as one line, exit 2. */
const USAGE_ERRORS = new Set(['BrowserNotFoundError', 'HookScriptError', 'ConfigError', 'PageKeyError']);

/** The `open` command. */
export function openCommand(): Command {
  return addTokenOptions(
    new Command('open')
      .description('launch Chromium with pagecall injected before page scripts (survives reloads, bypasses CSP and Local Network Access)')
      .argument('<url...>', 'pages to open')
      .option('-g, --group <name>', 'group the pages join', DEFAULT_GROUP)
      .option('-s, --script <file>', 'hook script run in every page before its own scripts (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
      .option('-b, --bridge <url>', 'join a running bridge instead of starting one in this process (it hands out the page key; pass its token if it has one)')
      .option('-p, --port <n>', 'port of the bridge started here', parseWholeNumber, DEFAULTS.port)
      .option('--tabs <n>', 'tabs per URL; crashed or closed tabs are replaced', parseWholeNumber, 1)
      .option('--headful', 'show the browser window')
      .option('--browser <path>', 'browser executable [env PAGECALL_BROWSER]; else Playwright\'s Chromium, then chromium, google-chrome, chrome, msedge… on PATH, then the usual install locations')
      .option('--cdp <endpoint>', 'attach to a running Chrome (started with --remote-debugging-port and its own --user-data-dir)')
      .option('--no-bypass-csp', "keep the pages' Content-Security-Policy")
  )
    .action(async (urls: string[], flags: OpenFlags) => {
      // Loaded here: the other commands do not need Playwright.
      const { launch } = await import('../launcher/launch.js');
      if (flags.token !== undefined) printError(TOKEN_FLAG_WARNING);
      let launched;
      let options: LaunchOptions;
      try {
        options = launchOptionsFrom(urls, flags);
        launched = await launch(options);
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        if (USAGE_ERRORS.has(e.name)) return fail(e.message);
        if (e.code === 'EADDRINUSE') return fail(`port ${flags.port} is in use; pick another with --port, or join the bridge there with --bridge http://127.0.0.1:${flags.port}`);
        throw error;
      }
      print(`pagecall: ${launched.pages().length} tab(s) open in group ${flags.group}, bridge ${launched.bridgeUrl}\n`);
      const auth = options.token !== undefined ? ' -H "authorization: Bearer $PAGECALL_TOKEN"' : '';
      print(`  call:  curl -s ${launched.bridgeUrl}/v1/call -H 'content-type: application/json'${auth} -d '{"group":"${flags.group}","action":"name","args":[]}'\n`);
      const stop = (): void => {
        launched.close().then(
          () => exitWhenFlushed(0),
          () => exitWhenFlushed(1),
        );
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
