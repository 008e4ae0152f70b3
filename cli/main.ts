#!/usr/bin/env node
/** The `pagecall` command: one subcommand per file in cli/; this file wires them and the shared conventions. */
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../bridge/package-root.js';
import { injectorCommand } from './injector.js';
import { keyCommand } from './key.js';
import { openCommand } from './open.js';
import { callCli, clientsCli } from './remote.js';
import { serveCommand } from './serve.js';
import { userscriptCommand } from './userscript.js';
import { watchCli } from './watch.js';
import { exitWhenFlushed, guardStdio, print, printError } from './stdio.js';

guardStdio();

/**
 * What every command shares: a usage error prints `pagecall: <error>` and one line pointing to
 * --help (not the whole help), and exits 2, like configuration errors (1 is for calls that failed).
 */
function conventions(command: Command, name: string): Command {
  return command
    .showHelpAfterError(`run '${name} --help' for usage`)
    .configureOutput({
      writeOut: print,
      writeErr: printError,
      outputError: (text, write) => write(`pagecall: ${text.replace(/^error: /, '')}`),
    })
    // Commander exits right after this callback returns: exit here with our code. Help and usage
    // errors are short, and a pipe takes them at once.
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2));
}

const program = conventions(new Command('pagecall'), 'pagecall')
  .description('Call functions that live inside web pages: a local bridge, a page injector and an HTTP API.')
  .version(packageVersion(), '-v, --version', 'print the version');

for (const command of [serveCommand(), injectorCommand(), keyCommand(), openCommand(), userscriptCommand(), clientsCli(), callCli(), watchCli()]) {
  program.addCommand(conventions(command, `pagecall ${command.name()}`));
}

program.parseAsync(process.argv).catch((error: unknown) => {
  printError(`pagecall: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  exitWhenFlushed(1);
});
