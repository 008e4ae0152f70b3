#!/usr/bin/env node
/** The `pagecall` command. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { startBridge } from '../bridge/bridge.js';
import { callCommand, clientsCommand, defaultBridgeUrl, type Output } from './remote.js';
import { ConfigError, DEFAULTS, OPTION_DOCS, envName, type BridgeOptions } from '../bridge/config.js';
import { injectorScript, loaderSnippet } from '../bridge/injector-script.js';

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function parseInt10(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** Adds one flag per configuration option, documented with its environment variable and default. */
function addConfigOptions(command: Command): Command {
  for (const [key, { kind, help }] of Object.entries(OPTION_DOCS)) {
    const flag = kebab(key);
    const fallback = (DEFAULTS as unknown as Record<string, unknown>)[key];
    const shown = Array.isArray(fallback) ? (fallback.length ? fallback.join(',') : 'none') : fallback;
    const text = `${help} [env ${envName(key)}${shown === undefined ? '' : `, default ${String(shown)}`}]`;
    const option =
      kind === 'bool'
        ? new Option(`--${flag}`, text)
        : new Option(`--${flag} <${kind === 'int' ? 'n' : kind === 'list' ? 'a,b' : 'value'}>`, text);
    if (kind === 'int') option.argParser(parseInt10);
    if (kind === 'list') option.argParser((v: string) => v.split(',').map((s) => s.trim()).filter(Boolean));
    command.addOption(option);
  }
  return command;
}

function fail(message: string): never {
  process.stderr.write(`pagecall: ${message}\n`);
  process.exit(2);
}

const program = new Command('pagecall')
  .description('Call functions that live inside web pages: a local bridge, a page injector and an HTTP API.')
  .showHelpAfterError()
  // Usage errors exit 2, like configuration errors; 1 is for calls that failed.
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));

