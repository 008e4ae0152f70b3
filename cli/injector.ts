/** `pagecall injector`: prints the page client preconfigured for a bridge, to paste or to load as a userscript. */
import { Command } from 'commander';
import { ConfigError, DEFAULTS, DEFAULT_GROUP } from '../bridge/config.js';
import { injectorScript, type InjectorSettings } from '../bridge/injector-script.js';
import { PageKeys } from '../bridge/page-key.js';
import { BridgeUnreachableError, PageKeyError, fetchGroupKey } from '../launcher/page-key.js';
import { checkGroup } from '../protocol/index.js';
import { addTokenOptions, withToken } from './flags.js';
import { addPageKeyOption, localPageKey, type PageKeyFlags } from './key.js';
import { fail, print, printError } from './stdio.js';

/** Flags of `pagecall injector`. */
interface InjectorFlags extends PageKeyFlags {
  group: string;
  url: string;
  token?: string;
  tokenFile?: string;
  clientId?: string;
}

/**
 * The key for the printed script: from --page-key-file / PAGECALL_PAGE_KEY when given; else the
 * running bridge at --url hands out its group key (it knows its own key, wherever it keeps it);
 * else, when nothing answers there, the key `pagecall serve` will use on this machine.
 */
async function keyFor(flags: InjectorFlags): Promise<string> {
  const env = process.env;
  if (flags.pageKeyFile !== undefined || env.PAGECALL_PAGE_KEY || env.PAGECALL_PAGE_KEY_FILE) {
    return new PageKeys(localPageKey(flags).key).groupKey(flags.group);
  }
  try {
    return await fetchGroupKey(flags.url, flags.group, flags.token, 5_000);
  } catch (error) {
    if (!(error instanceof BridgeUnreachableError)) throw error;
    const local = localPageKey(flags);
    printError(`pagecall: ${error.message}; using the page key in ${local.file ?? 'the environment'} (the one pagecall serve uses here)\n`);
    return new PageKeys(local.key).groupKey(flags.group);
  }
}

/** The `injector` command. */
export function injectorCommand(): Command {
  return addPageKeyOption(
    addTokenOptions(
      new Command('injector')
        .description('print the page injector, preconfigured to connect to a bridge with the key of one group (paste it into a console or a userscript)')
        .option('-g, --group <name>', 'group the page joins', DEFAULT_GROUP)
        .option('-u, --url <url>', 'bridge base URL', `http://127.0.0.1:${DEFAULTS.port}`),
    ).option('--client-id <id>', 'fixed client id for the page'),
  ).action(async (given: InjectorFlags) => {
    const problem = checkGroup(given.group, '--group');
    if (problem) return fail(problem);
    let flags: InjectorFlags;
    let key: string;
    try {
      flags = withToken(given, process.env, printError);
      key = await keyFor(flags);
    } catch (error) {
      if (error instanceof ConfigError || error instanceof PageKeyError) return fail(error.message);
      throw error;
    }
    const settings: InjectorSettings = { bridgeUrl: flags.url, group: flags.group, key };
    if (flags.clientId) settings.clientId = flags.clientId;
    print(injectorScript(settings));
  });
}
