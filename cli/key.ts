/**
 * `pagecall key`: prints the page key of this machine's bridge (the one `pagecall serve` uses), or
 * with --group the key that admits that group only: for userscripts and hand-written connect calls.
 */
import { Command } from 'commander';
import { ConfigError } from '../bridge/config.js';
import { PageKeys, resolvePageKey, type ResolvedPageKey } from '../bridge/page-key.js';
import { checkGroup } from '../protocol/index.js';
import { BridgeUnreachableError, fetchGroupKey } from '../launcher/page-key.js';
import { fail, print, printError } from './stdio.js';

/** Flags naming where the page key is, shared by the commands that need it. */
export interface PageKeyFlags {
  pageKeyFile?: string;
}

/** Adds --page-key-file. */
export function addPageKeyOption(command: Command): Command {
  return command.option('--page-key-file <file>', 'file holding the page key [env PAGECALL_PAGE_KEY_FILE, or the key in PAGECALL_PAGE_KEY; default: the one pagecall serve uses]');
}

/** The page key as `pagecall serve` would find it with the same flags and environment (made if missing). */
export function localPageKey(flags: PageKeyFlags, env: NodeJS.ProcessEnv = process.env): ResolvedPageKey {
  return resolvePageKey({ pageKeyFile: flags.pageKeyFile ?? (env.PAGECALL_PAGE_KEY_FILE || undefined), env });
}

/**
 * The key for pages of `flags.group` (printed scripts, userscripts): from --page-key-file / PAGECALL_PAGE_KEY when given; else the
 * running bridge at --url hands out its group key (it knows its own key, wherever it keeps it);
 * else, when nothing answers there, the key `pagecall serve` will use on this machine.
 */
export async function groupKeyForPages(flags: PageKeyFlags & { url: string; group: string; token?: string }): Promise<string> {
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

/** The `key` command. */
export function keyCommand(): Command {
  return addPageKeyOption(
    new Command('key')
      .description("print the page key that admits pages to this machine's bridge, or with --group the key that admits one group only")
      .option('-g, --group <name>', 'print the key that admits this group only (safer to hand out)'),
  )
    .addHelpText(
      'after',
      `
The key is kept in $PAGECALL_CONFIG_DIR/page-key (else ~/.config/pagecall/page-key; %APPDATA%\\pagecall
on Windows), made on first use with mode 0600. A page shows it in pagecall.connect({url, group, key}).
Keys of other groups derive from it, so they stay valid as long as the file does.`,
    )
    .action((flags: PageKeyFlags & { group?: string }) => {
      let found: ResolvedPageKey;
      try {
        found = localPageKey(flags);
      } catch (error) {
        if (error instanceof ConfigError) return fail(error.message);
        throw error;
      }
      for (const warning of found.warnings) printError(`pagecall: warning: ${warning}\n`);
      if (flags.group === undefined) {
        print(`${found.key}\n`);
        return;
      }
      const problem = checkGroup(flags.group, '--group');
      if (problem) return fail(problem);
      print(`${new PageKeys(found.key).groupKey(flags.group)}\n`);
    });
}
