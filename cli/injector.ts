/** `pagecall injector`: prints the page client preconfigured for a bridge, to paste or to load as a userscript. */
import { Command } from 'commander';
import { ConfigError, DEFAULTS, DEFAULT_GROUP } from '../bridge/config.js';
import { injectorScript, type InjectorSettings } from '../bridge/injector-script.js';
import { PageKeyError } from '../launcher/page-key.js';
import { checkGroup } from '../protocol/index.js';
import { addTokenOptions, withToken } from './flags.js';
import { addPageKeyOption, groupKeyForPages, type PageKeyFlags } from './key.js';
import { fail, print, printError } from './stdio.js';

/** Flags of `pagecall injector`. */
interface InjectorFlags extends PageKeyFlags {
  group: string;
  url: string;
  token?: string;
  tokenFile?: string;
  clientId?: string;
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
      key = await groupKeyForPages(flags);
    } catch (error) {
      if (error instanceof ConfigError || error instanceof PageKeyError) return fail(error.message);
      throw error;
    }
    const settings: InjectorSettings = { bridgeUrl: flags.url, group: flags.group, key };
    if (flags.clientId) settings.clientId = flags.clientId;
    print(injectorScript(settings));
  });
}
