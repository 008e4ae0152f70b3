/** Flag parsing shared by the commands. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULTS, OPTION_DOCS, envName } from '../bridge/config.js';

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

/** The flags with `token` from $PAGECALL_TOKEN when --token was not given. */
export function withEnvToken<T extends { token?: string }>(flags: T, env: NodeJS.ProcessEnv = process.env): T {
  const token = flags.token ?? env.PAGECALL_TOKEN;
  return token ? { ...flags, token } : flags;
}

/** How the user runs pagecall, for the commands it suggests: `npx pagecall` under npx, else `pagecall`. */
export function selfCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.npm_command === 'exec' ? 'npx pagecall' : 'pagecall';
}