addConfigOptions(
  program
    .command('serve')
    .description('start the bridge; pages connect to it, callers use its HTTP API')
    .option('-g, --group <name>', 'group shown in the printed snippet', 'default'),
).action(async (flags: BridgeOptions & { group: string }) => {
  const { group, ...options } = flags;
  let bridge;
  try {
    bridge = await startBridge({ ...options, env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message);
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`port ${options.port ?? DEFAULTS.port} is in use; pick another with --port`);
    throw error;
  }
  const url = bridge.url;
  const token = bridge.config.token;
  const auth = token ? ` -H 'authorization: Bearer ${'$PAGECALL_TOKEN'}'` : '';
  process.stdout.write(
    [
      '',
      `pagecall bridge ready on ${url}`,
      `  dashboard:  ${url}/${token ? '  (it asks for the token)' : ''}`,
      `  load into a page (DevTools console):`,
      `    ${loaderSnippet(url, group, token ? '<token>' : undefined)}`,
      `  or paste the whole injector:  npx pagecall injector --group ${group} --url ${url} | your-clipboard-tool`,
      `  then in the page:  pagecall.register('name', (...args) => result)`,
      `  call it:  curl -s ${url}/v1/call -H 'content-type: application/json'${auth} -d '{"group":"${group}","action":"name","args":[]}'`,
      `  pages:    curl -s ${url}/v1/clients${auth}`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.stderr.write(`pagecall: ${signal} again, exiting now\n`);
      process.exit(130);
    }
    stopping = true;
    bridge.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
});

program
  .command('injector')
  .description('print the page injector, preconfigured to connect to a bridge (paste it into a console or a userscript)')
  .option('-g, --group <name>', 'group the page joins', 'default')
  .option('-u, --url <url>', 'bridge base URL', `http://127.0.0.1:${DEFAULTS.port}`)
  .option('-t, --token <token>', 'bridge token [env PAGECALL_TOKEN]')
  .option('--client-id <id>', 'fixed client id for the page')
  .action((flags: { group: string; url: string; token?: string; clientId?: string }) => {
    const token = flags.token ?? process.env.PAGECALL_TOKEN;
    const settings: Parameters<typeof injectorScript>[0] = { bridgeUrl: flags.url, group: flags.group };
    if (token) settings.token = token;
    if (flags.clientId) settings.clientId = flags.clientId;
    process.stdout.write(injectorScript(settings));
  });

program
  .command('open')
  .description('launch Chromium with pagecall injected before page scripts (survives reloads, bypasses CSP and Local Network Access)')
  .argument('<url...>', 'pages to open')
  .option('-g, --group <name>', 'group the pages join', 'default')
  .option('-s, --script <file>', 'hook script run in every page before its own scripts (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
  .option('-b, --bridge <url>', 'join a running bridge instead of starting one in this process')
  .option('-t, --token <token>', 'bridge token [env PAGECALL_TOKEN]')
  .option('-p, --port <n>', 'port of the bridge started here', parseInt10, DEFAULTS.port)
  .option('--tabs <n>', 'tabs per URL; crashed or closed tabs are replaced', parseInt10, 1)
  .option('--headful', 'show the browser window')
  .option('--browser <path>', 'browser executable [env PAGECALL_BROWSER]; found automatically otherwise')
  .option('--cdp <endpoint>', 'attach to a running Chrome (started with --remote-debugging-port and its own --user-data-dir)')
  .option('--no-bypass-csp', "keep the pages' Content-Security-Policy")
  .action(async (urls: string[], flags: { group: string; script: string[]; bridge?: string; token?: string; port: number; tabs: number; headful?: boolean; browser?: string; cdp?: string; bypassCsp: boolean }) => {
    const { launch } = await import('../launcher/launch.js');
    const token = flags.token ?? process.env.PAGECALL_TOKEN;
    const options: Parameters<typeof launch>[0] = { urls, group: flags.group, scripts: flags.script, tabs: flags.tabs, headful: flags.headful === true, bypassCSP: flags.bypassCsp };
    if (flags.bridge) options.bridgeUrl = flags.bridge;
    else options.bridgeOptions = { port: flags.port, env: process.env, ...(token ? { token } : {}) };
    if (token) options.token = token;
    if (flags.browser) options.browserPath = flags.browser;
    if (flags.cdp) options.cdpUrl = flags.cdp;
    let launched;
    try {
      launched = await launch(options);
    } catch (error) {
      const e = error as Error;
      if (e.name === 'BrowserNotFoundError' || e.name === 'ConfigError') fail(e.message);
      throw error;
    }
    process.stdout.write(`pagecall: ${launched.pages().length} tab(s) open in group ${flags.group}, bridge ${launched.bridgeUrl}\n`);
    process.stdout.write(`  call:  curl -s ${launched.bridgeUrl}/v1/call -H 'content-type: application/json' -d '{"group":"${flags.group}","action":"name","args":[]}'\n`);
    const stop = (): void => {
      launched.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

const stdio: Output = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), tty: process.stdout.isTTY === true };
const remoteOptions = (command: Command): Command =>
  command
    .option('-u, --url <url>', 'bridge base URL [env PAGECALL_URL]', defaultBridgeUrl())
    .option('-t, --token <token>', 'bridge token [env PAGECALL_TOKEN]')
    .option('--json', 'print the API response as JSON');
const withEnvToken = <T extends { token?: string }>(flags: T): T => {
  const token = flags.token ?? process.env.PAGECALL_TOKEN;
  return token ? { ...flags, token } : flags;
};

remoteOptions(
  program
    .command('clients')
    .description('list the pages connected to a running bridge, by group')
    .option('-g, --group <name>', 'only pages of this group'),
).action(async (flags: Parameters<typeof clientsCommand>[0]) => {
  process.exitCode = await clientsCommand(withEnvToken(flags), stdio);
});

remoteOptions(
  program
    .command('call')
    .description('call a page function through a running bridge and print its result')
    .argument('<group>', 'group the pages joined')
    .argument('<action>', 'function name the page registered')
    .argument('[args...]', 'arguments: each is parsed as JSON when it parses (5, true, null, {"a":1}, \'"5"\'), else taken as a string')
    .option('--client-id <id>', 'run in this page only')
    .option('--timeout-ms <n>', 'deadline in ms (default: the bridge\'s --timeout-ms)', parseInt10),
)
  .addHelpText('after', `
Prints a string result as it is and any other result as JSON; with --json, the whole response.
A failed call prints CODE: message to stderr and exits 1. Put -- before arguments that start with "--".

Examples:
  pagecall call shop sign /api/items?page=1
  pagecall call live decode '{"$bytes":"CgVoZWxsbw=="}' --json
  pagecall call demo add 2 3 --client-id x7d0q2m4p9aa`)
  .action(async (group: string, action: string, args: string[], flags: Parameters<typeof callCommand>[3]) => {
    process.exitCode = await callCommand(group, action, args, withEnvToken(flags), stdio);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`pagecall: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
