/** `pagecall serve`: starts the bridge in this process, prints how to use it, stops on SIGINT/SIGTERM. */
import { Command, InvalidArgumentError } from 'commander';
import { startBridge, type Bridge } from '../bridge/bridge.js';
import { ConfigError, DEFAULTS, DEFAULT_GROUP, type BridgeOptions } from '../bridge/config.js';
import { shownServers } from '../bridge/cluster/nats-options.js';
import { loaderSnippet } from '../bridge/injector-script.js';
import { JSRPC_DEFAULT_PORT } from '../bridge/jsrpc/listener.js';
import { TOKEN_FLAG_WARNING, addConfigOptions, parseWholeNumber, selfCommand } from './flags.js';
import { exitWhenFlushed, fail, print, printError } from './stdio.js';
/** Where the token of a started bridge came from, so the printed curl lines work when pasted. */
export type TokenSource = { from: 'environment' } | { from: 'file'; file: string } | { from: 'flag' };

/** A path as one shell word (single quotes; a quote inside becomes '\''). */
function shellWord(text: string): string {
  return /^[\w./:@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * What `serve` prints once the bridge listens: where it is and how to put a page on it. The snippet
 * carries the key of `group` (the terminal is the user's own); the curl lines never carry the token:
 * they read it from $PAGECALL_TOKEN or its file, in double quotes so the shell expands it.
 */
export function banner(bridge: Pick<Bridge, 'url' | 'config' | 'groupKey' | 'jsrpc'>, group: string, self = selfCommand(), token: TokenSource = { from: 'environment' }): string {
  const url = bridge.url;
  const { config } = bridge;
  const open = config.openPages && config.token === undefined;
  const secret = token.from === 'file' ? `$(cat ${shellWord(token.file)})` : '$PAGECALL_TOKEN';
  const auth = config.token ? ` -H "authorization: Bearer ${secret}"` : '';
  const lines = [
    '',
    `pagecall bridge ready on ${url}`,
    open
      ? '  WARNING --open-pages: pages join without the page key; any website open in your browser can join a group'
      : `  pages join with the page key; the snippets below carry the key of group ${group} (${self} key --group <name> prints others)`,
    `  dashboard:  ${url}/${config.token ? '  (it asks for the token)' : ''}`,
    `  load into a page (paste into its DevTools console):`,
    `    ${loaderSnippet(url, group, bridge.groupKey(group))}`,
    `  or paste the whole injector (pages whose CSP forbids loading it):  ${self} injector --group ${group} --url ${url} | your-clipboard-tool`,
    `  then in the page:  pagecall.register('name', (...args) => result)`,
    `  call it:  curl -s ${url}/v1/call -H 'content-type: application/json'${auth} -d '{"group":"${group}","action":"name","args":[]}'`,
    `  pages:    curl -s ${url}/v1/clients${auth}`,
    ...jsrpcLines(bridge, group, auth),
    ...(config.nats.length > 0
      ? [`  cluster:  node ${config.node} joining over NATS at ${shownServers(config).join(', ')} (pages of every node answer calls here; curl -s ${url}/v1/cluster${auth})`]
      : []),
  ];
  if (config.token && token.from === 'flag') lines.push('  (the curl lines read the token from $PAGECALL_TOKEN: export it, or start with --token-file next time)');
  lines.push('');
  return lines.join('\n');
}

/** The banner's part for the JsRpc-compatible listener: the line a JsRpc page snippet changes to. */
function jsrpcLines(bridge: Pick<Bridge, 'jsrpc' | 'config'>, group: string, auth: string): string[] {
  const jsrpc = bridge.jsrpc;
  if (!jsrpc) return [];
  const key = bridge.config.openPages ? '' : ' (the key lets the page in; keep it to yourself)';
  return [
    '',
    `JsRpc-compatible listener on ${jsrpc.url}: scrapers keep calling /go, /execjs, /list ... unchanged`,
    `  in a page with JsRpc's page script loaded, connect with${key}:`,
    `    ${jsrpc.pageSnippet(group)}`,
    `  call it:  curl -s '${jsrpc.url}/go?group=${group}&action=name&param=x'${auth}`,
    `  moving the snippet to the native injector: docs/migrating-from-jsrpc.md`,
  ];
}

/** `--jsrpc [port]`: the flag alone means JsRpc's port. */
function parseJsrpcPort(value: string): number {
  const port = parseWholeNumber(value);
  if (port > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return port;
}

/** Stops the bridge on SIGINT/SIGTERM (a second signal exits at once) and exits when it has stopped. */
function stopOnSignals(bridge: Bridge): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      printError(`pagecall: ${signal} again, exiting now\n`);
      exitWhenFlushed(130);
      return;
    }
    stopping = true;
    bridge.close().then(
      () => exitWhenFlushed(0),
      () => exitWhenFlushed(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Where the token of a bridge started with these flags and this environment came from. */
function tokenSource(options: BridgeOptions, env: NodeJS.ProcessEnv): TokenSource {
  if (options.token !== undefined) return { from: 'flag' };
  if (options.tokenFile !== undefined) return { from: 'file', file: options.tokenFile };
  if (env.PAGECALL_TOKEN === undefined && env.PAGECALL_TOKEN_FILE) return { from: 'file', file: env.PAGECALL_TOKEN_FILE };
  return { from: 'environment' };
}

/** The `serve` command. */
export function serveCommand(): Command {
  return addConfigOptions(
    new Command('serve')
      .description('start the bridge; pages connect to it with its page key, callers use its HTTP API')
      .option('-g, --group <name>', 'group shown in the printed snippet', DEFAULT_GROUP)
      .option('--jsrpc [port]', `also speak JsRpc's protocol on this port, default ${JSRPC_DEFAULT_PORT}: its scrapers and page snippets work against pagecall`, parseJsrpcPort),
  ).action(async (flags: BridgeOptions & { group: string; jsrpc?: number | true }) => {
    const { group, jsrpc, ...options } = flags;
    const jsrpcPort = jsrpc === true ? JSRPC_DEFAULT_PORT : jsrpc;
    if (options.token !== undefined) printError(TOKEN_FLAG_WARNING);
    let bridge: Bridge;
    try {
      bridge = await startBridge({ ...options, env: process.env, ...(jsrpcPort === undefined ? {} : { jsrpc: { port: jsrpcPort } }) });
    } catch (error) {
      if (error instanceof ConfigError) return fail(error.message);
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        const port = (error as { port?: unknown }).port;
        if (jsrpcPort !== undefined && port === jsrpcPort) return fail(`port ${jsrpcPort} (--jsrpc) is in use; is JsRpc still running? Stop it or pick another port: --jsrpc <port>`);
        return fail(`port ${options.port ?? DEFAULTS.port} is in use; pick another with --port`);
      }
      throw error;
    }
    stopOnSignals(bridge);
    let text: string;
    try {
      text = banner(bridge, group, selfCommand(), tokenSource(options, process.env));
    } catch (error) {
      // A --group that is not a group name: the bridge runs, the snippet cannot be made.
      text = `\npagecall bridge ready on ${bridge.url}\n  (no snippet: ${(error as Error).message})\n`;
    }
    print(text);
  });
}
