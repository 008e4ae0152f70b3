/** Flag parsing shared by the commands. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, OPTION_DOCS, envName, readSecretFile } from '../bridge/config.js';

/** `timeoutMs` → `timeout-ms`. */
export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Parses a whole number flag value (commander reports the error with the flag's name). */
export function parseWholeNumber(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number');
  return Number(value);
}

/** Adds one flag per bridge configuration option, documented with its environment variable and default. */
export function addConfigOptions(command: Command): Command {
  for (const [key, { kind, help }] of Object.entries(OPTION_DOCS)) {
    const flag = kebab(key);
    const fallback = (DEFAULTS as unknown as Record<string, unknown>)[key];
    const shown = Array.isArray(fallback) ? (fallback.length ? fallback.join(',') : 'none') : fallback;
    const text = `${help} [env ${envName(key)}${shown === undefined ? '' : `, default ${String(shown)}`}]`;
    const option =
      kind === 'bool'
        ? new Option(`--${flag}`, text)
        : new Option(`--${flag} <${kind === 'int' ? 'n' : kind === 'list' ? 'a,b' : 'value'}>`, text);
    if (kind === 'int') option.argParser(parseWholeNumber);
    if (kind === 'list') option.argParser((v: string) => v.split(',').map((s) => s.trim()).filter(Boolean));
    command.addOption(option);
  }
  return command;
}

/** Said when a token is given with --token: the command line is readable by every user of the machine. */
export const TOKEN_FLAG_WARNING =
  'pagecall: warning: --token puts the token where every user of this machine can read it (ps, /proc/<pid>/cmdline); pass --token-file <file> or set PAGECALL_TOKEN instead\n';

/** Adds --token and --token-file (a caller's credentials for a running bridge). */
export function addTokenOptions(command: Command): Command {
  return command
    .option('-t, --token <token>', 'bridge token; prefer --token-file or PAGECALL_TOKEN (a command line is readable by other users)')
    .option('--token-file <file>', 'file holding the bridge token (first line) [env PAGECALL_TOKEN_FILE]');
}

/**
 * The flags with `token` resolved: --token, else --token-file, else $PAGECALL_TOKEN, else
 * $PAGECALL_TOKEN_FILE. `warn` hears TOKEN_FLAG_WARNING when --token was used.
 */
export function withToken<T extends { token?: string; tokenFile?: string }>(flags: T, env: NodeJS.ProcessEnv = process.env, warn: (text: string) => void = () => {}): T {
  if (flags.token !== undefined) warn(TOKEN_FLAG_WARNING);
  const token =
    flags.token ??
    (flags.tokenFile !== undefined ? readSecretFile(flags.tokenFile, '--token-file') : undefined) ??
    env.PAGECALL_TOKEN ??
    (env.PAGECALL_TOKEN_FILE ? readSecretFile(env.PAGECALL_TOKEN_FILE, 'PAGECALL_TOKEN_FILE') : undefined);
  return token ? { ...flags, token } : flags;
}

/** How the user runs pagecall, for the commands it suggests: `npx pagecall` under npx, else `pagecall`. */
export function selfCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_command === 'exec' ? 'npx pagecall' : 'pagecall';
}
