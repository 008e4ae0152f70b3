/** `pagecall serve`: starts the bridge in this process, prints how to use it, stops on SIGINT/SIGTERM. */
import { Command } from 'commander';
import { startBridge, type Bridge } from '../bridge/bridge.js';
import { ConfigError, DEFAULTS, DEFAULT_GROUP, type BridgeOptions } from '../bridge/config.js';
import { shownServers } from '../bridge/cluster/nats-options.js';
import { loaderSnippet } from '../bridge/injector-script.js';
import { addConfigOptions, selfCommand } from './flags.js';
import { exitWhenFlushed, fail, print, printError } from './stdio.js';

/** What `serve` prints once the bridge listens: where it is and how to put a page on it. */
export function banner(bridge: Pick<Bridge, 'url' | 'config'>, group: string, self = selfCommand()): string {
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
    ...(bridge.config.nats.length > 0
      ? [`  cluster:  node ${bridge.config.node} joining over NATS at ${shownServers(bridge.config).join(', ')} (pages of every node answer calls here; curl -s ${url}/v1/cluster${auth})`]
      : []),
    '',
  ].join('\n');
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
      .option('-g, --group <name>', 'group shown in the printed snippet', DEFAULT_GROUP),
  ).action(async (flags: BridgeOptions & { group: string }) => {
    const { group, ...options } = flags;
    let bridge: Bridge;
    try {
      bridge = await startBridge({ ...options, env: process.env });
    } catch (error) {
      if (error instanceof ConfigError) return fail(error.message);
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return fail(`port ${options.port ?? DEFAULTS.port} is in use; pick another with --port`);
      throw error;
    }
    stopOnSignals(bridge);
    print(banner(bridge, group));
  });
}
