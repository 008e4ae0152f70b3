/** `pagecall serve`: starts the bridge in this process, prints how to use it, stops on SIGINT/SIGTERM. */
import { Command, InvalidArgumentError } from 'commander';
import { startBridge, type Bridge } from '../bridge/bridge.js';
import { ConfigError, DEFAULTS, DEFAULT_GROUP, type BridgeOptions } from '../bridge/config.js';
import { shownServers } from '../bridge/cluster/nats-options.js';
import { loaderSnippet } from '../bridge/injector-script.js';
import { JSRPC_DEFAULT_PORT } from '../bridge/jsrpc/listener.js';
import { addConfigOptions, parseWholeNumber, selfCommand } from './flags.js';
import { exitWhenFlushed, fail, print, printError } from './stdio.js';

/** What `serve` prints once the bridge listens: where it is and how to put a page on it. */
export function banner(bridge: Pick<Bridge, 'url' | 'config' | 'jsrpc'>, group: string, self = selfCommand()): string {
  const url = bridge.url;
  const token = bridge.config.token;
  const auth = token ? ` -H 'authorization: Bearer ${'$PAGECALL_TOKEN'}'` : '';
  return [
    '',
    `pagecall bridge ready on ${url}`,
    `  dashboard:  ${url}/${token ? '  (it asks for the token)' : ''}`,
    `  load into a page (DevTools console):`,
    `    ${loaderSnippet(url, group, token ? '<token>' : undefined)}`,
    `  or paste the whole injector:  ${self} injector --group ${group} --url ${url} | your-clipboard-tool`,
    `  then in the page:  pagecall.register('name', (...args) => result)`,
    `  call it:  curl -s ${url}/v1/call -H 'content-type: application/json'${auth} -d '{"group":"${group}","action":"name","args":[]}'`,
    `  pages:    curl -s ${url}/v1/clients${auth}`,
    ...jsrpcLines(bridge, group, auth),
    ...(bridge.config.nats.length > 0
      ? [`  cluster:  node ${bridge.config.node} joining over NATS at ${shownServers(bridge.config).join(', ')} (pages of every node answer calls here; curl -s ${url}/v1/cluster${auth})`]
      : []),
    '',
  ].join('\n');
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

/** The `serve` command. */
export function serveCommand(): Command {
  return addConfigOptions(
    new Command('serve')
      .description('start the bridge; pages connect to it, callers use its HTTP API')
      .option('-g, --group <name>', 'group shown in the printed snippet', DEFAULT_GROUP)
      .option('--jsrpc [port]', `also speak JsRpc's protocol on this port, default ${JSRPC_DEFAULT_PORT}: its scrapers and page snippets work against pagecall`, parseJsrpcPort),
  ).action(async (flags: BridgeOptions & { group: string; jsrpc?: number | true }) => {
    const { group, jsrpc, ...options } = flags;
    const jsrpcPort = jsrpc === true ? JSRPC_DEFAULT_PORT : jsrpc;
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
    print(banner(bridge, group));
  });
}
