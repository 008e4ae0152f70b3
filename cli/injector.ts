/** `pagecall injector`: prints the page client preconfigured for a bridge, to paste or to load as a userscript. */
import { Command } from 'commander';
import { DEFAULTS, DEFAULT_GROUP } from '../bridge/config.js';
import { injectorScript, type InjectorSettings } from '../bridge/injector-script.js';
import { print } from './stdio.js';

/** The `injector` command. */
export function injectorCommand(): Command {
  return new Command('injector')
    .description('print the page injector, preconfigured to connect to a bridge (paste it into a console or a userscript)')
    .option('-g, --group <name>', 'group the page joins', DEFAULT_GROUP)
    .option('-u, --url <url>', 'bridge base URL', `http://127.0.0.1:${DEFAULTS.port}`)
    .option('-t, --token <token>', 'bridge token [env PAGECALL_TOKEN]')
    .option('--client-id <id>', 'fixed client id for the page')
    .action((flags: { group: string; url: string; token?: string; clientId?: string }) => {
      const token = flags.token ?? process.env.PAGECALL_TOKEN;
      const settings: InjectorSettings = { bridgeUrl: flags.url, group: flags.group };
      if (token) settings.token = token;
      if (flags.clientId) settings.clientId = flags.clientId;
      print(injectorScript(settings));
    });
}
