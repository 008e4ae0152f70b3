/** `pagecall userscript`: writes a Tampermonkey/Violentmonkey userscript that puts pagecall and the hooks into the user's own browser on every load. */
import { Command } from 'commander';
import { DEFAULT_GROUP } from '../bridge/config.js';
import { frameRule } from '../launcher/frame-rule.js';
import { PageKeyError } from '../launcher/page-key.js';
import { addPageKeyOption, groupKeyForPages, type PageKeyFlags } from './key.js';
import { loadHooks } from '../launcher/page-script.js';
import { userscript } from '../launcher/userscript.js';
import { addTokenOptions, withToken } from './flags.js';
import { defaultBridgeUrl } from './remote.js';
import { fail, print, printError } from './stdio.js';

/** Flags of `pagecall userscript`. */
export interface UserscriptFlags extends PageKeyFlags {
  group: string;
  match: string[];
  script: string[];
  url: string;
  key?: string;
  token?: string;
  tokenFile?: string;
  frames: string;
  name?: string;
}

/**
 * The userscript for `flags` (hook files read and checked). It carries the key that admits `group`
 * only: --key when given, else as `pagecall injector` finds it (the bridge at --url, or this
 * machine's key file). The token never goes into it.
 */
export async function userscriptFrom(flags: UserscriptFlags): Promise<{ text: string }> {
  const hooks = await loadHooks(flags.script);
  const key = flags.key ?? (await groupKeyForPages(flags));
  const options: Parameters<typeof userscript>[0] = { group: flags.group, match: flags.match, bridgeUrl: flags.url, hooks, frames: frameRule(flags.frames), key };
  if (flags.name !== undefined) options.name = flags.name;
  return { text: userscript(options) };
}

const repeat = (v: string, all: string[]): string[] => [...all, v];

/** The `userscript` command. */
export function userscriptCommand(): Command {
  return addTokenOptions(addPageKeyOption(new Command('userscript')))
    .description('write a userscript (Tampermonkey, Violentmonkey) that loads pagecall and your hooks into matching sites of your own browser, before their scripts, on every load')
    .requiredOption('-m, --match <pattern>', "site pattern for @match, e.g. 'https://site.example/*' (repeatable)", repeat, [] as string[])
    .option('-g, --group <name>', 'group the pages join', DEFAULT_GROUP)
    .option('-s, --script <file>', 'hook script (repeatable)', repeat, [] as string[])
    .option('-u, --url <url>', 'bridge base URL as your browser reaches it [env PAGECALL_URL]', defaultBridgeUrl())
    .option('-k, --key <key>', 'the key the pages show (default: the key of --group, from the bridge at --url or this machine\'s key file)')
    .option('--frames <rule>', "frames that join besides top documents: top, all, a URL glob or /regex/", 'top')
    .option('--name <name>', 'the userscript @name (default: pagecall <group>)')
    .addHelpText(
      'after',
      `
Example:
  pagecall userscript --group shop --match 'https://shop.example/*' --script hooks.js > shop.user.js
Then open shop.user.js with Tampermonkey or Violentmonkey (or drag it onto the extension's page).`,
    )
    .action(async (flags: UserscriptFlags) => {
      let made;
      try {
        made = await userscriptFrom(withToken(flags, process.env, printError));
      } catch (error) {
        const e = error as Error;
        if (['HookScriptError', 'MatchPatternError', 'FrameRuleError', 'ConfigError'].includes(e.name) || e instanceof PageKeyError) return fail(e.message);
        throw error;
      }
      print(made.text);
    });
}
