/** `pagecall userscript`: writes a Tampermonkey/Violentmonkey userscript that puts pagecall and the hooks into the user's own browser on every load. */
import { Command } from 'commander';
import { DEFAULT_GROUP } from '../bridge/config.js';
import { frameRule } from '../launcher/frame-rule.js';
import { defaultPageKey } from '../launcher/page-key.js';
import { loadHooks } from '../launcher/page-script.js';
import { userscript } from '../launcher/userscript.js';
import { withEnvToken } from './flags.js';
import { defaultBridgeUrl } from './remote.js';
import { fail, print, printError } from './stdio.js';

/** Flags of `pagecall userscript`. */
export interface UserscriptFlags {
  group: string;
  match: string[];
  script: string[];
  url: string;
  key?: string;
  token?: string;
  frames: string;
  name?: string;
}

/** The userscript for `flags` (hook files read and checked), and a warning when it carries no page key. */
export async function userscriptFrom(flags: UserscriptFlags, env: NodeJS.ProcessEnv = process.env): Promise<{ text: string; warning?: string }> {
  const hooks = await loadHooks(flags.script);
  const key = flags.key ?? defaultPageKey(env);
  const options: Parameters<typeof userscript>[0] = { group: flags.group, match: flags.match, bridgeUrl: flags.url, hooks, frames: frameRule(flags.frames) };
  if (key !== undefined) options.key = key;
  if (flags.token !== undefined) options.token = flags.token;
  if (flags.name !== undefined) options.name = flags.name;
  const text = userscript(options);
  return key === undefined ? { text, warning: 'no page key (--key or PAGECALL_PAGE_KEY): a bridge that checks page keys will refuse these pages' } : { text };
}

const repeat = (v: string, all: string[]): string[] => [...all, v];

/** The `userscript` command. */
export function userscriptCommand(): Command {
  return new Command('userscript')
    .description('write a userscript (Tampermonkey, Violentmonkey) that loads pagecall and your hooks into matching sites of your own browser, before their scripts, on every load')
    .requiredOption('-m, --match <pattern>', "site pattern for @match, e.g. 'https://site.example/*' (repeatable)", repeat, [] as string[])
    .option('-g, --group <name>', 'group the pages join', DEFAULT_GROUP)
    .option('-s, --script <file>', 'hook script (repeatable)', repeat, [] as string[])
    .option('-u, --url <url>', 'bridge base URL as your browser reaches it [env PAGECALL_URL]', defaultBridgeUrl())
    .option('-k, --key <key>', 'page key that admits the pages [env PAGECALL_PAGE_KEY]')
    .option('-t, --token <token>', 'bridge token, when the bridge requires one [env PAGECALL_TOKEN]')
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
        made = await userscriptFrom(withEnvToken(flags));
      } catch (error) {
        const e = error as Error;
        if (['HookScriptError', 'MatchPatternError', 'FrameRuleError'].includes(e.name)) return fail(e.message);
        throw error;
      }
      if (made.warning) printError(`pagecall: ${made.warning}\n`);
      print(made.text);
    });
}
